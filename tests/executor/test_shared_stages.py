"""One stage for the same computation reached twice (planner/stages.py):
a CTE referenced twice, a self-join; results checked against DuckDB."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quiver.parser import bind
from quiver.planner import physical as P
from quiver.planner.physical_planner import PhysicalOptions
from quiver.planner.stages import canonical_key
from quiver.planner.tree import walk
from quiver.session import Session


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared")
    (root / "t").mkdir()
    for i in range(3):
        n = 400
        pq.write_table(pa.table({
            "k": pa.array([(j * 7 + i) % 50 for j in range(n)], pa.int64()),
            "v": pa.array([(j * 13 + i * 5) % 97 for j in range(n)], pa.int64()),
            "s": pa.array([f"a#{j % 4}" for j in range(n)]),
        }), str(root / "t" / f"f{i}.parquet"))
    s = Session(physical=PhysicalOptions(target_partitions=2, shuffle_partitions=3,
                                         split_bytes=1, join_strategy="partitioned"))
    s.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{root}/t'")
    duck = duckdb.connect()
    duck.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{root}/t/*.parquet')")
    return s, duck


def _dag(s, sql):
    [st] = bind(sql, s.catalog)
    return s.plan_query(st.query)


def _check(env, sql):
    s, duck = env
    got = sorted(zip(*[c.to_pylist() for c in s.execute(sql).table.columns]))
    want = sorted(tuple(r) for r in duck.execute(sql).fetchall())
    assert got == want
    return got


CTE_TWICE = """
    WITH r AS (SELECT k, sum(v) AS total FROM t WHERE s <> 'a#3' GROUP BY k)
    SELECT k, total FROM r WHERE total = (SELECT max(total) FROM r)
"""


def test_cte_referenced_twice_runs_once(env):
    s, _ = env
    _, physical, dag = _dag(s, CTE_TWICE)
    exchanges = [n for n in walk(physical) if isinstance(n, P.ExchangeExec)]
    keys = [canonical_key(e) for e in exchanges]
    assert len(set(keys)) < len(keys)                 # the two copies are one computation
    assert len(dag.stages) == len(set(keys)) + 1
    assert any(len(dag.consumers(x.id)) == 2 for x in dag.stages)
    assert len(_check(env, CTE_TWICE)) >= 1


def test_self_join_shares_its_scan_stage(env):
    sql = "SELECT a.k, count(*) FROM t a JOIN t b ON a.k = b.k GROUP BY a.k"
    s, _ = env
    _, physical, dag = _dag(s, sql)
    reads = [n.stage_id for n in walk(dag.stages[-1].root) if isinstance(n, P.ShuffleReadExec)]
    join_reads = [n for x in dag.stages for n in walk(x.root)
                  if isinstance(n, P.HashJoinExec)]
    assert join_reads and reads
    left, right = join_reads[0].left, join_reads[0].right
    assert isinstance(left, P.ShuffleReadExec) and isinstance(right, P.ShuffleReadExec)
    assert left.stage_id == right.stage_id
    _check(env, sql)


@pytest.mark.parametrize("sql", [
    # same shape, different literals: two computations
    "SELECT x.k, x.c, y.c FROM (SELECT k, count(*) AS c FROM t WHERE s = 'a#1' GROUP BY k) x "
    "JOIN (SELECT k, count(*) AS c FROM t WHERE s = 'a#2' GROUP BY k) y ON x.k = y.k",
    # same filter, different aggregate
    "SELECT x.k, x.c, y.c FROM (SELECT k, sum(v) AS c FROM t GROUP BY k) x "
    "JOIN (SELECT k, max(v) AS c FROM t GROUP BY k) y ON x.k = y.k",
    # same computation, different columns kept
    "SELECT x.k, y.v FROM (SELECT k, v FROM t WHERE v > 50) x "
    "JOIN (SELECT v AS k, k AS v FROM t WHERE v > 50) y ON x.k = y.k",
])
def test_different_computations_stay_apart(env, sql):
    _check(env, sql)
