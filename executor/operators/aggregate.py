"""The hash aggregate operator (planner.physical.HashAggregateExec).

Consumes every input batch of its partition, then yields the groups:

    for each batch:   keys -> KeyEncoder -> dense group ids
                      (first row of each new id kept: the group's key values)
                      args (+ FILTER mask) -> accumulators.update(ids, ...)
    at the end:       key columns ++ per-aggregate results (or states)
                      -> batches of at most ctx.batch_size rows

Modes: 'single' (rows -> final values), 'partial' (rows -> state columns as
planner/aggregate_state.py lays them out), 'final' (state columns -> final
values; group exprs are Columns of the partial output). Without group keys
every mode emits exactly one row, even for an empty input (count 0, the
rest NULL), so a final phase over partial rows stays right.

The accumulators live in aggregate_accumulators.py; the kernels in
executor/kernels/. This module does not spill (yet): its state is held in
memory.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...planner.aggregate_state import state_fields
from ...planner.expr import Expr
from ...planner.physical import HashAggregateExec
from .. import registry
from ..eval import evaluate
from ..kernels.grouped_agg import first_row_of_new_ids
from ..kernels.key_encoder import KeyEncoder
from ..registry import implements
from .aggregate_accumulators import make_accumulator


def _eval(expr: Expr, batch: pa.RecordBatch) -> pa.Array:
    out = evaluate(expr, batch)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _filter_mask(expr: Expr | None, batch: pa.RecordBatch) -> np.ndarray | None:
    if expr is None:
        return None
    result = pc.fill_null(_eval(expr, batch), False)
    return np.asarray(result.to_numpy(zero_copy_only=False), dtype=bool)


def _state_columns(node: HashAggregateExec, batch: pa.RecordBatch) -> list[list[pa.Array]]:
    """The partial-state columns of each aggregate in a final-mode input batch:
    by the names aggregate_state gives, else by position after the group columns."""
    names = set(batch.schema.names)
    out, pos = [], len(node.group_exprs)
    for agg, name in zip(node.aggs, node.agg_names):
        fields = state_fields(agg, name)
        if all(f.name in names for f in fields):
            out.append([batch.column(f.name) for f in fields])
        else:
            out.append([batch.column(pos + i) for i in range(len(fields))])
        pos += len(fields)
    return out


def _conform(arr: pa.Array, dtype: pa.DataType) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == dtype else arr.cast(dtype)


@implements(HashAggregateExec)
def hash_aggregate(node: HashAggregateExec, partition: int, ctx):
    mode = node.mode
    if mode not in ("single", "partial", "final"):
        raise ValueError(f"unknown aggregate mode {mode!r}")
    key_types = [e.dtype for e in node.group_exprs]
    encoder = KeyEncoder(key_types) if key_types else None
    accs = [make_accumulator(a) for a in node.aggs]
    key_chunks: list[list[pa.Array]] = []
    n = 0 if key_types else 1
    for batch in registry.execute(node.input, partition, ctx):
        ctx.check_cancelled()
        if batch.num_rows == 0:
            continue
        if encoder is not None:
            keys = [_eval(e, batch) for e in node.group_exprs]
            before = encoder.num_keys
            ids = encoder.encode(keys)
            n = encoder.num_keys
            if n > before:
                take = pa.array(first_row_of_new_ids(ids, before, n))
                key_chunks.append([k.take(take) for k in keys])
        else:
            ids = np.zeros(batch.num_rows, dtype=np.int64)
        if mode == "final":
            for acc, states in zip(accs, _state_columns(node, batch)):
                acc.merge(ids, n, states)
            continue
        for agg, acc in zip(node.aggs, accs):
            arg = _eval(agg.args[0], batch) if agg.args else None
            acc.update(ids, n, arg, _filter_mask(agg.filter, batch))

    fields = node.schema
    columns: list[pa.Array] = []
    for i, t in enumerate(key_types):
        parts = [_conform(c[i], t) for c in key_chunks]
        columns.append(pa.concat_arrays(parts) if parts else pa.array([], t))
    for acc in accs:
        columns.extend(acc.state(n) if mode == "partial" else [acc.result(n)])
    columns = [_conform(c, f.dtype) for c, f in zip(columns, fields)]
    out = pa.RecordBatch.from_arrays(columns, names=[f.name for f in fields])
    step = max(1, ctx.batch_size)
    for start in range(0, max(n, 1), step):
        if n == 0:
            yield out
            return
        yield out.slice(start, step)
