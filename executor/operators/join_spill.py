"""Grace hash join: what a hash join does when the memory pool refuses its
build side.

Both inputs are split by a re-mixed hash of their (cast) join keys into
FANOUT sub-partitions written as Arrow IPC files under ctx.spill_dir (a
temporary folder by default); then each pair of files is joined on its own,
which may spill again one level down with a different salt. Equal keys
always land in the same sub-partition, and every join kind whose output
depends only on rows with equal keys (inner, left, right, full, semi, anti
with keys) gives the same rows as the in-memory join. NOT IN without a
residual condition (null_aware_anti) spills too: a NULL build key empties
the answer, and since a spilled build is never empty a NULL probe key drops
its row; what is left is an anti join on equal keys. A sub-partition still
at the last level (MAX_LEVEL splits: one key holding most rows) is built
without spilling: the pool grants it after reclaiming cheap buffers and
waiting for other tasks, or it is MemoryLimitExceeded. The files are removed when the join finishes or fails.

A broadcast join whose build side is refused becomes a hybrid hash join:
`SpilledBuild` writes the build side once per query (shared by the tasks,
removed when the query ends: join_broadcast_build.py), then builds as many
of its parts back in memory as fit in half of what the query has free. Each task
splits its own probe rows the same way (`broadcast_join`): rows of a part
in memory are joined at once, the others are spilled and joined part by
part. Without the parts in memory every task re-read and re-built the whole
build side (TPC-H Q21 at SF30 under 4GB: 119 tasks, 526 s of join time).

Not here: the join itself (hash_join.py calls back into it per pair).
"""

from __future__ import annotations

import shutil
from typing import Callable, Iterator

import pyarrow as pa

from ..hash_spill_files import FANOUT, HashSpillFiles
from . import join_build as jb
MAX_LEVEL = 3


def can_spill(node) -> bool:
    """Joins whose rows depend only on rows with equal keys (NOT IN too,
    when it has no residual condition)."""
    if not node.left_keys:
        return False
    return node.kind != "null_aware_anti" or node.condition is None


class _Spill(HashSpillFiles):
    """FANOUT IPC files of one input, written batch by batch; notes a NULL
    key for NOT IN (_keyed)."""

    def __init__(self, folder: str, tag: str, schema: pa.Schema, res):
        super().__init__(folder, tag, schema, res, FANOUT)
        self.saw_null_key = False


def _spill(side: _Spill, batches, exprs, types, salt, ctx, null_aware: bool = False,
           drop_null_keys: bool = False) -> None:
    for b, keys in _keyed(side, batches, exprs, types, ctx, null_aware, drop_null_keys):
        side.write(b, keys, salt)
    side.finish()


def _keyed(side: _Spill, batches, exprs, types, ctx, null_aware: bool,
           drop_null_keys: bool) -> Iterator[tuple[pa.RecordBatch, list]]:
    """(batch, its key arrays) for each non-empty batch; NOT IN notes a NULL
    key on `side` and, with `drop_null_keys`, drops those rows."""
    for b in batches:
        ctx.check_cancelled()
        if not b.num_rows:
            continue
        b = jb.conform(b, side.schema)
        keys = jb.key_arrays(exprs, b, types)
        if null_aware:
            nulls = jb.null_key_mask(keys, b.num_rows)
            if nulls.any():
                side.saw_null_key = True
                if drop_null_keys:
                    keep = pa.array(~nulls)
                    b = b.filter(keep)
                    keys = [k.filter(keep) for k in keys]
                    if not b.num_rows:
                        continue
        yield b, keys


