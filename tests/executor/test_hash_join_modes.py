"""HashJoinExec: broadcast vs partitioned, the shared broadcast build across
threads, TPC-H Q21's semi/anti shape, spilling over the memory budget, bad plans."""

import _hash_join_lib as H  # noqa: E402  (tests/executor/conftest.py)

import datetime
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pytest

from quiver.errors import MemoryLimitExceeded, NotSupportedError
from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.planner.physical import HashJoinExec


def lineitem(seed, n=120, prefix="l1"):
    rng = np.random.default_rng(seed)
    base = datetime.date(1995, 1, 1)
    commit = rng.integers(0, 60, n)
    return pa.table({
        f"{prefix}_orderkey": pa.array(rng.integers(0, 60, n), pa.int64()),
        f"{prefix}_suppkey": pa.array(rng.integers(0, 3, n), pa.int64()),
        f"{prefix}_commitdate": pa.array([base + datetime.timedelta(days=int(d)) for d in commit]),
        f"{prefix}_receiptdate": pa.array(
            [base + datetime.timedelta(days=int(d)) for d in commit + rng.integers(-20, 20, n)]),
    })


@pytest.mark.parametrize("kind", ["semi", "anti"])
@pytest.mark.parametrize("mode", ["partitioned", "broadcast"])
def test_q21_semi_anti(kind, mode):
    l1 = lineitem(1, prefix="l1")
    l2 = lineitem(1, prefix="l2")             # the same table under other names
    left = H.leaf(l1, 3 if mode == "broadcast" else 1)
    right = H.leaf(l2)
    cond = H.call("ne", H.col("l2_suppkey", right), H.col("l1_suppkey", left))
    if kind == "anti":    # Q21's l3: also late (a right-only conjunct)
        cond = H.call("and", cond, H.call("gt", H.col("l2_receiptdate", right),
                                          H.col("l2_commitdate", right)))
    node = HashJoinExec(left, right, kind, (H.col("l1_orderkey", left),),
                        (H.col("l2_orderkey", right),), cond, mode)
    got = H.run_join(node)
    extra = " AND l2.l2_receiptdate > l2.l2_commitdate" if kind == "anti" else ""
    neg = "NOT " if kind == "anti" else ""
    want = H.duck(f"SELECT * FROM l1 WHERE {neg}EXISTS (SELECT 1 FROM l2 WHERE "
                  f"l2.l2_orderkey = l1.l1_orderkey AND l2.l2_suppkey <> l1.l1_suppkey{extra})",
                  l1=l1, l2=l2)
    assert 0 < got.num_rows < l1.num_rows
    assert H.rows(got) == H.rows(want)


@pytest.mark.parametrize("kind", ["inner", "left", "semi", "anti", "null_aware_anti"])
def test_broadcast_equals_partitioned(kind):
    rng = np.random.default_rng(5)
    lt = pa.table({"a": pa.array(rng.integers(0, 9, 90), pa.int64(), mask=rng.random(90) < 0.1),
                   "b": pa.array(rng.integers(0, 4, 90), pa.int64())})
    rt = pa.table({"c": pa.array(rng.integers(0, 9, 50), pa.int64()),
                   "d": pa.array(rng.integers(0, 4, 50), pa.int64())})
    results = []
    for mode, parts in (("partitioned", 1), ("broadcast", 4)):
        left, right = H.leaf(lt, parts), H.leaf(rt)
        cond = H.call("ge", H.col("b", left), H.col("d", right))
        node = HashJoinExec(left, right, kind, (H.col("a", left),), (H.col("c", right),),
                            cond, mode)
        results.append(H.rows(H.run_join(node)))
    assert results[0] == results[1]
    assert results[0]


