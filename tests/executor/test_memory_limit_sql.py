"""The memory limit end to end, embedded: every spilling operator under a
kilobyte limit gives DuckDB's answer and really spills; a query whose
reservation cannot be met fails with MemoryLimitExceeded naming operator,
stage and bytes, and the same connection answers the next query; the limit
is set by connect(), SET and RESET; EXPLAIN ANALYZE shows memory."""

from __future__ import annotations

import decimal
import os

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.errors import MemoryLimitExceeded

N = 20_000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("memlimit")
    rng = np.random.default_rng(7)
    k = rng.integers(0, 3000, N)
    fact = pa.table({
        "k": pa.array(k, pa.int64()),
        "g": pa.array(rng.integers(0, 500, N), pa.int64()),
        "v": pa.array(rng.integers(0, 10_000, N), pa.int64()),
        "s": pa.array([f"s{x % 97}" for x in range(N)]),
    })
    dim = pa.table({
        "k": pa.array(np.arange(0, 3000, 2), pa.int64()),
        "name": pa.array([f"name-{i}" for i in range(0, 3000, 2)]),
    })
    nulls = pa.table({"k": pa.array([1, 2, None, 4], pa.int64())})
    for name, t in (("fact", fact), ("dim", dim), ("nulls", nulls)):
        os.makedirs(root / name)
        pq.write_table(t, str(root / name / "part.parquet"), row_group_size=4000)
    return str(root)


def _connect(data, **options):
    con = quiver.connect(**options)
    for name in ("fact", "dim", "nulls"):
        con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{data}/{name}'")
    return con


