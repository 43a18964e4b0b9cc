"""Spilling for WindowExec when the memory pool refuses its input partition.

Every window call needs whole window partitions. When all calls share some
PARTITION BY expressions, rows equal on those go to the same one of FANOUT
Arrow IPC files (a re-mixed hash of them), so each file holds whole window
partitions of every call and is computed on its own (a file refused again
is split one level down, at most MAX_LEVEL levels; beyond that, or with no
shared PARTITION BY, MemoryLimitExceeded). Output rows come file by file:
WindowExec promises no row order.

Not here: the window functions (window.py and its helpers).
"""

from __future__ import annotations

import shutil
from typing import Iterator

import pyarrow as pa

from ..eval import evaluate
from ..kernels import join_index as ji
from ..kernels.hashing import hash_arrays
from ..kernels.partition import partition_rows
from ..spill_reading import read_ipc_file

FANOUT = 16
MAX_LEVEL = 3


def shared_partition_keys(node) -> list:
    """PARTITION BY expressions every call of the node has."""
    calls = list(node.exprs)
    if not calls:
        return []
    common = list(calls[0].partition_by)
    for call in calls[1:]:
        common = [e for e in common if e in call.partition_by]
    return common


class WindowSpill:
    """FANOUT IPC files of input rows split by the shared PARTITION BY keys."""

    def __init__(self, node, ctx, level: int, res):
        self.node, self.ctx, self.level, self.res = node, ctx, level, res
        self.keys = shared_partition_keys(node)
        self.salt = 0x3A11 + 49979687 * (level + 1)
        self.schema = pa.schema([pa.field(f.name, f.dtype) for f in node.input.schema])
        self.folder = ctx.spill_folder("quiver-window-")
        self.paths = [f"{self.folder}/rows-{i}.arrow" for i in range(FANOUT)]
        self.writers: list = [None] * FANOUT

    def write(self, batch: pa.RecordBatch) -> None:
        keys = [evaluate(e, batch) for e in self.keys]
        keys = [k.combine_chunks() if isinstance(k, pa.ChunkedArray) else k for k in keys]
        order, offsets = partition_rows(ji.remix(hash_arrays(keys), self.salt), FANOUT)
        batch = pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        for p in range(FANOUT):
            lo, hi = int(offsets[p]), int(offsets[p + 1])
            if hi == lo:
                continue
            if self.writers[p] is None:
                self.writers[p] = pa.ipc.new_file(self.paths[p], self.schema)
            part = batch.take(order[lo:hi])
            self.writers[p].write_batch(part)
            self.res.record_spill(part.nbytes)

    def _read(self, p: int) -> Iterator[pa.RecordBatch]:
        yield from read_ipc_file(self.paths[p])

    def parts(self) -> Iterator[Iterator[pa.RecordBatch]]:
        for w in self.writers:
            if w is not None:
                w.close()
        for p in range(FANOUT):
            if self.writers[p] is not None:
                yield self._read(p)

    def close(self) -> None:
        for w in self.writers:
            if w is not None:
                try:
                    w.close()
                except (OSError, pa.ArrowInvalid):
                    pass
        shutil.rmtree(self.folder, ignore_errors=True)