def test_broadcast_build_shared_by_threads():
    rng = np.random.default_rng(6)
    lt = pa.table({"a": pa.array(rng.integers(0, 50, 2000), pa.int64())})
    rt = pa.table({"c": pa.array(np.arange(50).repeat(2), pa.int64()),
                   "d": pa.array(np.arange(100), pa.int64())})
    left, right = H.leaf(lt, 8, chunk=100), H.leaf(rt, chunk=10)
    node = HashJoinExec(left, right, "inner", (H.col("a", left),), (H.col("c", right),),
                        None, "broadcast")
    ctx = ExecContext(batch_size=64)
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda p: list(registry.execute(node, p, ctx)), range(8)))
    got = H.collect(node, [b for bs in outs for b in bs], ctx)
    assert right.pulls[0] == 1                     # built once for the 8 tasks
    assert got.num_rows == 4000
    want = H.duck("SELECT * FROM l JOIN r ON l.a = r.c", l=lt, r=rt)
    assert H.rows(got) == H.rows(want)
    # a new query (context) builds again
    H.run_join(node, ExecContext(batch_size=64))
    assert right.pulls[0] == 2


def test_right_and_full_cannot_broadcast():
    t = pa.table({"a": pa.array([1], pa.int64())})
    u = pa.table({"b": pa.array([1], pa.int64())})
    for kind in ("right", "full"):
        left, right = H.leaf(t), H.leaf(u)
        node = HashJoinExec(left, right, kind, (H.col("a", left),), (H.col("b", right),),
                            None, "broadcast")
        with pytest.raises(NotSupportedError, match="broadcast"):
            H.run_join(node)


@pytest.mark.parametrize("kind", ["inner", "left", "right", "full", "semi", "anti"])
def test_build_over_budget_spills(kind, tmp_path):
    rng = np.random.default_rng(9)
    n = 3000
    lt = pa.table({"a": pa.array(rng.integers(0, 2000, n), pa.int64(), mask=rng.random(n) < 0.05),
                   "s": pa.array(rng.integers(0, 9, n).astype(str)),
                   "x": pa.array(rng.integers(0, 4, n), pa.int64())})
    rt = pa.table({"b": pa.array(rng.integers(0, 2000, n), pa.int64(), mask=rng.random(n) < 0.05),
                   "t": pa.array(rng.integers(0, 9, n).astype(str)),
                   "y": pa.array(rng.integers(0, 4, n), pa.int64())})
    left, right = H.leaf(lt, chunk=256), H.leaf(rt, chunk=256)
    cond = H.call("le", H.col("x", left), H.col("y", right))
    node = HashJoinExec(left, right, kind, (H.col("a", left), H.col("s", left)),
                        (H.col("b", right), H.col("t", right)), cond)
    # a budget far below the build side (~60 kB): two rounds of spilling
    ctx = ExecContext(batch_size=500, memory_budget=3_000, spill_dir=str(tmp_path))
    got = H.run_join(node, ctx)
    sql = _oracle_sql(kind, "l.a = r.b AND l.s = r.t AND l.x <= r.y")
    assert H.rows(got) == H.rows(H.duck(sql, l=lt, r=rt))
    assert list(tmp_path.iterdir()) == []          # spill files removed


def _oracle_sql(kind: str, on: str) -> str:
    """DuckDB's SQL for a join of l and r of this kind."""
    if kind in ("semi", "anti"):
        neg = "NOT " if kind == "anti" else ""
        return f"SELECT * FROM l WHERE {neg}EXISTS (SELECT 1 FROM r WHERE {on})"
    return f"SELECT l.*, r.* FROM l {kind.upper()} JOIN r ON {on}"


