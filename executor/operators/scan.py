"""ParquetScanExec: read a partition's Parquet splits as the node's batches.

Partition i reads `node.splits[i]` (a tuple of storage.splits.Split) with
storage.parquet.read_split, reading only the node's source columns and only
the row groups whose statistics do not refute `node.filters`. Batches come
out named by the node's field names (field k is source column columns[k]),
typed by the field types; then the filters are applied exactly with
executor.eval.filter_batch. A scan of zero columns (count(*)) yields batches
with no columns that still carry their row counts.

Statistics pruning (`refuted`) is shared with planner/scan_pruning.py (file
level). It understands Column cmp Literal (eq, ne, lt, le, gt, ge, either
side), InList with literal values, is_null / is_not_null, constant FALSE or
NULL, and AND / OR of those; anything else is kept. Filters must only refer
to the node's own field names.

If `ctx.options["scan_counters"]` holds a storage.parquet.ReadCounters, the
scan adds what it read and skipped to it (tests, EXPLAIN ANALYZE).
"""

from __future__ import annotations

from typing import Callable, Iterator

import pyarrow as pa

from ... import datatypes as dt
from ...planner.expr import Call, Cast, Column, Expr, InList, Literal, conjoin
from ...planner.physical import ParquetScanExec
from ...storage.parquet import ColumnStats, RowGroupStats, read_split
from ..registry import implements
from ..scan_filter import ScanFilter

_FLIP = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}

StatsOf = Callable[[str], "ColumnStats | None"]


# --- statistics pruning -------------------------------------------------------------

def _exact_numeric(t: pa.DataType) -> bool:
    return dt.is_integer(t) or dt.is_decimal(t)


def _column_of(e: Expr) -> Column | None:
    """The column under order-preserving casts between exact numeric types."""
    while isinstance(e, Cast) and _exact_numeric(e.dtype) and _exact_numeric(e.arg.dtype):
        e = e.arg
    return e if isinstance(e, Column) else None


def _all_null(s: ColumnStats) -> bool:
    return s.null_count is not None and s.null_count == s.num_rows


def _cmp_refuted(s: ColumnStats | None, op: str, v, dtype: pa.DataType) -> bool:
    """True if `column op v` is TRUE for no row described by `s`."""
    if s is None:
        return False
    if v is None or _all_null(s):
        return True          # comparisons with NULL are never TRUE
    if not s.has_min_max:
        return False
    if dt.is_floating(dtype) and op in ("gt", "ge", "ne"):
        return False         # NaN is left out of Parquet bounds
    lo, hi = s.min, s.max
    try:
        if op == "eq":
            return bool(v < lo or v > hi)
        if op == "ne":
            return bool(lo == hi and lo == v)
        if op == "lt":
            return bool(lo >= v)
        if op == "le":
            return bool(lo > v)
        if op == "gt":
            return bool(hi <= v)
        if op == "ge":
            return bool(hi < v)
    except TypeError:        # bounds and literal not comparable: keep
        return False
    return False


def refuted(expr: Expr, stats_of: StatsOf) -> bool:
    """True if statistics prove `expr` is TRUE for no row (so the rows can be
    skipped). `stats_of(name)` gives the stats of a column by field name."""
    if isinstance(expr, Literal):
        return expr.value is None or expr.value is False
    if isinstance(expr, InList):
        col = _column_of(expr.arg)
        if expr.negated or col is None or not all(isinstance(v, Literal) for v in expr.values):
            return False
        s = stats_of(col.name)
        return all(_cmp_refuted(s, "eq", v.value, col.dtype) for v in expr.values)
    if not isinstance(expr, Call):
        return False
    if expr.fn == "and":
        return any(refuted(a, stats_of) for a in expr.args)
    if expr.fn == "or":
        return all(refuted(a, stats_of) for a in expr.args)
    if expr.fn in ("is_null", "is_not_null") and len(expr.args) == 1:
        col = _column_of(expr.args[0])
        s = stats_of(col.name) if col is not None else None
        if s is None or s.null_count is None:
            return False
        return s.null_count == 0 if expr.fn == "is_null" else s.null_count == s.num_rows
    if expr.fn in _FLIP and len(expr.args) == 2:
        a, b = expr.args
        col, op, lit = _column_of(a), expr.fn, b
        if col is None or not isinstance(b, Literal):
            col, op, lit = _column_of(b), _FLIP[expr.fn], a
            if col is None or not isinstance(a, Literal):
                return False
        return _cmp_refuted(stats_of(col.name), op, lit.value, col.dtype)
    return False


