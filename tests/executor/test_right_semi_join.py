"""right_semi / right_anti: a semi or anti join built on its kept side and
probed by the other (the planner picks it when the kept side is smaller).
Same rows as EXISTS / NOT EXISTS in DuckDB: with and without a residual
condition, NULL keys, several partitions of input, and when the build spills."""

import _hash_join_lib as H  # noqa: E402  (tests/executor/conftest.py)

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor.context import ExecContext
from quiver.planner.physical import HashJoinExec


def _tables(seed, n_keep=400, n_probe=3000):
    rng = np.random.default_rng(seed)
    keep = pa.table({
        "a": pa.array(rng.integers(0, 500, n_keep), pa.int64(), mask=rng.random(n_keep) < 0.05),
        "s": pa.array(rng.integers(0, 5, n_keep).astype(str)),
        "x": pa.array(rng.integers(0, 4, n_keep), pa.int64())})
    probe = pa.table({
        "b": pa.array(rng.integers(0, 700, n_probe), pa.int64(),
                      mask=rng.random(n_probe) < 0.05),
        "t": pa.array(rng.integers(0, 5, n_probe).astype(str)),
        "y": pa.array(rng.integers(0, 4, n_probe), pa.int64())})
    return keep, probe


def _node(kind, keep, probe, with_condition, chunk=None):
    k = H.leaf(keep, chunk=chunk) if chunk else H.leaf(keep)
    p = H.leaf(probe, chunk=chunk) if chunk else H.leaf(probe)
    cond = H.call("le", H.col("x", k), H.col("y", p)) if with_condition else None
    # the probe side is the left input, the kept (built) side the right
    return HashJoinExec(p, k, kind, (H.col("b", p), H.col("t", p)),
                        (H.col("a", k), H.col("s", k)), cond)


def _want(kind, keep, probe, with_condition):
    neg = "NOT " if kind == "right_anti" else ""
    extra = " AND k.x <= p.y" if with_condition else ""
    return H.duck(f"SELECT * FROM k WHERE {neg}EXISTS (SELECT 1 FROM p WHERE "
                  f"p.b = k.a AND p.t = k.s{extra})", k=keep, p=probe)


@pytest.mark.parametrize("kind", ["right_semi", "right_anti"])
@pytest.mark.parametrize("with_condition", [False, True])
def test_same_rows_as_exists(kind, with_condition):
    keep, probe = _tables(3)
    node = _node(kind, keep, probe, with_condition)
    assert node.schema == node.right.schema         # the kept side's columns only
    got = H.run_join(node)
    want = _want(kind, keep, probe, with_condition)
    assert 0 < got.num_rows < keep.num_rows
    assert H.rows(got) == H.rows(want)


@pytest.mark.parametrize("kind", ["right_semi", "right_anti"])
def test_duplicate_kept_rows_each_come_out_once(kind):
    keep = pa.table({"a": pa.array([1, 1, 2, None], pa.int64()), "s": ["u", "u", "v", "u"],
                     "x": pa.array([0, 0, 0, 0], pa.int64())})
    probe = pa.table({"b": pa.array([1, 1, 1, 3], pa.int64()), "t": ["u", "u", "u", "u"],
                      "y": pa.array([0, 0, 0, 0], pa.int64())})
    got = H.run_join(_node(kind, keep, probe, False))
    assert H.rows(got) == H.rows(_want(kind, keep, probe, False))
    assert got.num_rows == 2                 # two (1, u) rows kept; or (2, v) and the NULL key


@pytest.mark.parametrize("kind", ["right_semi", "right_anti"])
def test_an_empty_probe_side(kind):
    keep, probe = _tables(4)
    probe = probe.slice(0, 0)
    got = H.run_join(_node(kind, keep, probe, True))
    assert got.num_rows == (0 if kind == "right_semi" else keep.num_rows)


@pytest.mark.parametrize("kind", ["right_semi", "right_anti"])
@pytest.mark.parametrize("with_condition", [False, True])
def test_spilled_build_gives_the_same_rows(kind, with_condition, tmp_path):
    keep, probe = _tables(5, n_keep=3000, n_probe=3000)
    node = _node(kind, keep, probe, with_condition, chunk=256)
    ctx = ExecContext(batch_size=500, memory_budget=4_000, spill_dir=str(tmp_path))
    got = H.run_join(node, ctx)
    assert H.rows(got) == H.rows(_want(kind, keep, probe, with_condition))
    assert list(tmp_path.iterdir()) == []
