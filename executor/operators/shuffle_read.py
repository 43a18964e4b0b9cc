"""ShuffleReadExec: the leaf that reads a producer stage's output.

mode 'hash': partition i reads hash partition i of every producer task;
mode 'all': reads every producer's whole output (broadcast or gather), for
any partition number. Batches come out with the node's field names and
types, and tiny batches (a hash split of many producers makes many) are
coalesced into batches of up to ctx.batch_size rows; big ones pass as is.
"""

from __future__ import annotations

import pyarrow as pa

from ...planner.physical import ShuffleReadExec
from ..registry import implements


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema):
        return batch
    cols = [c if c.type == f.type else c.cast(f.type) for c, f in zip(batch.columns, schema)]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def coalesce(batches, schema: pa.Schema, target: int):
    """Yield batches of up to `target` rows, merging consecutive small ones."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for b in batches:
        if b.num_rows == 0:
            continue
        if b.num_rows >= target and not pending:
            yield b
            continue
        if rows + b.num_rows > target and pending:
            yield _merge(pending, schema)
            pending, rows = [], 0
        if b.num_rows >= target:
            yield b
            continue
        pending.append(b)
        rows += b.num_rows
    if pending:
        yield _merge(pending, schema)


def _merge(batches: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.concat_batches(batches)


@implements(ShuffleReadExec)
def shuffle_read(node: ShuffleReadExec, partition: int, ctx):
    schema = pa.schema([pa.field(f.name, f.dtype) for f in node.fields])
    which = None if node.mode == "all" else partition
    if node.mode not in ("all", "hash"):
        raise ValueError(f"unknown shuffle read mode {node.mode!r}")
    source = (_conform(b, schema) for b in ctx.shuffle.read(node.stage_id, which, schema))
    for batch in coalesce(source, schema, max(1, ctx.batch_size)):
        ctx.check_cancelled()
        yield batch
