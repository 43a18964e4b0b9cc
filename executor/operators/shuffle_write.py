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

Memory: the buffered output is reserved from the memory pool; once the pool
refuses, the buffers go to one Arrow IPC file per output partition in the
spill folder. The embedded store adopts such a file whole (the buffer's
rest appended to it), so spilled output is written once; other stores are
handed the file's batches, then the buffer's.
"""

from __future__ import annotations

import os
import shutil
import threading

import pyarrow as pa

from ...planner.physical import HashPartitioning, ShuffleWriteExec, SinglePartitioning
from .. import registry
from ..kernels.hashing import hash_arrays
from ..kernels.partition import partition_rows
from ..registry import implements
from ..row_take import take_rows
from ..eval import evaluate
from ..spill_reading import read_ipc_stream


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
    taken = take_rows(batch, order)
    return [taken.slice(int(offsets[p]), int(offsets[p + 1] - offsets[p]))
            if offsets[p + 1] > offsets[p] else None for p in range(n)]


class _Buffers:
    """Output partitions of one task: in memory while the pool allows, then
    appended to IPC stream files (in order)."""

    def __init__(self, count: int, ctx, node):
        self.ctx = ctx
        self.outputs: list[list[pa.RecordBatch]] = [[] for _ in range(count)]
        self.res = ctx.reserve("ShuffleWrite", node)
        self.folder: str | None = None
        self.files: list = [None] * count      # (sink, writer, path) per partition
        self.lock = threading.Lock()
        self.done = False
        ctx.add_spiller(self.spill)

    def add(self, p: int, part: pa.RecordBatch) -> None:
        with self.lock:
            if not self.ctx.try_grow_buffer(self.res, part.nbytes):
                self.flush()
                if not self.ctx.try_grow_buffer(self.res, part.nbytes):
                    self._write(p, part)
                    return
            self.outputs[p].append(part)

    def spill(self, n: int) -> None:
        """Another operator of the query needs memory: write the buffers out."""
        with self.lock:
            if not self.done:
                self.flush()

    def flush(self) -> None:
        for p, batches in enumerate(self.outputs):
            for b in batches:
                self._write(p, b)
            batches.clear()
        self.res.resize(0)

    def _write(self, p: int, batch: pa.RecordBatch) -> None:
        if self.folder is None:
            self.folder = self.ctx.spill_folder("quiver-shufw-")
        if self.files[p] is None:
            path = os.path.join(self.folder, f"part-{p}.arrows")
            sink = pa.OSFile(path, "wb")
            self.files[p] = (sink, pa.ipc.new_stream(sink, batch.schema), path)
        self.files[p][1].write_batch(batch)
        self.res.record_spill(batch.nbytes)

    def spilled_file(self, p: int) -> str | None:
        """Partition p as one closed IPC stream file, when part of it was
        spilled: the batches still held are appended first. None: all of it
        is in memory."""
        with self.lock:
            if self.files[p] is None:
                return None
            self.done = True
            for b in self.outputs[p]:
                self._write(p, b)
            self.res.shrink(sum(b.nbytes for b in self.outputs[p]))
            self.outputs[p] = []
            sink, writer, path = self.files[p]
            writer.close()
            sink.close()
            self.files[p] = None
            return path

    def batches(self, p: int):
        self.done = True
        if self.files[p] is not None:
            sink, writer, path = self.files[p]
            writer.close()
            sink.close()
            yield from read_ipc_stream(path)
        yield from self.outputs[p]

    def close(self) -> None:
        with self.lock:
            self.done = True
        self.res.free()
        for f in self.files:
            if f is not None and not f[0].closed:
                f[1].close()
                f[0].close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


@implements(ShuffleWriteExec)
def shuffle_write(node: ShuffleWriteExec, partition: int, ctx):
    count = max(1, node.partitioning.count)
    names = [f.name for f in node.schema]
    out = _Buffers(count, ctx, node)
    rows = nbytes = 0
    try:
        for batch in registry.execute(node.input, partition, ctx):
            ctx.check_cancelled()
            if batch.num_rows == 0:
                continue
            rows += batch.num_rows
            for p, part in enumerate(split_batch(_rename(batch, names), node.partitioning)):
                if part is not None:
                    nbytes += part.nbytes
                    out.add(p, part)
        adopt = getattr(ctx.shuffle, "adopt", None)
        for p in range(count):
            path = out.spilled_file(p) if adopt is not None else None
            if path is not None:
                # the embedded store keeps the file (no second copy on disk)
                adopt(node.stage_id, partition, p, path)
                continue
            held = sum(b.nbytes for b in out.outputs[p])
            ctx.shuffle.write(node.stage_id, partition, p, out.batches(p))
            out.outputs[p] = []
            out.res.shrink(held)
    finally:
        out.close()
    if ctx.metrics is not None:     # EXPLAIN ANALYZE: what this task wrote
        ctx.metrics.record_written(node, rows, nbytes)
    return
    yield  # a generator that yields nothing
