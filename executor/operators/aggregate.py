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

Memory: the groups' state (key values, hash tables, accumulators) is
reserved from the memory pool after every batch (ctx.reserve). Refused, a
'partial' aggregate simply emits what it has and starts afresh (the final
phase merges); a 'single' or 'final' aggregate whose aggregates all have a
partial form writes its state rows to hash-partitioned Arrow IPC files and
merges each file separately at the end (aggregate_spill.AggSpill).
Grouped aggregates without a partial form (DISTINCT, string_agg) reserve
their input rows instead and aggregate them at the end; refused, the rows
go to files by a hash of their group keys, each aggregated on its own
afterwards (aggregate_spill.RowSpill: a grace aggregation; the last level
aggregates row by row and holds only the groups' state). What cannot be
spilled (a global DISTINCT, one group's state larger than the limit) fails
with MemoryLimitExceeded.

The accumulators live in aggregate_accumulators.py; the kernels in
executor/kernels/.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...planner.aggregate_state import has_partial_form, state_fields
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


def _nbytes(obj, depth: int = 0) -> int:
    """Bytes held by numpy/Arrow arrays reachable from an accumulator or table."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (pa.Array, pa.ChunkedArray)):
        return obj.nbytes
    if depth > 3:
        return 0
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(x, depth + 1) for x in obj)
    if hasattr(obj, "__dict__"):
        return sum(_nbytes(x, depth + 1) for x in vars(obj).values())
    return 0


class GroupTable:
    """One task's groups: key encoder, key values of each group, accumulators.
    `mode` says what the input rows are ('final': state rows)."""

    def __init__(self, node: HashAggregateExec, mode: str) -> None:
        self.node, self.mode = node, mode
        self.key_types = [e.dtype for e in node.group_exprs]
        self.encoder = KeyEncoder(self.key_types) if self.key_types else None
        self.accs = [make_accumulator(a) for a in node.aggs]
        self.key_chunks: list[list[pa.Array]] = []
        self.key_bytes = 0
        self.n = 0 if self.key_types else 1
        self.base = self.nbytes()         # an empty table's fixed size (hash table capacity)

    def add(self, batch: pa.RecordBatch) -> None:
        node = self.node
        if self.encoder is not None:
            keys = [_eval(e, batch) for e in node.group_exprs]
            before = self.encoder.num_keys
            ids = self.encoder.encode(keys)
            self.n = n = self.encoder.num_keys
            if n > before:
                take = pa.array(first_row_of_new_ids(ids, before, n))
                chunk = [k.take(take) for k in keys]
                self.key_chunks.append(chunk)
                self.key_bytes += sum(c.nbytes for c in chunk)
        else:
            n = self.n
            ids = np.zeros(batch.num_rows, dtype=np.int64)
        if self.mode == "final":
            for acc, states in zip(self.accs, _state_columns(node, batch)):
                acc.merge(ids, n, states)
            return
        for agg, acc in zip(node.aggs, self.accs):
            if getattr(acc, "wants_all_args", False):      # aggregate_collect.py
                arg = [_eval(a, batch) for a in agg.args]
            else:
                arg = _eval(agg.args[0], batch) if agg.args else None
            acc.update(ids, n, arg, _filter_mask(agg.filter, batch))

    def nbytes(self) -> int:
        return self.key_bytes + _nbytes(self.encoder) + sum(_nbytes(a) for a in self.accs)

    def held(self) -> int:
        """Bytes the groups hold beyond an empty table: what is reserved."""
        return max(0, self.nbytes() - self.base)

    def batch(self, fields, as_state: bool) -> pa.RecordBatch:
        """Key columns ++ results (or partial states), typed by `fields`."""
        n = self.n
        columns: list[pa.Array] = []
        for i, t in enumerate(self.key_types):
            parts = [_conform(c[i], t) for c in self.key_chunks]
            columns.append(pa.concat_arrays(parts) if parts else pa.array([], t))
        for acc in self.accs:
            columns.extend(acc.state(n) if as_state else [acc.result(n)])
        columns = [_conform(c, f.dtype) for c, f in zip(columns, fields)]
        if not columns:     # no keys, no aggregates: still one row (no columns)
            return pa.RecordBatch.from_struct_array(pa.array([{}] * n, pa.struct([])))
        return pa.RecordBatch.from_arrays(columns, names=[f.name for f in fields])


def sliced(out: pa.RecordBatch, step: int):
    step = max(1, step)
    if out.num_rows == 0:
        yield out
        return
    for start in range(0, out.num_rows, step):
        yield out.slice(start, step)


def can_spill(node: HashAggregateExec) -> bool:
    return bool(node.group_exprs) and all(has_partial_form(a) for a in node.aggs)


@implements(HashAggregateExec)
def hash_aggregate(node: HashAggregateExec, partition: int, ctx):
    mode = node.mode
    if mode not in ("single", "partial", "final"):
        raise ValueError(f"unknown aggregate mode {mode!r}")
    yield from aggregate_batches(node, registry.execute(node.input, partition, ctx), ctx, 0)


def aggregate_batches(node: HashAggregateExec, batches, ctx, level: int):
    """Aggregate `batches` (rows of node.input) in node.mode, within the
    memory pool; `level` counts how deep a row spill already split them."""
    from . import aggregate_spill
    mode = node.mode
    if not can_spill(node) and node.group_exprs and mode == "single":
        yield from _grace_aggregate(node, batches, ctx, level)
        return
    spillable = can_spill(node)
    res = ctx.reserve(f"HashAggregate ({mode})", node)
    table = GroupTable(node, mode)
    spill = None
    try:
        for batch in batches:
            ctx.check_cancelled()
            if batch.num_rows == 0:
                continue
            table.add(batch)
            if res.try_resize(table.held()):
                continue
            if mode == "partial":            # the final phase merges early flushes
                yield from sliced(table.batch(node.schema, True), ctx.batch_size)
            elif spillable:
                if spill is None:
                    spill = aggregate_spill.AggSpill(node, ctx, level=0, reservation=res)
                spill.write(table)
            else:
                res.resize(table.held())   # nothing to spill: MemoryLimitExceeded,
                continue                   # or granted after reclaiming and waiting
            table = GroupTable(node, mode)
            res.resize(table.held())
        if spill is None:
            yield from sliced(table.batch(node.schema, mode == "partial"), ctx.batch_size)
            return
        spill.write(table)
        del table
        res.resize(0)
        yield from spill.merge()
    finally:
        res.free()


def _grace_aggregate(node: HashAggregateExec, batches, ctx, level: int):
    """A grouped aggregate without a partial form (DISTINCT, string_agg): a
    grace aggregation. The input rows are held while the pool allows and
    aggregated at the end; refused, they and the rest of the input go to
    files by a hash of the group keys, each aggregated on its own one level
    down. At the last level the rows are aggregated as they come (only the
    groups' state is held), and state the pool refuses is MemoryLimitExceeded."""
    from . import aggregate_spill
    if level >= aggregate_spill.MAX_LEVEL:
        yield from _streamed_aggregate(node, batches, ctx)
        return
    res = ctx.reserve("HashAggregate (single, distinct)", node)
    held: list[pa.RecordBatch] = []
    rows = None
    try:
        for batch in batches:
            ctx.check_cancelled()
            if batch.num_rows == 0:
                continue
            if rows is not None:
                rows.write(batch)
            elif res.try_grow(batch.nbytes):
                held.append(batch)
            else:
                rows = aggregate_spill.RowSpill(node, ctx, level, res)
                for b in held:
                    rows.write(b)
                held = []
                res.resize(0)
                rows.write(batch)
        if rows is not None:
            yield from rows.aggregate_rest(aggregate_batches)
            return
        table = GroupTable(node, "single")
        for batch in held:
            table.add(batch)
        held = []
        yield from sliced(table.batch(node.schema, False), ctx.batch_size)
    finally:
        res.free()
        if rows is not None:
            rows.close()


def _streamed_aggregate(node: HashAggregateExec, batches, ctx):
    res = ctx.reserve("HashAggregate (single, distinct)", node)
    try:
        table = GroupTable(node, "single")
        for batch in batches:
            ctx.check_cancelled()
            if batch.num_rows:
                table.add(batch)
                res.resize(table.held())     # refused: MemoryLimitExceeded
        yield from sliced(table.batch(node.schema, False), ctx.batch_size)
    finally:
        res.free()
