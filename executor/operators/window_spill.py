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
from ..hash_spill_files import FANOUT, HashSpillFiles

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
        self.files = HashSpillFiles(self.folder, "rows", self.schema, res, FANOUT)

    def write(self, batch: pa.RecordBatch) -> None:
        keys = [evaluate(e, batch) for e in self.keys]
        keys = [k.combine_chunks() if isinstance(k, pa.ChunkedArray) else k for k in keys]
        self.files.write(batch, keys, self.salt)

    def parts(self) -> Iterator[Iterator[pa.RecordBatch]]:
        self.files.finish()
        for p in self.files.written():
            yield self.files.read(p)

    def close(self) -> None:
        self.files.abandon()
        shutil.rmtree(self.folder, ignore_errors=True)
