"""planner/runtime_filters.py on stage DAGs: where a filter goes, where it
must not, and that the DAG stays in producer-before-consumer order."""

from __future__ import annotations

import pyarrow as pa

from quiver.planner import expr as E
from quiver.planner import physical as P
from quiver.planner.logical import Field
from quiver.planner.runtime_filters import add_runtime_filters
from quiver.planner.stages import Stage, StageDag, input_stages
from quiver.planner.tree import walk

I64 = pa.int64()


def _leaf(name):
    return P.MemoryScanExec("t_" + name, (Field(name, I64),), (name,), 1)


def _dag(kind="inner", shared_probe=False, null_equals_null=False):
    """stage 0: probe rows, stage 1: build rows, stage 2 (final): the join."""
    part = P.HashPartitioning((E.Column("a", I64),), 2)
    s0 = Stage(0, P.ShuffleWriteExec(_leaf("a"), 0, part), (), 1)
    s1 = Stage(1, P.ShuffleWriteExec(_leaf("b"), 1, part), (), 1)
    left = P.ShuffleReadExec(0, (Field("a2", I64),), 2, "hash", 1)
    right = P.ShuffleReadExec(1, (Field("b2", I64),), 2, "hash", 1)
    join = P.HashJoinExec(left, right, kind, (E.Column("a2", I64),), (E.Column("b2", I64),),
                          null_equals_null=null_equals_null)
    root = join
    stages = [s0, s1]
    if shared_probe:
        other = P.ShuffleReadExec(0, (Field("a3", I64),), 2, "hash", 1)
        root = P.UnionExec((join, other))
    stages.append(Stage(2, root, input_stages(root), 2))
    return StageDag(tuple(stages))


def test_inner_join_filters_its_probe_stage():
    dag = add_runtime_filters(_dag(), 1000)
    ids = [s.id for s in dag.stages]
    assert ids.index(1) < ids.index(0) and ids[-1] == 2      # build before probe, final last
    probe = dag.stage(0)
    assert probe.inputs == (1,)
    f = probe.root.input
    assert isinstance(f, P.RuntimeFilterExec) and f.max_build_rows == 1000
    assert f.left_keys == (E.Column("a", I64),)               # renamed to the stage's own names
    assert f.right_keys == (E.Column("b2", I64),)
    assert f.right.mode == "all" and f.right.stage_id == 1


def test_kinds_that_keep_unmatched_probe_rows_get_none():
    for kind in ("left", "full", "anti", "null_aware_anti"):
        dag = add_runtime_filters(_dag(kind), 1000)
        assert not any(isinstance(n, P.RuntimeFilterExec)
                       for s in dag.stages for n in walk(s.root)), kind
    for kind in ("inner", "semi", "right", "right_semi", "right_anti"):
        dag = add_runtime_filters(_dag(kind), 1000)
        assert isinstance(dag.stage(0).root.input, P.RuntimeFilterExec), kind


def test_no_filter_when_nulls_are_equal_disabled_or_probe_shared():
    assert add_runtime_filters(_dag(null_equals_null=True), 1000) == _dag(null_equals_null=True)
    assert add_runtime_filters(_dag(), 0) == _dag()
    shared = _dag(shared_probe=True)
    assert add_runtime_filters(shared, 1000) == shared
