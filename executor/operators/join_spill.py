"""Grace hash join: what a partitioned hash join does when its build side
outgrows ctx.memory_budget.

Both inputs are split by a re-mixed hash of their (cast) join keys into
FANOUT sub-partitions written as Arrow IPC files under ctx.spill_dir (a
temporary folder by default); then each pair of files is joined on its own,
which may spill again one level down with a different salt. Equal keys
always land in the same sub-partition, and every join kind whose output
depends only on rows with equal keys (inner, left, right, full, semi, anti
with keys) gives the same rows as the in-memory join. A sub-partition that
is still too big after MAX_LEVEL splits (one key holding most rows) is a
NotSupportedError. The files are removed when the join finishes or fails.

Not here: the join itself (hash_join.py calls back into it per pair).
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Callable, Iterator

import pyarrow as pa

from ..kernels import join_index as ji
from ..kernels.hashing import hash_arrays
from ..kernels.partition import partition_rows
from . import join_build as jb

FANOUT = 16
MAX_LEVEL = 3


def can_spill(node) -> bool:
    """Joins whose rows depend only on rows with equal keys."""
    return bool(node.left_keys) and node.kind != "null_aware_anti"


class _Spill:
    """FANOUT IPC files of one input, written batch by batch."""

    def __init__(self, folder: str, tag: str, schema: pa.Schema):
        self.paths = [f"{folder}/{tag}-{i}.arrow" for i in range(FANOUT)]
        self.schema = schema
        self.writers: list = [None] * FANOUT
        self.rows = [0] * FANOUT

    def write(self, batch: pa.RecordBatch, keys: list[pa.Array], salt: int) -> None:
        hashes = ji.remix(hash_arrays(keys), salt)
        order, offsets = partition_rows(hashes, FANOUT)
        for p in range(FANOUT):
            lo, hi = offsets[p], offsets[p + 1]
            if hi == lo:
                continue
            if self.writers[p] is None:
                self.writers[p] = pa.ipc.new_file(self.paths[p], self.schema)
            self.writers[p].write_batch(batch.take(order[lo:hi]))
            self.rows[p] += int(hi - lo)

    def close(self) -> None:
        for w in self.writers:
            if w is not None:
                w.close()

    def read(self, p: int) -> Iterator[pa.RecordBatch]:
        if self.writers[p] is None:
            return
        with pa.memory_map(self.paths[p]) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)


def _spill(side: _Spill, batches, exprs, types, salt, ctx) -> None:
    for b in batches:
        ctx.check_cancelled()
        if b.num_rows:
            b = jb.conform(b, side.schema)
            side.write(b, jb.key_arrays(exprs, b, types), salt)
    side.close()


def grace_join(node, over: jb.BuildOverBudget, left_batches, ctx, level: int,
               join: Callable) -> Iterator[pa.RecordBatch]:
    """Spill both sides, then `join(right_batches, left_batches, level + 1)`
    for each sub-partition. `over` holds the build batches read so far."""
    if level >= MAX_LEVEL:
        raise jb.over_budget_error(
            over.nbytes, ctx, f" after {MAX_LEVEL} rounds of spilling "
            "(a join key with too many rows?)")
    types = jb.key_types(node)
    salt = 0x5EED + 7919 * level
    folder = tempfile.mkdtemp(prefix="quiver-join-", dir=ctx.spill_dir)
    try:
        right = _Spill(folder, "right", jb.arrow_schema(node.right.schema))
        left = _Spill(folder, "left", jb.arrow_schema(node.left.schema))
        held, over.held = over.held, []
        _spill(right, _chain(held, over.rest), node.right_keys, types, salt, ctx)
        del held
        _spill(left, left_batches, node.left_keys, types, salt, ctx)
        for p in range(FANOUT):
            if right.rows[p] == 0 and left.rows[p] == 0:
                continue
            yield from join(right.read(p), left.read(p), level + 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _chain(first: list, rest) -> Iterator[pa.RecordBatch]:
    first.reverse()
    while first:                  # drop each held batch once it is written
        yield first.pop()
    yield from rest

