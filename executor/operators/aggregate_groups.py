"""The groups of one hash aggregate task: `GroupTable` (key encoder, each
group's key values, the accumulators) and the helpers around it
(`sliced`, `eval_array`).

Why a module of its own: the hash aggregate (aggregate.py) builds
GroupTables as it reads its input, and its spilling (aggregate_spill.py)
builds them again to merge spilled state files, and evaluates group keys to
split spilled rows. aggregate.py hands work to aggregate_spill, so with
these pieces in aggregate.py the two would import each other; here, below
both, they do not.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ...planner.aggregate_state import state_fields
from ...planner.expr import Column, Expr
from ...planner.physical import HashAggregateExec
from ..eval import evaluate, may_raise, shared_subexpressions
from ..kernels.arrow_buffers import decode, mask_array, mask_values
from ..kernels.key_encoder import KeyEncoder
from ..kernels.leader_keys import LeaderKeyEncoder, encode_keeping_new, wants_leader
from .aggregate_accumulators import make_accumulators


def eval_array(expr: Expr, batch: pa.RecordBatch) -> pa.Array:
    """`expr` over `batch` as one Array (chunks combined)."""
    out = evaluate(expr, batch)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _filter_mask(expr: Expr | None, batch: pa.RecordBatch) -> np.ndarray | None:
    if expr is None:
        return None
    return mask_values(eval_array(expr, batch))       # NULL: not counted


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


def _key_array(expr: Expr, batch: pa.RecordBatch) -> pa.Array:
    """A group key's values; a string column the scan kept as a dictionary
    stays one (the key encoder codes it by its dictionary)."""
    if isinstance(expr, Column) and pa.types.is_string(expr.dtype):
        i = batch.schema.get_field_index(expr.name)
        if i >= 0:
            col = batch.column(i)
            t = col.type
            if pa.types.is_dictionary(t) and t.value_type == expr.dtype:
                return col
    return eval_array(expr, batch)


def _conform(arr: pa.Array, dtype: pa.DataType) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == dtype else arr.cast(dtype)


def _nbytes(obj, depth: int = 0, seen: set | None = None) -> int:
    """Bytes held by numpy/Arrow arrays reachable from an accumulator or
    table, each counted once (an avg's Sum may be a sum()'s)."""
    if seen is not None:
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (pa.Array, pa.ChunkedArray)):
        return obj.nbytes
    if depth > 3:
        return 0
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(x, depth + 1, seen) for x in obj)
    if hasattr(obj, "__dict__"):
        return sum(_nbytes(x, depth + 1, seen) for x in vars(obj).values())
    return 0


class _EachRowItsGroup:
    """The encoder of a partial aggregate that stopped grouping: row i of
    everything added is group i (its key values kept as they are)."""

    appends_keys = True
    nbytes = 0

    def __init__(self, chunks: list[list[pa.Array]]) -> None:
        self.chunks = chunks
        self.num_keys = 0

    def encode(self, arrays: list[pa.Array]) -> np.ndarray:
        n = len(arrays[0])
        self.chunks.append([decode(a) for a in arrays])
        self.num_keys += n
        return np.arange(self.num_keys - n, self.num_keys, dtype=np.int64)

    def growth_bound(self, rows: int) -> int:
        return 0


class GroupTable:
    """One task's groups: key encoder, key values of each group, accumulators.
    `mode` says what the input rows are ('final': state rows). With
    `each_row`, every row is a group of its own (a partial aggregate passing
    its rows on as state rows)."""

    def __init__(self, node: HashAggregateExec, mode: str, each_row: bool = False) -> None:
        self.node, self.mode = node, mode
        self.key_types = [e.dtype for e in node.group_exprs]
        self.key_chunks: list[list[pa.Array]] = []
        if not self.key_types:
            self.encoder = None
        elif each_row:
            self.encoder = _EachRowItsGroup(self.key_chunks)
        elif wants_leader(self.key_types):
            self.encoder = LeaderKeyEncoder(self.key_types, self.key_chunks)
        else:
            self.encoder = KeyEncoder(self.key_types)
        self.accs = make_accumulators(node.aggs)
        # FILTERed aggregates whose argument can raise: evaluated on the kept rows only
        self.filter_first = [agg.filter is not None and any(may_raise(a) for a in agg.args)
                             for agg in node.aggs]
        self.key_bytes = 0
        self.n = 0 if self.key_types else 1
        self.base = self.nbytes()         # an empty table's fixed size (hash table capacity)
        self._adds = 0                    # batches added: held() is remembered between adds
        self._held = (-1, 0)              # (adds, bytes) of the last held()

    def add(self, batch: pa.RecordBatch) -> None:
        node = self.node
        self._adds += 1
        if self.encoder is not None:
            keys = [_key_array(e, batch) for e in node.group_exprs]
            chunks = len(self.key_chunks)
            if getattr(self.encoder, "appends_keys", False):
                ids = self.encoder.encode(keys)
            else:
                ids, new_keys = encode_keeping_new(self.encoder, keys, keys)
                if new_keys is not None:
                    self.key_chunks.append(new_keys)
            self.n = n = self.encoder.num_keys
            self.key_bytes += sum(c.nbytes for chunk in self.key_chunks[chunks:] for c in chunk)
        else:
            n = self.n
            ids = np.zeros(batch.num_rows, dtype=np.int64)
        if self.mode == "final":
            for acc, states in zip(self.accs, _state_columns(node, batch)):
                acc.merge(ids, n, states)
            return
        with shared_subexpressions():
            for agg, acc, filter_first in zip(node.aggs, self.accs, self.filter_first):
                rows, row_ids, mask = batch, ids, _filter_mask(agg.filter, batch)
                if filter_first:
                    # only the rows the FILTER keeps reach the aggregate:
                    # sum(10 / x) FILTER (WHERE x <> 0) must not divide by zero
                    rows, row_ids, mask = batch.filter(mask_array(mask)), ids[mask], None
                if getattr(acc, "wants_all_args", False):      # aggregate_collect.py
                    arg = [eval_array(a, rows) for a in agg.args]
                else:
                    arg = eval_array(agg.args[0], rows) if agg.args else None
                acc.update(row_ids, n, arg, mask)

    def nbytes(self) -> int:
        seen: set = set()
        return (self.key_bytes + (self.encoder.nbytes if self.encoder is not None else 0)
                + sum(_nbytes(a, 0, seen) for a in self.accs))

    def growth_bound(self, rows: int) -> int:
        """The most bytes the key tables may allocate adding `rows` rows."""
        return self.encoder.growth_bound(rows) if self.encoder is not None else 0

    def held(self) -> int:
        """Bytes the groups hold beyond an empty table: what is reserved.
        Only add() changes it; the operator asks after each add and again
        before the next one (walking every accumulator's arrays each time
        was 2% of TPC-H Q1)."""
        adds, held = self._held
        if adds != self._adds:
            held = max(0, self.nbytes() - self.base)
            self._held = (self._adds, held)
        return held

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
