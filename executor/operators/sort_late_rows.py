"""Top-N over a wide Parquet scan: the sort keys first, the other columns
only for the rows that win: `late_top_n`.

`SELECT * FROM lineitem ORDER BY l_extendedprice DESC LIMIT 10` decoded all
16 columns of SF1's 6M rows to keep 10 (0.55 s; DuckDB, which materializes
late too, 0.06 s). Here a partition is read twice. First only its key
columns, each row numbered by its place in the partition's stream (splits,
row groups and rows in the order the scan reads them: an unfiltered scan
reads every row group of its splits); the running top-N of that
(operators/sort.py, with its bound) gives the winners' numbers. Then only the
row groups holding winners are read, all columns, the winners taken from
them in number order and sorted again with the same keys (stable, so ties
keep their input order as in one pass).

Applies to a SortExec with a fetch of at most MAX_FETCH rows right over an
unfiltered Parquet scan, sorting by plain columns, when the scan has columns
besides the keys, also through a Project that only picks columns.
Each partition's winners are read, though most lose to other partitions':
the wider the scan and the fewer row groups hold them, the more it saves
(SF1 orders ORDER BY o_orderdate DESC LIMIT 10: 0.20 -> 0.04 s; lineitem by
l_extendedprice, winners in most row groups: 0.55 -> 0.42 s).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pyarrow as pa

from ...errors import OperationalError
from ...planner.expr import Column
from ...planner.physical import ParquetScanExec, ProjectExec, SortExec
from ...storage.parquet import read_footer
from ..registry import execute
from .project import picks_columns

MAX_FETCH = 1024
_NUMBER = "__row_number"


def _scan_of(node: SortExec):
    """(the Project that only picks columns between, or None; the scan)."""
    below = node.input
    return (below, below.input) if picks_columns(below) else (None, below)


def late_rows_apply(node: SortExec) -> bool:
    picker, scan = _scan_of(node)
    if not (isinstance(scan, ParquetScanExec) and scan.file_format == "parquet"
            and not scan.filters and node.fetch is not None and 0 < node.fetch <= MAX_FETCH):
        return False
    names = {f.name for f in (picker.schema if picker is not None else scan.fields)}
    keys = [k.expr for k in node.keys]
    if not keys or not all(isinstance(e, Column) and e.name in names for e in keys):
        return False
    return len({e.name for e in keys}) < len(names)


def late_top_n(node: SortExec, partition: int, ctx, top_n_of, sort_rows):
    """(True, the partition's first node.fetch rows as a Table, or None when
    it has none), or (False, None) when the pool refused the keys' top-N
    (the caller sorts the usual way). `top_n_of(batches)` is the top-N of
    batches; `sort_rows(table)` sorts a few whole rows by the node's keys."""
    picker, scan = _scan_of(node)
    splits = scan.splits[partition] if partition < len(scan.splits) else ()
    keys = set(k.expr.name for k in node.keys)
    if picker is not None:       # key names -> the scan's names
        keys = {e.name for n, e in zip(picker.names, picker.exprs) if n in keys}
    picked = [i for i, f in enumerate(scan.fields) if f.name in keys]
    narrow = dataclasses.replace(scan, fields=tuple(scan.fields[i] for i in picked),
                                 columns=tuple(scan.columns[i] for i in picked))
    if picker is not None:
        kept = [(n, e) for n, e in zip(picker.names, picker.exprs) if e.name in keys]
        narrow = ProjectExec(narrow, tuple(e for _, e in kept), tuple(n for n, _ in kept))

    def numbered():
        start = 0
        it = iter(execute(narrow, partition, ctx))
        while True:
            t0 = time.perf_counter()
            batch = next(it, None)
            if ctx.metrics is not None:   # EXPLAIN ANALYZE: the plan's scan read these
                ctx.metrics.record(scan, 0 if batch is None else batch.num_rows,
                                   time.perf_counter() - t0,
                                   *(() if batch is None else (batch.nbytes,)))
            if batch is None:
                return
            n = batch.num_rows
            yield batch.append_column(_NUMBER, pa.array(np.arange(start, start + n)))
            start += n
    top = top_n_of(numbered())
    if isinstance(top, tuple):          # refused: a started external sort; drop it
        spill, _, reservation = top
        spill.close()
        reservation.free()
        return False, None
    if top is None or top.num_rows == 0:
        return True, None
    numbers = np.sort(top.column(_NUMBER).to_numpy())
    pieces = [_rows_of(scan, picker, split, group, offsets, ctx)
              for split, group, offsets in _places(scan, splits, numbers)]
    rows = pa.concat_tables(pieces).combine_chunks()
    return True, sort_rows(rows.to_batches()[0] if rows.num_rows else rows)


def _places(scan: ParquetScanExec, splits, numbers: np.ndarray):
    """(split, row group, offsets in it) of each row group holding some of
    the sorted row `numbers`, in stream order."""
    base = 0
    options = dict(scan.storage_options)
    for split in splits:
        meta = read_footer(scan.protocol, options, split.path)
        groups = range(meta.num_row_groups) if split.row_groups is None else split.row_groups
        for g in groups:
            n = meta.row_group(g).num_rows
            lo, hi = np.searchsorted(numbers, [base, base + n])
            if hi > lo:
                yield split, g, numbers[lo:hi] - base
            base += n


def _rows_of(scan: ParquetScanExec, picker, split, group: int, offsets: np.ndarray,
             ctx) -> pa.Table:
    """Rows `offsets` (sorted) of one row group, all the sort's input
    columns, taken from each batch as the group streams by (only the few
    rows are held)."""
    one = dataclasses.replace(scan, splits=((dataclasses.replace(split, row_groups=(group,)),),))
    if picker is not None:
        one = dataclasses.replace(picker, input=one)
    taken, start = [], 0
    for batch in execute(one, 0, ctx):
        end = start + batch.num_rows
        lo, hi = np.searchsorted(offsets, [start, end])
        if hi > lo:
            taken.append(batch.take(pa.array(offsets[lo:hi] - start)))
        start = end
        if hi == len(offsets):
            break
    if sum(t.num_rows for t in taken) != len(offsets):
        raise OperationalError(f"{split.path} changed while the query read it "
                               f"(row group {group} has fewer rows than its footer said)")
    return pa.Table.from_batches(taken)
