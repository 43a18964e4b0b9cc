"""ParquetScanExec: read a partition's Parquet splits as the node's batches.

Partition i reads `node.splits[i]` (a tuple of storage.splits.Split) with
storage.parquet.read_split, reading only the node's source columns and only
the row groups whose statistics do not refute `node.filters`. Batches come
out named by the node's field names (field k is source column columns[k]),
typed by the field types; then the filters are applied exactly with
executor.eval.filter_batch. A scan of zero columns (count(*)) yields batches
with no columns that still carry their row counts.

Row groups are pruned with planner/refute.py `refuted` (the same test
planner/scan_pruning.py applies to whole files). Filters must only refer to
the node's own field names.

If `ctx.options["scan_counters"]` holds a storage.parquet.ReadCounters, the
scan adds what it read and skipped to it (tests, EXPLAIN ANALYZE).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa

from ...planner.expr import conjoin
from ...planner.refute import refuted
from ...planner.physical import ParquetScanExec
from ...storage.parquet import RowGroupStats, read_split
from ..registry import implements
from ..kept_rows import join_kept, kept_count
from ..kernels.arrow_buffers import mask_array, mask_values
from ..scan_filter import ScanFilter
from . import scan_key_filter

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


def _decode(batch: pa.RecordBatch, out_schema: pa.Schema,
            keep: frozenset = frozenset()) -> pa.RecordBatch:
    """Dictionary columns (kept by the read for filtering) as their plain
    type, except those named in `keep` (hash_aggregate's group keys)."""
    if batch.schema.equals(out_schema):
        return batch
    arrays = [c.dictionary_decode() if pa.types.is_dictionary(c.type) and name not in keep
              else c for name, c in zip(batch.schema.names, batch.columns)]
    if keep:
        return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
    return pa.RecordBatch.from_arrays(arrays, schema=out_schema)


@implements(ParquetScanExec)
def parquet_scan(node: ParquetScanExec, partition: int, ctx,
                 keep_dictionary: frozenset = frozenset()) -> Iterator[pa.RecordBatch]:
    """The rows of one partition. Columns named in `keep_dictionary` that
    the read gives as dictionaries stay dictionaries (for a consumer that
    knows them: hash_aggregate's group keys); all others come plain."""
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
    key_filter = scan_key_filter.for_scan(node, ctx)
    if node.fetch is not None and conjuncts is None and key_filter is None:
        yield from _first_rows(node, splits, source_cols, read_schema, positions, out_schema,
                               storage_options, counters, ctx)
        return
    for split in splits:
        batches = (_rename(b, positions, out_schema)
                   for b in read_split(split, source_cols, read_schema, node.protocol,
                                       storage_options, ctx.batch_size, row_group_filter=keep,
                                       counters=counters, keep_dictionary=True,
                                       coalesce=conjuncts is None and key_filter is None))
        if conjuncts is not None or key_filter is not None:
            # row groups read apart are filtered, and their kept rows joined
            # into larger batches in one copy (SF10 Q10's lineitem keeps a
            # quarter of its rows, Q1's nearly all)
            batches = _filtered(batches, conjuncts, key_filter, max(1, ctx.batch_size // 2))
        for out in batches:
            ctx.check_cancelled()
            if out.num_rows:
                yield _decode(out, out_schema, keep_dictionary)


def _first_rows(node, splits, source_cols, read_schema, positions, out_schema,
                storage_options, counters, ctx) -> Iterator[pa.RecordBatch]:
    """The partition's first node.fetch rows (a LIMIT above): each row group
    read only for its first rows (pyarrow decodes just the pages they are
    in), row groups in order until enough rows came."""
    left = node.fetch
    for split in splits:
        for batch in read_split(split, source_cols, read_schema, node.protocol,
                                storage_options, left, counters=counters,
                                first_rows_only=True):
            ctx.check_cancelled()
            out = _decode(_rename(batch, positions, out_schema), out_schema)
            if out.num_rows > left:
                out = out.slice(0, left)
            if out.num_rows:
                yield out
            left -= out.num_rows
            if left <= 0:
                return


def _filtered(batches, conjuncts: ScanFilter | None, key_filter, min_rows: int
              ) -> Iterator[pa.RecordBatch]:
    """The rows that pass the conjuncts and the key filter a join gave
    (scan_key_filter.py), in batches of at least `min_rows` (but the last)."""
    held: list = []
    rows = 0
    for batch in batches:
        part = (batch, None) if conjuncts is None else conjuncts.apply_deferred(batch)
        if key_filter is not None and part[0].num_rows:
            part = _and_key_filter(part, key_filter)
        kept = kept_count(part)
        if not kept:
            continue
        if part[1] is not None and 2 * kept < part[0].num_rows:
            # a selective mask is applied now, by Arrow (which skips the
            # rows it drops; the kernel reads them all): held batches stay
            # about the size of their kept rows
            part = (part[0].filter(part[1]), None)
        held.append(part)
        rows += kept
        if rows >= min_rows:
            yield join_kept(held)
            held, rows = [], 0
    if held:
        yield join_kept(held)


def _and_key_filter(part, key_filter):
    batch, mask = part
    keep = key_filter.mask(batch)
    if keep is None:
        return part
    if mask is not None:
        keep &= mask_values(mask)
    if np.count_nonzero(keep) == len(keep):
        return batch, None
    return batch, mask_array(keep)


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
