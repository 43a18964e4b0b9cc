"""A real coordinator and three worker processes answer the 22 TPC-H queries
(SF 0.01) through quiver://, every answer checked, every worker used; and
splits run on the worker whose --local-root holds them."""

import os

import pytest

import quiver
from quiver.tpch import check
from quiver.tpch.datagen import table_dirs
from quiver.tpch.querylib import ALL_QUERIES, query_text


@pytest.fixture(scope="module")
def con(cluster3, tpch_sf001):
    con = quiver.connect(f"quiver://{cluster3.address}")
    for name, location in table_dirs(tpch_sf001).items():
        con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{location}'")
    yield con
    con.close()


def test_tpch_answers_on_three_workers(con):
    failures = []
    for n in ALL_QUERIES:
        cur = con.execute(query_text(n))
        names = [d[0] for d in cur.description]
        result = check.check_query(0.01, n, names, cur.fetchall())
        if not result.ok:
            failures.append(f"Q{n}: {result.message}")
    assert not failures, "\n".join(failures)
    workers = con.execute(
        "SELECT worker_id, state, slots, tasks_completed FROM system.workers ORDER BY 1").fetchall()
    assert [w[0] for w in workers] == ["w1", "w2", "w3"]
    assert all(w[1] == "alive" and w[2] == 2 and w[3] > 0 for w in workers), workers


def test_system_tables_describe_queries_and_tasks(con):
    sql = "SELECT count(*) FROM nation"
    assert con.execute(sql).fetchall() == [(25,)]
    [(qid, state, rows)] = con.execute(
        "SELECT query_id, state, rows FROM system.queries WHERE sql = ?", [sql]).fetchall()
    assert state == "finished" and rows == 1
    tasks = con.execute("SELECT stage, task, attempt, worker_id, state FROM system.tasks "
                        "WHERE query_id = ?", [qid]).fetchall()
    assert tasks and all(t[4] == "succeeded" and t[3] in ("w1", "w2", "w3") for t in tasks)


def test_system_tasks_is_a_timeline(con):
    sql = "SELECT l_returnflag, count(*) FROM lineitem GROUP BY 1 ORDER BY 1"
    con.execute(sql).fetchall()
    [(qid, q_started)] = con.execute(
        "SELECT query_id, started FROM system.queries WHERE sql = ?", [sql]).fetchall()
    tasks = con.execute("SELECT stage, started, ended FROM system.tasks "
                        "WHERE query_id = ? ORDER BY started", [qid]).fetchall()
    assert len({t[0] for t in tasks}) >= 2, tasks          # a partial and a final stage
    assert all(q_started <= s <= e for _, s, e in tasks), (q_started, tasks)
    final = max(t[0] for t in tasks)
    assert min(s for st, s, _ in tasks if st == final) >= max(e for st, _, e in tasks
                                                              if st != final)


def test_explain_analyze_shows_tasks_and_workers(con):
    cur = con.execute("EXPLAIN ANALYZE SELECT n_regionkey, count(*) FROM nation GROUP BY 1")
    text = dict(cur.fetchall())["analyzed_stages"]
    assert "worker=w" in text and "rows=" in text and "Stage 0 tasks:" in text
    assert "Total: 5 rows" in text


def test_splits_run_on_the_worker_holding_them(con, locality_data):
    for name, worker in (("ta", "w1"), ("tb", "w2")):
        con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET "
                    f"LOCATION '{os.path.join(locality_data, name)}'")
        sql = f"SELECT count(*), sum(k) FROM {name}"
        assert con.execute(sql).fetchall() == [(300, sum(range(300)))]
        [(qid,)] = con.execute("SELECT query_id FROM system.queries WHERE sql = ?",
                               [sql]).fetchall()
        scan_workers = con.execute(
            "SELECT DISTINCT worker_id FROM system.tasks WHERE query_id = ? AND stage = 0",
            [qid]).fetchall()
        assert scan_workers == [(worker,)]