@pytest.mark.parametrize("kind", ["inner", "left", "semi", "anti", "null_aware_anti"])
@pytest.mark.parametrize("budget,in_memory", [(40_000, "some"), (2_000, "none")])
def test_refused_broadcast_keeps_the_parts_that_fit(kind, budget, in_memory, tmp_path,
                                                     monkeypatch):
    # a broadcast build the pool refuses is spilled in FANOUT parts; those
    # that fit in half the budget are built back in memory once and probed
    # at once by every task, the others are joined part by part from disk
    from quiver.executor.operators import join_spill
    loaded = []
    real = join_spill.SpilledBuild._load_parts

    def spy(self, ctx, res, cap):
        parts = real(self, ctx, res, cap)
        loaded.append((len(parts), sum(r > 0 for r in self.right.rows), res.size, cap))
        return parts
    monkeypatch.setattr(join_spill.SpilledBuild, "_load_parts", spy)
    rng = np.random.default_rng(11)
    n = 3000
    lt = pa.table({"a": pa.array(rng.integers(0, 2000, n), pa.int64(), mask=rng.random(n) < 0.05),
                   "x": pa.array(rng.integers(0, 4, n), pa.int64())})
    rt = pa.table({"b": pa.array(rng.integers(0, 2000, n), pa.int64()),
                   "y": pa.array(rng.integers(0, 4, n), pa.int64())})
    left, right = H.leaf(lt, 4, chunk=256), H.leaf(rt, chunk=256)
    # NOT IN spills only without a residual condition
    cond = None if kind == "null_aware_anti" else H.call("le", H.col("x", left), H.col("y", right))
    node = HashJoinExec(left, right, kind, (H.col("a", left),), (H.col("b", right),),
                        cond, "broadcast")
    ctx = ExecContext(batch_size=500, memory_budget=budget, spill_dir=str(tmp_path))
    got = H.run_join(node, ctx)
    [(kept, parts, held, cap)] = loaded                 # spilled and loaded once
    assert held <= cap
    if in_memory == "some":
        assert 0 < kept < parts
    else:
        assert kept == 0
    sql = ("SELECT * FROM l WHERE l.a NOT IN (SELECT r.b FROM r)" if kind == "null_aware_anti"
           else _oracle_sql(kind, "l.a = r.b AND l.x <= r.y"))
    assert H.rows(got) == H.rows(H.duck(sql, l=lt, r=rt))
    ctx.close()
    assert list(tmp_path.iterdir()) == []          # spill files removed with the query


def test_skewed_key_over_budget_is_a_clear_error(tmp_path):
    t = pa.table({"a": pa.array(np.zeros(4000), pa.int64())})
    left, right = H.leaf(t, chunk=500), H.leaf(t.rename_columns(["b"]), chunk=500)
    node = HashJoinExec(left, right, "inner", (H.col("a", left),), (H.col("b", right),))
    ctx = ExecContext(batch_size=1000, memory_budget=10_000, spill_dir=str(tmp_path))
    with pytest.raises(MemoryLimitExceeded, match="HashJoin build.*asked for"):
        H.run_join(node, ctx)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind,keyed,mode", [("inner", False, "partitioned"),
                                             ("inner", False, "broadcast")])
def test_unspillable_over_budget_is_a_clear_error(kind, keyed, mode):
    t = pa.table({"a": pa.array(np.arange(5000), pa.int64())})
    u = pa.table({"b": pa.array(np.arange(2500, 7500), pa.int64())})
    left, right = H.leaf(t, chunk=500), H.leaf(u, chunk=500)
    keys = ((H.col("a", left),), (H.col("b", right),)) if keyed else ((), ())
    node = HashJoinExec(left, right, kind, *keys, None, mode)
    with pytest.raises(MemoryLimitExceeded, match="HashJoin build.*memory_limit"):
        H.run_join(node, ExecContext(batch_size=1000, memory_budget=10_000))
    assert H.run_join(node, ExecContext(batch_size=100_000)).num_rows > 0


def test_zero_column_sides_keep_row_counts():
    lt = pa.table({"a": pa.array([1, 2, 2], pa.int64())})
    rt = pa.table({"b": pa.array([2, 2, 3], pa.int64())})
    left = H.JoinInput((), [[b.select([]) for b in lt.to_batches()]])
    right = H.JoinInput((), [[b.select([]) for b in rt.to_batches()]])
    node = HashJoinExec(left, right, "inner", (), ())
    assert H.run_join(node).num_rows == 9
    for kind, n in (("left", 9), ("semi", 3), ("anti", 0)):
        node = HashJoinExec(left, right, kind, (), ())
        assert H.run_join(node).num_rows == n
