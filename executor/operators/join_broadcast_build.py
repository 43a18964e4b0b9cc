"""The build side of a broadcast hash join, built once per query in each
process: the first task of the query that asks builds it
(join_build.build_side) and the others share it; when the memory pool
refuses it, it is spilled once (join_spill.SpilledBuild) and each task joins
its probe rows part by part.

Sharing goes through the context's `builds` (executor/shared_builds.py)
under `ctx.build_key(node)`: the embedded engine's context keeps its own,
dropped when the query ends; a worker gives its tasks one for the process,
keyed on what the tasks of a stage have in common (cluster/task_builds.py),
and drops a query's builds when the coordinator drops the query, so a
build outlives the task that made it. Either way the build's reservation
(and spill folder) is released with it, not with the building task.

Why a module of its own: this cache decides between building in memory
(join_build.py) and spilling (join_spill.py), and join_spill uses
join_build's key helpers. Kept in join_build.py, the cache made join_build
import join_spill and join_spill import join_build; here, above both, no
module imports back.
"""

from __future__ import annotations

from .. import registry
from . import join_build as jb
from . import join_spill


def shared_build(node, ctx):
    """The build side of a broadcast join, built by the first task of this
    query that asks and shared with the others (right.execute(0)): a
    BuildSide, or a join_spill.SpilledBuild when the pool refused it (each
    task then joins its probe rows part by part). Its reservation lives as
    long as the query's entry in ctx.builds."""
    return ctx.builds.get(ctx.query_key, ctx.build_key(node),
                          lambda: _build(node, ctx), ctx.cancelled)


def _build(node, ctx):
    """(the build side, a function releasing it). The reservation is
    registered under the query in the pool for as long as the build lives,
    so the query's accounting outlasts the building task's context."""
    pool, query = ctx.pool, ctx.query_key
    pool.register_query(query, ctx.memory_limit, ctx.spill_limit)
    res = ctx.reserve_shared("HashJoin build (broadcast)", node)
    spilled = None

    def release() -> None:
        if spilled is not None:
            spilled.remove()
        res.free()
        pool.release_query(query)

    try:
        right = registry.execute(node.right, 0, ctx)
        value = jb.build_side(node, right, ctx, res, spillable=join_spill.can_spill(node),
                              expected_rows=jb.stored_rows(node.right, 0, ctx))
        if isinstance(value, jb.BuildOverBudget):
            value = spilled = join_spill.SpilledBuild(node, value, ctx, res)
    except BaseException:
        release()
        raise
    return value, release
