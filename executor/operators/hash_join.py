"""The operator for planner.physical.HashJoinExec: build a hash table on the
right input (join_build.py), stream the left input's batches through it. A
partitioned inner join without a residual condition builds on its left input
instead when the shuffle store holds fewer of its rows (`_build_on_left`).

Example: `SELECT ... FROM orders o LEFT JOIN lineitem l
ON o.o_orderkey = l.l_orderkey AND l.l_quantity > o.o_qty`

    HashJoinExec(kind=left, left_keys=[o_orderkey#1], right_keys=[l_orderkey#7],
                 condition=l_quantity#9 > o_qty#3)

For each left batch: key ids (KeyEncoder.lookup) -> candidate pairs from the
CSR index in chunks of at most ctx.batch_size -> the residual condition on the
candidates (only TRUE survives) -> surviving pairs out, and per-row flags
"had a surviving pair" for the probe rows (left/full/semi/anti) and the build
rows (right/full). Unmatched probe rows follow each batch; unmatched build
rows follow the whole probe side (partitioned mode only).

Kinds: inner, left, right, full, semi, anti, null_aware_anti (NOT IN: a left
row is dropped when some build row passing the condition has an equal or a
NULL key, and a left row with a NULL key survives only when no build row
passes the condition; with no condition that is: any NULL build key empties
the output, a NULL left key survives only an empty build side). No keys: a
nested-loop join, done as a hash join where every row has the key id 0.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
import pyarrow as pa

from ...errors import NotSupportedError
from ...planner.expr import columns_of
from ...planner.logical import JOIN_KINDS, RIGHT_SEMI_KINDS
from ...planner.physical import HashJoinExec, ShuffleReadExec
from .. import registry
from ..kernels import join_index as ji
from ..kernels.arrow_buffers import mask_values
from ..registry import implements
from ..row_take import take_rows
from . import join_build as jb
from . import join_spill, scan_key_filter
from .join_broadcast_build import shared_build

_PROBE_FLAGS = ("left", "full", "semi", "anti", "null_aware_anti")
_BUILD_FLAGS = ("right", "full", "right_semi", "right_anti")
_PAIRS_OUT = ("inner", "left", "right", "full")


@implements(HashJoinExec)
def hash_join(node: HashJoinExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    if node.kind not in JOIN_KINDS and node.kind not in RIGHT_SEMI_KINDS:
        raise NotSupportedError(f"join kind {node.kind!r} is not supported")
    if len(node.left_keys) != len(node.right_keys):
        raise NotSupportedError("hash join needs as many left keys as right keys")
    left = registry.execute(node.left, partition, ctx)
    if node.mode == "broadcast":
        if node.kind in _BUILD_FLAGS:
            raise NotSupportedError(f"a {node.kind} join cannot broadcast its right side")
        build = shared_build(node, ctx)
        if isinstance(build, join_spill.SpilledBuild):
            res = ctx.reserve("HashJoin probe (spilled broadcast)", node)
            probers: dict[int, _Prober] = {}       # one per build part in memory

            def probe(part, side, rows):
                if part not in probers:
                    probers[part] = _Prober(node, side, ctx)
                return probers[part].run((rows,))
            try:
                yield from join_spill.broadcast_join(
                    build, left, ctx, res, lambda r, l, lev: _join(node, r, l, ctx, lev), probe)
            finally:
                res.free()
            return
        token = scan_key_filter.offer(node, build, ctx)
        try:
            yield from _Prober(node, build, ctx).run(left)
        finally:
            scan_key_filter.withdraw(ctx, token)
    elif node.mode == "partitioned":
        right = registry.execute(node.right, partition, ctx)
        if _build_on_left(node, partition, ctx):
            yield from _mirrored_join(node, left, right, ctx,
                                      jb.stored_rows(node.left, partition, ctx))
        else:
            yield from _join(node, right, left, ctx, 0,
                             expected_rows=jb.stored_rows(node.right, partition, ctx))
    else:
        raise NotSupportedError(f"hash join mode {node.mode!r} is not supported")


# an outer or inner join builds on its left input instead when, at run time,
# that partition has fewer than this share of the right input's rows
_SWAP_BELOW = 0.7
# the kind of a join with its inputs swapped: the side kept whole stays kept
_MIRRORED_KIND = {"inner": "inner", "left": "right", "right": "left", "full": "full"}


def _build_on_left(node: HashJoinExec, partition: int, ctx) -> bool:
    """Whether this partition of an inner equi-join should build on its
    left input. The planner picks the build side from estimates (TPC-H Q9's
    `p_name LIKE '%green%'` keeps 5%, guessed 25%: it built 8M partsupp rows
    and probed 3.3M); a shuffle store that holds both inputs knows their real
    sizes. Inner and outer joins without a residual condition are mirrored
    (a LEFT join becomes a RIGHT join of the swapped inputs: the build side's
    unmatched rows come out at the end): their rows do not depend on which
    side is built. TPC-H Q13's customer LEFT JOIN orders built on 15M
    orders rows at SF10 to keep 1.5M customers."""
    if (node.kind not in _MIRRORED_KIND or node.condition is not None
            or not node.left_keys or node.null_equals_null):
        return False
    left, right = node.left, node.right
    if not (isinstance(left, ShuffleReadExec) and isinstance(right, ShuffleReadExec)
            and left.mode == right.mode == "hash"):
        return False
    rows = getattr(ctx.shuffle, "partition_rows", None)
    if rows is None:
        return False
    return rows(left.stage_id, partition) < _SWAP_BELOW * rows(right.stage_id, partition)


def _mirrored_join(node: HashJoinExec, left_batches, right_batches, ctx,
                   expected_rows: int | None = None):
    """The join built on the left input, columns back in node order."""
    mirror = dataclasses.replace(node, left=node.right, right=node.left,
                                 left_keys=node.right_keys, right_keys=node.left_keys,
                                 kind=_MIRRORED_KIND[node.kind])
    schema = jb.arrow_schema(node.schema)
    first_left = len(node.right.schema)
    for b in _join(mirror, left_batches, right_batches, ctx, 0, report_as=node,
                   expected_rows=expected_rows):
        cols = b.columns
        yield pa.RecordBatch.from_arrays(cols[first_left:] + cols[:first_left], schema=schema)


def _join(node, right_batches, left_batches, ctx, level: int,
          report_as=None, expected_rows: int | None = None) -> Iterator[pa.RecordBatch]:
    """Build on `right_batches`, probe with `left_batches`; spill (grace hash
    join) when the memory pool refuses the build side. Memory is reported
    as `report_as`'s (the plan's node when `node` is its mirror);
    `expected_rows`: the build rows coming, when known (join_build.stored_rows)."""
    res = ctx.reserve("HashJoin build", report_as or node)
    try:
        # the last level builds in memory: res.grow reclaims and waits
        # before it refuses with MemoryLimitExceeded
        build = jb.build_side(node, right_batches, ctx, res,
                              spillable=(join_spill.can_spill(node)
                                         and level < join_spill.MAX_LEVEL),
                              expected_rows=expected_rows)
        if isinstance(build, jb.BuildOverBudget):
            yield from join_spill.grace_join(
                node, build, left_batches, ctx, level, res,
                lambda r, l, lev: _join(node, r, l, ctx, lev, report_as))
            return
        yield from _Prober(node, build, ctx).run(left_batches)
    finally:
        res.free()


def _probe_rows(lb: pa.RecordBatch, p: np.ndarray) -> pa.RecordBatch:
    """lb.take(p), without the copy when p is every row in order (each probe
    row matched exactly one build row: the usual foreign-key join)."""
    n = lb.num_rows
    if (len(p) == n and n and p[0] == 0 and p[-1] == n - 1
            and bool((np.diff(p) == 1).all())):
        return lb
    return take_rows(lb, p)


def _rows_batch(arrays: list, schema: pa.Schema, n: int) -> pa.RecordBatch:
    """A batch of n rows (also when it has no columns)."""
    if arrays:
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
    empty = pa.StructArray.from_arrays([], fields=[], mask=pa.array(np.zeros(n, np.bool_)))
    return pa.RecordBatch.from_struct_array(empty)


class _Prober:
    """Probe state for one task: the build side, flags, output schema."""

    def __init__(self, node: HashJoinExec, build: jb.BuildSide, ctx):
        self.node, self.build, self.ctx = node, build, ctx
        self.kind = node.kind
        self.batch_size = max(1, int(ctx.batch_size))
        self.out_schema = jb.arrow_schema(node.schema)
        self.left_schema = jb.arrow_schema(node.left.schema)
        self.keyed = bool(node.left_keys)
        # one build row per key (a primary key)? The key ids are dense and
        # each came from a row, so that is as many indexed rows as keys
        self.unique_build = len(build.rows) == len(build.offsets) - 1
        cond = node.condition
        self.cond = cond
        if cond is not None:
            used = columns_of(cond)
            self.cond_left = [f.name for f in node.left.schema if f.name in used]
            self.cond_right = [f.name for f in node.right.schema if f.name in used]
            self.cond_build = build.batch.select(self.cond_right)
        self.build_flags = None
        self.seen_ids = None
        if self.kind in _BUILD_FLAGS:
            if cond is None:
                self.seen_ids = np.zeros(build.num_keys, dtype=np.bool_)
            else:
                self.build_flags = np.zeros(build.num_rows, dtype=np.bool_)

    # --- driver ------------------------------------------------------------

    def run(self, left_batches) -> Iterator[pa.RecordBatch]:
        kind, build = self.kind, self.build
        skip_probe = build.num_rows == 0 and kind in (
            "inner", "semi", "right", "right_semi", "right_anti")
        if (kind == "null_aware_anti" and self.cond is None and self.keyed
                and build.null_rows.size):
            skip_probe = True            # x NOT IN (..., NULL, ...) is never TRUE
        if not skip_probe:
            for lb in left_batches:
                self.ctx.check_cancelled()
                if lb.num_rows:
                    lb = jb.conform(lb, self.left_schema)
                    yield from self._probe(lb)
        if kind in _BUILD_FLAGS:
            yield from self._unmatched_build()

    def _probe_ids(self, lb: pa.RecordBatch):
        n = lb.num_rows
        if not self.keyed:
            fill = 0 if self.build.num_rows else -1
            return np.full(n, fill, dtype=np.int64), np.zeros(n, dtype=np.bool_)
        keys = jb.key_arrays(self.node.left_keys, lb, self.build.types)
        ids = np.asarray(self.build.encoder.lookup(keys), dtype=np.int64)
        nulls = (jb.null_key_mask(keys, n) if self.kind == "null_aware_anti"
                 else None)
        return ids, nulls

    def _probe(self, lb: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        kind, build = self.kind, self.build
        ids, nulls = self._probe_ids(lb)
        if self.cond is None:
            if kind in _PAIRS_OUT:
                for p, b in self._pairs(ids, build.offsets, build.rows):
                    yield self._pair_batch(lb, p, b)
            if self.seen_ids is not None:
                ji.mark_ids(ids, self.seen_ids)
            if kind in _PROBE_FLAGS:
                matched = ji.probe_has_match(ids, build.offsets)
                if kind == "null_aware_anti" and build.num_rows and self.keyed:
                    matched |= nulls
                yield from self._probe_rows_out(lb, matched)
            return
        flags = np.zeros(lb.num_rows, dtype=np.bool_) if kind in _PROBE_FLAGS else None
        yield from self._candidates(lb, ids, build.offsets, build.rows, flags)
        if kind == "null_aware_anti" and self.keyed and build.num_rows:
            # pairs whose key comparison is NULL: a NULL-key probe row with every
            # build row (id 0), other probe rows with the NULL-key build rows (id 1)
            nb = build.num_rows
            offsets = np.array([0, nb, nb + build.null_rows.size], dtype=np.int64)
            rows = np.concatenate([np.arange(nb, dtype=np.int64), build.null_rows])
            yield from self._candidates(lb, np.where(nulls, 0, 1).astype(np.int64),
                                        offsets, rows, flags)
        if flags is not None:
            yield from self._probe_rows_out(lb, flags)

    # --- pieces ------------------------------------------------------------

    def _pairs(self, ids, offsets, rows):
        if offsets is self.build.offsets and self.unique_build:
            p, b = ji.unique_pairs(ids, rows)
            for s in range(0, len(p), self.batch_size):
                yield p[s:s + self.batch_size], b[s:s + self.batch_size]
            return
        starts = ji.pair_starts(ji.match_counts(ids, offsets))
        total = int(starts[-1])
        for s in range(0, total, self.batch_size):
            yield ji.fill_pairs(ids, offsets, rows, starts, s, s + self.batch_size)

    def _candidates(self, lb, ids, offsets, rows, flags) -> Iterator[pa.RecordBatch]:
        """Apply the residual condition to candidate pairs; emit survivors for
        pair-producing kinds and record which rows had one."""
        for p, b in self._pairs(ids, offsets, rows):
            mask = self._condition(lb, p, b)
            if flags is not None:
                ji.mark_where(p, mask, flags)
            if self.build_flags is not None:
                ji.mark_where(b, mask, self.build_flags)
            if self.kind in _PAIRS_OUT:
                keep = np.flatnonzero(mask)
                if keep.size:
                    yield self._pair_batch(lb, p[keep], b[keep])

    def _condition(self, lb, p, b) -> np.ndarray:
        left = take_rows(lb.select(self.cond_left), p)
        right = take_rows(self.cond_build, b)
        arrays = left.columns + right.columns
        names = self.cond_left + self.cond_right
        batch = (pa.RecordBatch.from_arrays(arrays, names=names) if arrays
                 else _rows_batch([], None, len(p)))
        mask = jb.evaluate(self.cond, batch)
        if isinstance(mask, pa.ChunkedArray):
            mask = mask.combine_chunks()
        if len(mask) != len(p):      # a constant condition may come back as a scalar
            mask = pa.array(np.full(len(p), bool(mask[0].as_py()) if len(mask) else False))
        return mask_values(mask)          # NULL: no match

    def _pair_batch(self, lb, p, b) -> pa.RecordBatch:
        arrays = _probe_rows(lb, p).columns + take_rows(self.build.batch, b).columns
        return _rows_batch(arrays, self.out_schema, len(p))

    def _probe_rows_out(self, lb, matched) -> Iterator[pa.RecordBatch]:
        """Rows of one probe batch decided by their flags."""
        if self.kind == "semi":
            keep = matched
        else:
            keep = ~matched
        idx = np.flatnonzero(keep)
        if not idx.size:
            return
        taken = take_rows(lb, idx) if idx.size < lb.num_rows else lb
        arrays = taken.columns
        if self.kind in ("left", "full"):
            arrays = arrays + [pa.nulls(idx.size, f.type) for f in self.build.batch.schema]
        yield from self._sliced(_rows_batch(arrays, self.out_schema, idx.size))

    def _unmatched_build(self) -> Iterator[pa.RecordBatch]:
        """After the probe: a right/full join's unmatched build rows padded
        with NULLs; a right_semi join's matched build rows, a right_anti
        join's unmatched ones (build columns only)."""
        build = self.build
        if self.build_flags is not None:
            matched = self.build_flags
        else:
            matched = ji.build_rows_matched(build.ids, self.seen_ids)
        idx = np.flatnonzero(matched if self.kind == "right_semi" else ~matched)
        pad = self.kind not in RIGHT_SEMI_KINDS
        for s in range(0, idx.size, self.batch_size):
            part = idx[s:s + self.batch_size]
            arrays = take_rows(build.batch, part).columns
            if pad:
                arrays = [pa.nulls(part.size, f.type) for f in self.left_schema] + arrays
            yield _rows_batch(arrays, self.out_schema, part.size)

    def _sliced(self, batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        for s in range(0, batch.num_rows, self.batch_size):
            yield batch.slice(s, self.batch_size)
