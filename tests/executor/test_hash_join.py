"""HashJoinExec: every join kind against DuckDB on the same data (NULL keys,
duplicate keys, empty sides, residual conditions, keyless joins)."""

import _hash_join_lib as H  # noqa: E402  (tests/executor/conftest.py)

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor.context import ExecContext
from quiver.planner.physical import HashJoinExec

KINDS = ["inner", "left", "right", "full", "semi", "anti", "null_aware_anti"]
OUTER_SQL = {"inner": "JOIN", "left": "LEFT JOIN", "right": "RIGHT JOIN", "full": "FULL JOIN"}


def make_tables(seed, nl=40, nr=30, keys=6, null_frac=0.15):
    rng = np.random.default_rng(seed)

    def keycol(n):
        v = rng.integers(0, keys, n)
        return pa.array(v, pa.int64(), mask=rng.random(n) < null_frac)

    lt = pa.table({"lk": keycol(nl), "lv": pa.array(rng.integers(0, 5, nl), pa.int32()),
                   "ls": pa.array([f"s{i}" for i in range(nl)])})
    rt = pa.table({"rk": keycol(nr), "rv": pa.array(rng.integers(0, 5, nr), pa.int32(),
                                                    mask=rng.random(nr) < 0.1)})
    return lt, rt


def duck_sql(kind, on, cond=None, null_eq=False):
    """The SQL of a join over tables l(lk, ...) and r(rk, ...)."""
    eq = " AND ".join(f"l.{a} {'IS NOT DISTINCT FROM' if null_eq else '='} r.{b}"
                      for a, b in on) or "TRUE"
    full = eq + (f" AND {cond}" if cond else "")
    if kind in OUTER_SQL:
        return f"SELECT l.*, r.* FROM l {OUTER_SQL[kind]} r ON {full}"
    if kind == "semi":
        return f"SELECT l.* FROM l WHERE EXISTS (SELECT 1 FROM r WHERE {full})"
    if kind == "anti":
        return f"SELECT l.* FROM l WHERE NOT EXISTS (SELECT 1 FROM r WHERE {full})"
    (a, b), = on
    return (f"SELECT l.* FROM l WHERE l.{a} NOT IN "
            f"(SELECT r.{b} FROM r WHERE {cond or 'TRUE'})")


def join_node(kind, left, right, on, condition=None, mode="partitioned", null_eq=False):
    return HashJoinExec(left, right, kind,
                        tuple(H.col(a, left) for a, _ in on),
                        tuple(H.col(b, right) for _, b in on),
                        condition, mode, null_eq)


def check(kind, lt, rt, on, cond_expr=None, cond_sql=None, null_eq=False, parts=1,
          by_left=None, by_right=None, batch_size=7):
    node = join_node(kind, H.leaf(lt, parts, by=by_left), H.leaf(rt, parts, by=by_right),
                     on, cond_expr, null_eq=null_eq)
    got = H.run_join(node, ExecContext(batch_size=batch_size))
    want = H.duck(duck_sql(kind, on, cond_sql, null_eq), l=lt, r=rt)
    assert H.rows(got) == H.rows(want)
    return got


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_key(kind, seed):
    lt, rt = make_tables(seed)
    check(kind, lt, rt, [("lk", "rk")])


@pytest.mark.parametrize("kind", KINDS)
def test_residual_condition(kind):
    lt, rt = make_tables(3, nl=60, nr=50, keys=4)
    l, r = H.leaf(lt), H.leaf(rt)
    cond = H.call("ne", H.col("lv", l), H.col("rv", r))
    check(kind, lt, rt, [("lk", "rk")], cond, "l.lv <> r.rv")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", ["left", "right", "both"])
def test_empty_sides(kind, which):
    lt, rt = make_tables(4)
    if which in ("left", "both"):
        lt = lt.slice(0, 0)
    if which in ("right", "both"):
        rt = rt.slice(0, 0)
    check(kind, lt, rt, [("lk", "rk")])
    cond = H.call("lt", H.col("lv", H.leaf(lt)), H.col("rv", H.leaf(rt)))
    check(kind, lt, rt, [("lk", "rk")], cond, "l.lv < r.rv")