def _duck(data, sql):
    con = duckdb.connect()
    for name in ("fact", "dim", "nulls"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{data}/{name}/*.parquet')")
    return con.execute(sql).fetchall()


def _norm(rows):
    """Rows in a stable order; floats as floats, string_agg lists as sorted parts."""
    out = []
    for r in rows:
        out.append(tuple(float(x) if isinstance(x, (float, decimal.Decimal))
                         else ",".join(sorted(x.split(","))) if isinstance(x, str) and "," in x
                         else x for x in r))
    return sorted(out, key=repr)


QUERIES = {
    "partitioned_join": ("SELECT f.g, count(*), sum(f.v) FROM fact f JOIN dim d ON f.k = d.k "
                         "GROUP BY f.g", {"join_strategy": "partitioned"}),
    "broadcast_join": ("SELECT f.k, f.v, d.name FROM fact f JOIN dim d ON f.k = d.k "
                       "WHERE f.v < 3000", {"join_strategy": "broadcast"}),
    "broadcast_left_join": ("SELECT f.k, f.v, d.name FROM fact f LEFT JOIN dim d ON f.k = d.k "
                            "WHERE f.v < 2000", {"join_strategy": "broadcast"}),
    "not_in": ("SELECT count(*), sum(v) FROM fact WHERE k NOT IN (SELECT k FROM dim)", {}),
    "not_in_broadcast": ("SELECT count(*), sum(v) FROM fact WHERE k NOT IN (SELECT k FROM dim)",
                         {"join_strategy": "broadcast"}),
    "not_in_with_null": ("SELECT count(*) FROM fact WHERE k NOT IN "
                         "(SELECT CASE WHEN v = 5 THEN NULL ELSE v END FROM fact)", {}),
    "not_in_with_null_broadcast": ("SELECT count(*) FROM fact WHERE k NOT IN "
                                   "(SELECT CASE WHEN v = 5 THEN NULL ELSE v END FROM fact)",
                                   {"join_strategy": "broadcast"}),
    "aggregate": ("SELECT k, count(*), sum(v), min(s), max(v) FROM fact GROUP BY k", {}),
    "distinct_aggregate": ("SELECT k, count(DISTINCT g), sum(v) FROM fact GROUP BY k", {}),
    "string_agg": ("SELECT k, string_agg(s, ',') FROM fact GROUP BY k", {}),
    "select_distinct": ("SELECT DISTINCT k, g FROM fact", {}),
    "sort": ("SELECT k, v, s FROM fact ORDER BY v DESC, k, s", {}),
    "top_n": ("SELECT k, v FROM fact ORDER BY v, k LIMIT 5000", {}),
    "window": ("SELECT k, v, row_number() OVER (PARTITION BY g ORDER BY v, k) AS rn, "
               "sum(v) OVER (PARTITION BY g) FROM fact", {}),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_spilling_operator_matches_duckdb_under_a_kilobyte_limit(data, name):
    sql, options = QUERIES[name]
    ordered = "ORDER BY" in sql and "OVER" not in sql and "string_agg" not in sql
    want = _duck(data, sql)
    with _connect(data, memory_limit="48KB", batch_size=512, **options) as con:
        got = con.execute(sql).fetchall()
        memory = con.session.last_memory
    if ordered:
        assert [tuple(r) for r in got] == [tuple(r) for r in want]
    else:
        assert _norm(got) == _norm(want)
    assert memory["spilled"] > 0                  # it did spill
    assert memory["peak"] <= 48 * 1024            # and held no more than the limit


def test_same_answers_without_a_limit(data):
    sql, options = QUERIES["distinct_aggregate"]
    with _connect(data, **options) as con:
        got = con.execute(sql).fetchall()
        assert con.session.last_memory["spilled"] == 0
    assert _norm(got) == _norm(_duck(data, sql))


def test_runaway_query_fails_and_the_connection_lives_on(data):
    with _connect(data, memory_limit="64KB") as con:
        with pytest.raises(MemoryLimitExceeded) as e:
            # one window partition (no PARTITION BY) of 20 000 rows cannot be split,
            # and a frame from CURRENT ROW to UNBOUNDED FOLLOWING does not stream
            con.execute("SELECT k, sum(v) OVER (ORDER BY v, k ROWS BETWEEN CURRENT ROW "
                        "AND UNBOUNDED FOLLOWING) FROM fact").fetchall()
        msg = str(e.value)
        assert "Window in stage" in msg and "bytes" in msg and "memory_limit 64.0 KiB" in msg
        assert isinstance(e.value, quiver.OperationalError)
        assert con.execute("SELECT count(*) FROM fact").fetchall() == [(N,)]
        assert con.session.queries[-2].state == "failed"
        from quiver.executor.memory import process_pool
        assert process_pool().query(con.session.current_ctx) is None


def test_distinct_state_larger_than_the_limit_is_the_documented_error(data):
    # a global DISTINCT with a FILTER runs in one phase and has no group key
    # to split its rows by
    sql = "SELECT count(DISTINCT v) FILTER (WHERE k >= 0), count(DISTINCT k) FROM fact"
    with _connect(data, memory_limit="48KB", batch_size=512) as con:
        with pytest.raises(MemoryLimitExceeded, match=r"HashAggregate \(single\) in stage"):
            con.execute(sql).fetchall()
        con.execute("SET memory_limit = '2MB'")
        assert con.execute(sql).fetchall() == _duck(data, sql)


def test_distinct_of_two_arguments_runs_in_two_phases_within_the_limit(data):
    # split per argument (optimizer/split_multiple_distinct_aggregates.py),
    # each DISTINCT groups by its value first: those aggregations spill
    sql = "SELECT count(DISTINCT v), count(DISTINCT k) FROM fact"
    with _connect(data, memory_limit="48KB", batch_size=512) as con:
        assert con.execute(sql).fetchall() == _duck(data, sql)


def test_nested_loop_join_over_the_limit_is_the_documented_error(data):
    with _connect(data, memory_limit="64KB") as con:
        with pytest.raises(MemoryLimitExceeded, match=r"HashJoin build.* in stage \d+ asked for \d+ bytes"):
            con.execute("SELECT count(*) FROM fact a, fact b WHERE a.v < b.v").fetchall()
        assert con.execute("SELECT 41 + 1").fetchall() == [(42,)]


def test_set_and_reset_memory_limit(data):
    with _connect(data) as con:
        assert con.session.memory_limit is None
        con.execute("SET memory_limit = '48KB'")
        assert con.session.memory_limit == 48 * 1024
        con.execute("SELECT k, v FROM fact ORDER BY v, k").fetchall()
        assert con.session.last_memory["spilled"] > 0
        con.execute("SET memory_budget = 1000000")          # the old name
        assert con.session.memory_limit == 1_000_000
        con.execute("RESET memory_limit")
        assert con.session.memory_limit is None
        with pytest.raises(quiver.ProgrammingError, match="cannot read memory size 'lots'"):
            con.execute("SET memory_limit = 'lots'")
        with pytest.raises(quiver.ProgrammingError, match="unknown setting 'memory_limitt'"):
            con.execute("SET memory_limitt = '1GB'")
        with pytest.raises(quiver.NotSupportedError):
            con.execute("SET memory_limit = (SELECT 1)")


def test_connect_options(data):
    with pytest.raises(quiver.ProgrammingError):
        quiver.connect(memory_limit="4 parsecs")
    assert quiver.connect(memory_budget=4 << 30).session.memory_limit == 4 << 30
    assert quiver.connect(memory_limit="4GB").session.memory_limit == 4 << 30


def test_spill_limit_stops_a_query(data):
    with _connect(data, memory_limit="48KB", spill_limit="8KB") as con:
        with pytest.raises(quiver.OperationalError, match="spill limit"):
            con.execute("SELECT k, v FROM fact ORDER BY v, k").fetchall()
        assert con.execute("SELECT count(*) FROM dim").fetchall() == [(1500,)]


def test_explain_analyze_shows_memory(data):
    with _connect(data, memory_limit="48KB", batch_size=512) as con:
        rows = con.execute("EXPLAIN ANALYZE SELECT k, v FROM fact ORDER BY v, k").fetchall()
    text = dict(rows)["analyzed_stages"]
    assert "peak_mem=" in text and "spilled=" in text
    assert "Sort" in text and "peak memory" in text
