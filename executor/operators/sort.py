"""SortExec: sort each partition by a list of SortKeys; with `fetch`, keep only
the first `fetch` rows (top-N, what ORDER BY ... LIMIT plans to).

Ordering follows Quiver's SQL semantics: each key has its own direction and
its own NULLS FIRST/LAST (Arrow's per-key null placement), strings compare as
UTF-8 bytes (Arrow's order), NaN is greater than every other float (an extra
is-NaN key, since Arrow groups NaN next to the nulls), and the sort is stable
(ties keep input order). Keys may be any expression: they are evaluated per
batch and carried next to the data.

A small `fetch` keeps a running top-N instead of the whole partition: each
incoming batch is cut to its own first `fetch` rows, merged with the current
top (earlier rows first, so ties stay stable) and cut to `fetch` again. Once
the top is full, a batch first drops the rows that sort after the top's last
row on the first key (sort_bound.py), and is not sorted at all if none is left.

Memory is bounded: the full sort reserves the bytes of the batches it holds
(with their key columns) from the memory pool (ctx.reserve) and, whenever
the pool refuses, hands them to sort_spill.ExternalSort, which writes them
as a sorted run on disk (a batch that alone is refused becomes a run of its
own, so a sort always makes progress); at the end the runs and the in-memory
tail are merged in a stream, in the same order as the in-memory sort. Top-N
reserves its `fetch` rows; refused, it carries on as a spilling full sort
whose merge stops after `fetch` rows.

`sort_indices(arrays, keys)` (executor/kernels/sort_order.py) is shared with
the external sort and the window operator.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa

from ...planner.physical import SortExec
from ..kernels.arrow_buffers import mask_values
from ..kernels.sort_order import sort_indices
from ..registry import execute, implements
from ..row_take import take_rows
from .sort_bound import may_enter
from .sort_late_rows import late_rows_apply, late_top_n
from .sort_spill import ExternalSort

TOP_N_MAX = 1 << 16          # a larger fetch sorts the whole partition, then cuts


def _key_arrays(node: SortExec, batch: pa.RecordBatch) -> list[pa.Array]:
    from ..eval import evaluate
    return [evaluate(k.expr, batch) for k in node.keys]


def _with_keys(batch: pa.RecordBatch, keys: list[pa.Array]) -> pa.RecordBatch:
    """The batch with its key values appended as columns `__k0`, `__k1`, ..."""
    arrays = list(batch.columns) + list(keys)
    names = list(batch.schema.names) + [f"__k{i}" for i in range(len(keys))]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _sorted(node: SortExec, table: pa.Table | pa.RecordBatch, ncols: int,
            fetch: int | None, keep_keys: bool = True) -> pa.Table | pa.RecordBatch:
    """The rows in order (the first `fetch`); without `keep_keys` only the
    data columns are gathered (a key is often a copy of one of them)."""
    keys = [table.column(ncols + i) for i in range(len(node.keys))]
    idx = sort_indices(keys, node.keys)
    if fetch is not None:
        idx = idx[:fetch]
    if not keep_keys and ncols:
        table = table.select(list(range(ncols)))
    return take_rows(table, idx)


def _top_n(node: SortExec, partition: int, ctx, fetch: int, batches=None):
    """The first `fetch` rows (a Table, or None when empty), or, when the pool
    refuses even those, what _full returns for the whole input. `batches`:
    the input when not node.input's (sort_late_rows.py's key columns)."""
    top: pa.Table | None = None
    bound = None                    # the first key of the top's last row, once it is full
    res = ctx.reserve("Sort (top-N)", node)
    it = iter(execute(node.input, partition, ctx) if batches is None else batches)
    try:
        for batch in it:
            ctx.check_cancelled()
            if not batch.num_rows:
                continue
            ncols = batch.num_columns
            keys = _key_arrays(node, batch)
            if bound is not None:
                batch, keys = _entering(batch, keys, bound, node.keys[0])
                if not batch.num_rows:
                    continue
            part = _sorted(node, _with_keys(batch, keys), ncols, fetch)
            part = pa.Table.from_batches([part])
            if top is None:
                top = part
            else:
                top = _sorted(node, pa.concat_tables([top, part]).combine_chunks(), ncols, fetch)
            if top.num_rows >= fetch:
                bound = top.column(ncols)[fetch - 1]
            if not res.try_resize(top.nbytes):
                held = top.combine_chunks().to_batches()
                res.free()
                return _full(node, partition, ctx, held=held, rest=it)
        return top
    finally:
        res.free()


def _entering(batch: pa.RecordBatch, keys: list, bound, key):
    """The rows of a batch (and of its key values) that may still enter the
    full top-N whose last row's first key is `bound` (sort_bound.py)."""
    mask = may_enter(keys[0], bound, key)
    if mask is None:
        return batch, keys
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    keep = mask_values(mask)
    kept = int(np.count_nonzero(keep))
    if kept == batch.num_rows:
        return batch, keys
    if not kept:
        return batch.slice(0, 0), keys
    return batch.filter(mask), [k.filter(mask) for k in keys]


