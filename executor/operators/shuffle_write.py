"""ShuffleWriteExec: the root of every non-final stage.

Task `partition` pulls all of its input partition, splits the rows by
`node.partitioning` and hands each output partition's batches to
`ctx.shuffle.write(stage_id, partition, out_partition, batches)`, once per
output partition (an empty list for an empty one, so consumers can tell
"no rows" from "not written"). It yields nothing: the runner only drives it.

HashPartitioning: evaluate the key expressions, hash them (kernels/hashing),
counting-sort the rows by partition (kernels/partition) and `take` each
partition's rows. SinglePartitioning: everything goes to partition 0.
Equal keys always land in the same partition, in every task and process.
"""

from __future__ import annotations

import pyarrow as pa

from ...planner.physical import HashPartitioning, ShuffleWriteExec, SinglePartitioning
from .. import registry
from ..kernels.hashing import hash_arrays
from ..kernels.partition import partition_rows
from ..registry import implements
from ..eval import evaluate


def _rename(batch: pa.RecordBatch, names: list[str]) -> pa.RecordBatch:
    if batch.schema.names == names:
        return batch
    return pa.RecordBatch.from_arrays(batch.columns, names=names)


def split_batch(batch: pa.RecordBatch, partitioning) -> list[pa.RecordBatch | None]:
    """One batch -> its rows for each output partition (None where it has none)."""
    if isinstance(partitioning, SinglePartitioning):
        out: list[pa.RecordBatch | None] = [None] * max(1, partitioning.count)
        out[0] = batch
        return out
    if not isinstance(partitioning, HashPartitioning):
        raise ValueError(f"unknown partitioning {partitioning!r}")
    n = partitioning.count
    if n == 1:
        return [batch]
    keys = [evaluate(e, batch) for e in partitioning.exprs]
    order, offsets = partition_rows(hash_arrays(keys), n)
    taken = batch.take(pa.array(order))
    return [taken.slice(int(offsets[p]), int(offsets[p + 1] - offsets[p]))
            if offsets[p + 1] > offsets[p] else None for p in range(n)]


@implements(ShuffleWriteExec)
def shuffle_write(node: ShuffleWriteExec, partition: int, ctx):
    count = max(1, node.partitioning.count)
    names = [f.name for f in node.schema]
    outputs: list[list[pa.RecordBatch]] = [[] for _ in range(count)]
    for batch in registry.execute(node.input, partition, ctx):
        ctx.check_cancelled()
        if batch.num_rows == 0:
            continue
        for p, part in enumerate(split_batch(_rename(batch, names), node.partitioning)):
            if part is not None:
                outputs[p].append(part)
    for p, batches in enumerate(outputs):
        ctx.shuffle.write(node.stage_id, partition, p, batches)
    if ctx.metrics is not None:     # EXPLAIN ANALYZE: what this task wrote
        ctx.metrics.record_written(node, sum(b.num_rows for bs in outputs for b in bs),
                                   sum(b.nbytes for bs in outputs for b in bs))
    return
    yield  # a generator that yields nothing