@pytest.mark.parametrize("kind", ["inner", "left", "right", "full", "semi", "anti"])
def test_null_equals_null(kind):
    lt, rt = make_tables(5, null_frac=0.3)
    check(kind, lt, rt, [("lk", "rk")], null_eq=True)


@pytest.mark.parametrize("kind", ["inner", "left", "right", "full", "semi", "anti"])
def test_keyless_nested_loop(kind):
    lt, rt = make_tables(6, nl=13, nr=11)
    check(kind, lt, rt, [])
    cond = H.call("lt", H.col("lv", H.leaf(lt)), H.col("rv", H.leaf(rt)))
    check(kind, lt, rt, [], cond, "l.lv < r.rv")


def test_null_aware_anti_cases():
    lt = pa.table({"lk": pa.array([1, 2, None, 4], pa.int64()), "lv": pa.array([0, 1, 2, 3], pa.int32())})
    no_null = pa.table({"rk": pa.array([1, 5], pa.int64()), "rv": pa.array([0, 1], pa.int32())})
    with_null = pa.table({"rk": pa.array([1, None], pa.int64()), "rv": pa.array([0, 9], pa.int32())})
    empty = no_null.slice(0, 0)
    got = check("null_aware_anti", lt, no_null, [("lk", "rk")])
    assert sorted(got.column("lk").to_pylist()) == [2, 4]          # the NULL key row goes
    assert check("null_aware_anti", lt, with_null, [("lk", "rk")]).num_rows == 0
    assert check("null_aware_anti", lt, empty, [("lk", "rk")]).num_rows == 4
    # correlated NOT IN: the NULL build key only counts where the condition holds
    cond = H.call("le", H.col("rv", H.leaf(with_null)), H.col("lv", H.leaf(lt)))
    check("null_aware_anti", lt, with_null, [("lk", "rk")], cond, "r.rv <= l.lv")
    cond = H.call("eq", H.col("rv", H.leaf(with_null)), H.col("lv", H.leaf(lt)))
    check("null_aware_anti", lt, with_null, [("lk", "rk")], cond, "r.rv = l.lv")


def test_null_aware_anti_null_in_a_later_build_batch():
    """The build keeps one row per key: a NULL arriving after the first batch
    must still be kept (it empties NOT IN)."""
    lt = pa.table({"lk": pa.array([1, 2, 3], pa.int64()), "lv": pa.array([0, 1, 2], pa.int32())})
    keys = [7, 8, 9, 7, 10, 11, 12, 13, 14, 15, 7, None]      # leaf batches of 5 rows
    rt = pa.table({"rk": pa.array(keys, pa.int64()),
                   "rv": pa.array(range(len(keys)), pa.int32())})
    assert check("null_aware_anti", lt, rt, [("lk", "rk")]).num_rows == 0


@pytest.mark.parametrize("kind", KINDS)
def test_hash_partitioned_inputs(kind):
    lt, rt = make_tables(7, nl=80, nr=60)

    def part(t, name):
        k = t.column(name).to_numpy(zero_copy_only=False)
        return pa.array(np.where(np.isnan(k), 0, k % 3).astype(np.int64))

    check(kind, lt, rt, [("lk", "rk")], parts=3,
          by_left=part(lt, "lk"), by_right=part(rt, "rk"))


def test_large_fanout_is_chunked():
    lt = pa.table({"lk": pa.array([1, 1, 2], pa.int64())})
    rt = pa.table({"rk": pa.array([1] * 50 + [2] * 3, pa.int64())})
    got = check("inner", lt, rt, [("lk", "rk")], batch_size=4)
    assert got.num_rows == 103


def test_output_schema_types_and_nullability():
    lt, rt = make_tables(8)
    node = join_node("full", H.leaf(lt), H.leaf(rt), [("lk", "rk")])
    got = H.run_join(node)
    assert got.schema.names == ["lk", "lv", "ls", "rk", "rv"]
    assert got.schema.types == [pa.int64(), pa.int32(), pa.string(), pa.int64(), pa.int32()]