def grace_join(node, over: jb.BuildOverBudget, left_batches, ctx, level: int, res,
               join: Callable) -> Iterator[pa.RecordBatch]:
    """Spill both sides, then `join(right_batches, left_batches, level + 1)`
    for each sub-partition. `over` holds the build batches read so far;
    `res` is the build's reservation (emptied once they are on disk).
    The caller never spills at MAX_LEVEL (hash_join._join)."""
    assert level < MAX_LEVEL, "a join spilled below its last level"
    types = jb.key_types(node)
    salt = 0x5EED + 7919 * level
    null_aware = node.kind == "null_aware_anti"
    folder = ctx.spill_folder("quiver-join-")
    try:
        right = _Spill(folder, "right", jb.arrow_schema(node.right.schema), res)
        left = _Spill(folder, "left", jb.arrow_schema(node.left.schema), res)
        held, over.held = over.held, []
        res.resize(0)
        _spill(right, _chain(held, over.rest), node.right_keys, types, salt, ctx, null_aware)
        del held
        if right.saw_null_key:            # x NOT IN (..., NULL, ...) is never TRUE
            return
        _spill(left, left_batches, node.left_keys, types, salt, ctx, null_aware, True)
        for p in range(FANOUT):
            if right.rows[p] == 0 and left.rows[p] == 0:
                continue
            yield from join(right.read(p), left.read(p), level + 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class SpilledBuild:
    """A broadcast join's build side on disk, split into FANOUT files, shared
    by the query's tasks in this process; its owner calls remove() when the
    query ends (a failed spill removes its files itself)."""

    def __init__(self, node, over: jb.BuildOverBudget, ctx, res):
        self.node = node
        self.types = jb.key_types(node)
        self.salt = 0x5EED
        self.folder = ctx.spill_folder("quiver-bcast-")
        try:
            self.right = _Spill(self.folder, "right", jb.arrow_schema(node.right.schema), res)
            held, over.held = over.held, []
            res.resize(0)
            _spill(self.right, _chain(held, over.rest), node.right_keys, self.types,
                   self.salt, ctx, node.kind == "null_aware_anti")
            # half of what the query has free now: the rest is for the parts
            # each task builds from disk, and for the probe side's pipeline
            free = ctx.effective_limit() - ctx.query_memory.reserved
            self.resident = self._load_parts(ctx, res, max(0, free) // 2)
        except BaseException:
            self.remove()
            raise

    def _load_parts(self, ctx, res, cap: int) -> dict:
        """{part: BuildSide} for the first parts that, built in memory, keep
        `res` within `cap` bytes (and that the pool grants)."""
        resident = {}
        if self.right.saw_null_key:
            return resident
        for p in range(FANOUT):
            if self.right.rows[p] == 0:
                continue
            before = res.size
            side = jb.build_side(self.node, self.right.read(p), ctx, res, spillable=True)
            if isinstance(side, jb.BuildOverBudget):
                res.resize(before)
                break
            if res.size > cap:
                res.resize(before)
                break
            resident[p] = side
        return resident

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def broadcast_join(spilled: SpilledBuild, left_batches, ctx, res, join: Callable,
                   probe: Callable) -> Iterator[pa.RecordBatch]:
    """One task's probe rows against a spilled broadcast build: split them
    like the build; rows of a part in memory go to `probe(part, build_side,
    rows)` at once, the others to disk, then `join(right_batches,
    left_batches, 1)` per part on disk."""
    node = spilled.node
    if spilled.right.saw_null_key:        # NOT IN a list holding NULL
        return
    resident = spilled.resident
    folder = ctx.spill_folder("quiver-probe-")
    try:
        left = _Spill(folder, "left", jb.arrow_schema(node.left.schema), res)
        for b, keys in _keyed(left, left_batches, node.left_keys, spilled.types, ctx,
                              node.kind == "null_aware_anti", True):
            for p, rows in left.write(b, keys, spilled.salt, keep=resident):
                yield from probe(p, resident[p], rows)
        left.finish()
        for p in range(FANOUT):
            if p in resident or left.rows[p] == 0:
                continue
            yield from join(spilled.right.read(p), left.read(p), 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _chain(first: list, rest) -> Iterator[pa.RecordBatch]:
    first.reverse()
    while first:                  # drop each held batch once it is written
        yield first.pop()
    yield from rest
