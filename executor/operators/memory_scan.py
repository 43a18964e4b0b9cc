"""MemoryScanExec: read a table registered in this process.

The table is `ctx.memory_tables[node.table]` (a pyarrow.Table; a list of
batches or a pandas DataFrame is converted). Partition i of
`node.num_partitions` reads the i-th contiguous slice of rows. Like the
Parquet scan, batches are renamed to the node's field names, cast to the
field types (dictionary / large_string / string_view -> string, ...) and
filtered exactly with executor.eval.filter_batch; a scan of zero columns
yields column-less batches that carry their row counts.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from ...errors import InternalError
from ...planner.expr import conjoin
from ...planner.physical import MemoryScanExec
from ...storage.parquet import cast_normalized
from ..registry import implements


def _row_count_batches(num_rows: int, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Column-less batches with `num_rows` rows in all."""
    for start in range(0, num_rows, batch_size):
        n = min(batch_size, num_rows - start)
        yield pa.record_batch([pa.nulls(n)], names=["_"]).select([])


@implements(MemoryScanExec)
def memory_scan(node: MemoryScanExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    table = ctx.memory_tables.get(node.table)
    if table is None:
        raise InternalError(f"in-memory table {node.table!r} is not available in this process")
    if not isinstance(table, pa.Table):
        from ...storage.memory import to_arrow_table
        table = to_arrow_table(table)
    parts = max(1, node.num_partitions)
    n = table.num_rows
    start, stop = n * partition // parts, n * (partition + 1) // parts
    if stop <= start:
        return
    out_schema = pa.schema([pa.field(f.name, f.dtype) for f in node.fields])
    predicate = conjoin(list(node.filters))
    filter_batch = None
    if predicate is not None:
        from ..eval import filter_batch
    if not node.columns:
        yield from _row_count_batches(stop - start, ctx.batch_size)
        return
    source = table.select(list(dict.fromkeys(node.columns))).slice(start, stop - start)
    for batch in source.to_batches(max_chunksize=ctx.batch_size):
        ctx.check_cancelled()
        if not batch.num_rows:
            continue
        arrays = []
        for col, f in zip(node.columns, node.fields):
            arr = batch.column(col)
            if arr.type != f.dtype:
                arr = cast_normalized(arr, f.dtype)
            arrays.append(arr)
        out = pa.RecordBatch.from_arrays(arrays, schema=out_schema)
        if filter_batch is not None:
            out = filter_batch(out, predicate)
        if out.num_rows:
            yield out