def _full(node: SortExec, partition: int, ctx, held=None, rest=None):
    """The sorted partition: a Table (or None when empty) if it fit in
    memory, else a started ExternalSort and the in-memory tail. `held`
    (batches with key columns, already sorted or not) and `rest` (the rest
    of the input) continue a top-N the pool refused."""
    batches: list[pa.RecordBatch] = []
    spill = None
    res = ctx.reserve("Sort", node)
    try:
        if held:
            ncols = held[0].num_columns - len(node.keys)
            spill = ExternalSort(node.keys, range(ncols, held[0].num_columns), ctx, res)
            spill.spill(held)
            held = None
        for batch in (rest if rest is not None else execute(node.input, partition, ctx)):
            ctx.check_cancelled()
            if not batch.num_rows:
                continue
            batch = _with_keys(batch, _key_arrays(node, batch))
            if res.try_grow(batch.nbytes):
                batches.append(batch)
                continue
            if spill is None:
                ncols = batch.num_columns - len(node.keys)
                spill = ExternalSort(node.keys, range(ncols, batch.num_columns), ctx, res)
            if batches:
                spill.spill(batches)
                batches = []
                res.resize(0)
            if res.try_grow(batch.nbytes):
                batches.append(batch)
            else:                   # one batch alone is refused: it is a run of its own
                spill.spill([batch])
    except BaseException:
        res.free()
        if spill is not None:
            spill.close()
        raise
    if spill is not None:
        return spill, batches, res
    if not batches:
        res.free()
        return None
    table = pa.Table.from_batches(batches)
    try:
        return _sorted(node, table, batches[0].num_columns - len(node.keys), node.fetch,
                       keep_keys=False)
    finally:
        res.free()


def _spilled(node: SortExec, spill, tail: list[pa.RecordBatch], res,
             ctx) -> Iterator[pa.RecordBatch]:
    """Merge the runs into batches of ctx.batch_size rows (output columns
    only), stopping after `fetch` rows; the spill files go in any case."""
    ncols = len(node.schema)
    keep = list(range(ncols)) or [ncols]     # no columns: count rows on a key
    step = max(1, int(ctx.batch_size))
    left = node.fetch
    try:
        pending: list[pa.Table] = []
        count = 0
        for piece in spill.merged(tail):
            if left is not None:
                piece = piece.slice(0, left)
                left -= piece.num_rows
            if isinstance(piece, pa.RecordBatch):
                piece = pa.Table.from_batches([piece])
            pending.append(piece.select(keep))
            count += piece.num_rows
            if count >= step or left == 0:
                table = pa.concat_tables(pending).combine_chunks()
                full = count if left == 0 else count - count % step
                yield from _out_batches(table.slice(0, full), step, ncols)
                pending, count = [table.slice(full)], count - full
            if left == 0:
                return
        if count:
            yield from _out_batches(pa.concat_tables(pending).combine_chunks(), step, ncols)
    finally:
        res.free()
        spill.close()


def _out_batches(table: pa.Table, step: int, ncols: int) -> Iterator[pa.RecordBatch]:
    if not ncols:              # zero-column input: only the row count matters
        from .values import rows_only_batch
        for s in range(0, table.num_rows, step):
            yield rows_only_batch(min(step, table.num_rows - s))
        return
    yield from table.to_batches(max_chunksize=step)


@implements(SortExec)
def sort_exec(node: SortExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    fetch = node.fetch
    if fetch is not None and fetch <= 0:
        return
    if fetch is not None and late_rows_apply(node):
        done, out = late_top_n(node, partition, ctx,
                               lambda batches: _top_n(node, partition, ctx, fetch, batches),
                               lambda rows: _sorted(node, _with_keys(rows, _key_arrays(node, rows)),
                                                    rows.num_columns, fetch, keep_keys=False))
        if not done:                    # the pool refused even the keys' top
            out = _top_n(node, partition, ctx, fetch)
    elif fetch is not None and fetch <= TOP_N_MAX:
        out = _top_n(node, partition, ctx, fetch)
    else:
        out = _full(node, partition, ctx)
    if isinstance(out, tuple):
        yield from _spilled(node, *out, ctx)
        return
    if out is None:
        return
    names = [f.name for f in node.schema]
    if isinstance(out, pa.RecordBatch):
        out = pa.Table.from_batches([out])
    out = out.select(list(range(len(names))))
    if not names:              # zero-column input: only the row count matters
        from .values import rows_only_batch
        yield rows_only_batch(out.num_rows)
        return
    for batch in out.combine_chunks().to_batches(max_chunksize=ctx.batch_size):
        yield batch
