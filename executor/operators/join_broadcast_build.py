"""The build side of a broadcast hash join, built once per query: the first
task of the query that asks builds it (join_build.build_side) and the
others share it; when the memory pool refuses it, it is spilled once
(join_spill.SpilledBuild) and each task joins its probe rows part by part.

Why a module of its own: this cache decides between building in memory
(join_build.py) and spilling (join_spill.py), and join_spill uses
join_build's key helpers. Kept in join_build.py, the cache made join_build
import join_spill and join_spill import join_build; here, above both, no
module imports back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .. import registry
from . import join_build as jb
from . import join_spill


_CACHE_LOCK = threading.Lock()
_CACHE_ATTR = "_hash_join_builds"


@dataclass
class _Entry:
    node: object                   # kept so id(node) stays unique while cached
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: jb.BuildSide | None = None


def shared_build(node, ctx):
    """The build side of a broadcast join, built by the first task of this
    query that asks and shared with the others (right.execute(0)): a
    BuildSide, or a join_spill.SpilledBuild when the pool refused it (each
    task then joins its probe rows part by part). The reservation lives as
    long as the query (ctx.close frees it)."""
    with _CACHE_LOCK:
        cache = ctx.__dict__.get(_CACHE_ATTR)
        if cache is None:
            cache = ctx.__dict__[_CACHE_ATTR] = {}
            # the builds go when the query ends, even while something still
            # holds its context (a cursor's result): their reservations do
            ctx.add_cleanup(cache.clear)
        entry = cache.get(id(node))
        if entry is None or entry.node is not node:
            entry = cache[id(node)] = _Entry(node)
    with entry.lock:
        if entry.value is None:
            res = ctx.reserve("HashJoin build (broadcast)", node)
            right = registry.execute(node.right, 0, ctx)
            try:
                entry.value = jb.build_side(node, right, ctx, res,
                                            spillable=join_spill.can_spill(node))
            except jb.BuildOverBudget as over:
                entry.value = join_spill.SpilledBuild(node, over, ctx, res)
        return entry.value
