"""cluster/task_builds.py: the key of a broadcast join's shared build is the
same for every task of a stage (each decodes its own copy of the plan) and
changes when the producers of its build input move (a rerun after a lost
worker)."""

import pyarrow as pa
import pytest

from quiver.cluster.plan_wire import stage_from_bytes, stage_to_bytes
from quiver.cluster.task_builds import build_key
from quiver.planner.logical import Field
from quiver.planner.physical import HashJoinExec, ShuffleReadExec
from quiver.planner.stages import Stage
from quiver.planner.tree import walk


def _stage() -> Stage:
    lf, rf = (Field("a", pa.int64()),), (Field("b", pa.int64()),)
    left = ShuffleReadExec(1, lf, 4, "hash", 2)
    right = ShuffleReadExec(2, rf, 1, "all", 3)
    join = HashJoinExec(left, right, "inner", (lf[0].column(),), (rf[0].column(),),
                        None, "broadcast")
    return Stage(3, join, (1, 2), 4)


def _join(stage):
    return next(n for n in walk(stage.root) if isinstance(n, HashJoinExec))


def test_tasks_decoding_their_own_plan_get_the_same_key():
    data = stage_to_bytes(_stage())
    s1, s2 = stage_from_bytes(data), stage_from_bytes(data)
    assert _join(s1) is not _join(s2)
    inputs = {1: (4, ["w1", "w2"]), 2: (1, ["w1", "w2", "w3"])}
    k1 = build_key(s1.root, _join(s1), 3, inputs)
    assert k1 == build_key(s2.root, _join(s2), 3, dict(inputs))
    # the probe input's producers are not part of it: only what the build reads
    assert k1 == build_key(s2.root, _join(s2), 3, {**inputs, 1: (4, ["w9", "w2"])})


def test_a_moved_build_input_or_another_stage_gets_another_key():
    s = stage_from_bytes(stage_to_bytes(_stage()))
    inputs = {1: (4, ["w1", "w2"]), 2: (1, ["w1", "w2", "w3"])}
    k = build_key(s.root, _join(s), 3, inputs)
    assert k != build_key(s.root, _join(s), 3, {**inputs, 2: (1, ["w1", "w4", "w3"])})
    assert k != build_key(s.root, _join(s), 4, inputs)
    with pytest.raises(ValueError, match="not in stage 3"):
        build_key(s.root, _join(_stage()), 3, inputs)