def row_group_filter(node_filters, column_of_field: dict[str, str]):
    """A read_split callback keeping row groups the filters may match."""
    predicate = conjoin(list(node_filters))
    if predicate is None:
        return None

    def keep(rg: RowGroupStats) -> bool:
        def stats_of(name: str):
            col = column_of_field.get(name)
            return None if col is None else rg.stats(col)
        return not refuted(predicate, stats_of)
    return keep


# --- the operator -------------------------------------------------------------------

def _rename(batch: pa.RecordBatch, positions: list[int], out_schema: pa.Schema) -> pa.RecordBatch:
    if not positions:
        return batch.select([])
    arrays = [batch.column(p) for p in positions]
    if any(pa.types.is_dictionary(a.type) for a in arrays):
        return pa.RecordBatch.from_arrays(arrays, names=out_schema.names)
    return pa.RecordBatch.from_arrays(arrays, schema=out_schema)


def _decode(batch: pa.RecordBatch, out_schema: pa.Schema) -> pa.RecordBatch:
    """Dictionary columns (kept by the read for filtering) as their plain type."""
    if batch.schema.equals(out_schema):
        return batch
    arrays = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c
              for c in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, schema=out_schema)


@implements(ParquetScanExec)
def parquet_scan(node: ParquetScanExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    splits = node.splits[partition] if partition < len(node.splits) else ()
    source_cols = list(dict.fromkeys(node.columns))
    first_field = {}
    for col, f in zip(node.columns, node.fields):
        first_field.setdefault(col, f)
    read_schema = pa.schema([pa.field(c, first_field[c].dtype) for c in source_cols])
    positions = [source_cols.index(c) for c in node.columns]
    out_schema = pa.schema([pa.field(f.name, f.dtype) for f in node.fields])
    column_of_field = {f.name: c for f, c in zip(node.fields, node.columns)}
    keep = row_group_filter(node.filters, column_of_field)
    counters = ctx.options.get("scan_counters")
    storage_options = dict(node.storage_options)
    conjuncts = ScanFilter(node.filters) if node.filters else None
    if node.file_format != "parquet":
        yield from _text_scan(node, splits, source_cols, read_schema, positions, out_schema,
                              conjuncts, ctx)
        return
    for split in splits:
        for batch in read_split(split, source_cols, read_schema, node.protocol, storage_options,
                                ctx.batch_size, row_group_filter=keep, counters=counters,
                                keep_dictionary=True):
            ctx.check_cancelled()
            out = _rename(batch, positions, out_schema)
            if conjuncts is not None:
                out = conjuncts.apply(out)
            if out.num_rows:
                yield _decode(out, out_schema)


def _text_scan(node, splits, source_cols, read_schema, positions, out_schema, conjuncts, ctx):
    """CSV / JSON splits (whole files): read, rename, filter."""
    from ...storage.textfiles import read_text_split
    counters = ctx.options.get("scan_counters")
    for split in splits:
        if counters is not None:
            counters.add(files=1)
        for batch in read_text_split(split, source_cols, read_schema, node.file_format,
                                     dict(node.read_options), node.protocol,
                                     dict(node.storage_options), ctx.batch_size):
            ctx.check_cancelled()
            out = _rename(batch, positions, out_schema)
            if conjuncts is not None:
                out = conjuncts.apply(out)
            if out.num_rows:
                yield out
