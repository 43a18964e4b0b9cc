"""split_distinct_aggregates: DISTINCT aggregates of one argument run as a
group-by of (keys, argument) and then the plain aggregate; answers as
DuckDB's on the same file (NULL arguments and keys, empty input, no GROUP
BY), and left alone where the rewrite would be wrong."""

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.planner import logical as L
from quiver.planner.tree import walk


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    d = tmp_path_factory.mktemp("distinct")
    n = 5000
    x = [None if i % 13 == 0 else i % 97 for i in range(n)]
    g = [None if i % 17 == 0 else i % 3 for i in range(n)]
    path = str(d / "t.parquet")
    pq.write_table(pa.table({"g": pa.array(g, pa.int64()), "x": pa.array(x, pa.int64()),
                             "y": pa.array(range(n), pa.int64())}), path, row_group_size=700)
    c = quiver.connect(target_partitions=3)
    c.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{path}'")
    c.path = path
    yield c
    c.close()


QUERIES = [
    "SELECT count(DISTINCT x) FROM t",
    "SELECT count(DISTINCT x), sum(DISTINCT x), avg(DISTINCT x), min(DISTINCT x), "
    "max(DISTINCT x) FROM t",
    "SELECT g, count(DISTINCT x) FROM t GROUP BY g",
    "SELECT g, count(DISTINCT x) AS c FROM t GROUP BY g HAVING count(DISTINCT x) > 90",
    "SELECT count(DISTINCT x + 1) FROM t WHERE y < 1000",
    "SELECT count(DISTINCT x) FROM t WHERE y < 0",                      # empty input
    "SELECT g, count(DISTINCT x) FROM t WHERE y < 0 GROUP BY g",
    # split per argument first (split_multiple_distinct_aggregates.py)
    "SELECT g, count(DISTINCT x), count(*) FROM t GROUP BY g",
    "SELECT count(DISTINCT x), count(DISTINCT y) FROM t",
    "SELECT g, count(DISTINCT x), sum(DISTINCT y), avg(y) FROM t GROUP BY g",
    "SELECT g, count(DISTINCT x), count(DISTINCT y) FROM t WHERE y < 0 GROUP BY g",
    "SELECT count(DISTINCT x), count(DISTINCT y), count(*) FROM t WHERE y < 0",
]


def _sorted(rows):
    return sorted(rows, key=lambda r: tuple((v is None, v) for v in r))


@pytest.mark.parametrize("sql", QUERIES)
def test_answers_match_duckdb(con, sql):
    got = con.execute(sql).fetchall()
    want = _duck(con.path, sql)
    assert _sorted(got) == _sorted(want)


def _duck(path, sql):
    db = duckdb.connect()
    db.execute(f"CREATE VIEW t AS SELECT * FROM '{path}'")
    return db.execute(sql).fetchall()


def _aggregates(con, sql):
    from quiver.parser import bind
    [st] = bind(sql, con.session.catalog)
    logical, _, _ = con.session.plan_query(st.query)
    return [n for n in walk(logical) if isinstance(n, L.Aggregate)]


def test_the_distinct_values_are_grouped_first(con):
    top, pairs = _aggregates(con, "SELECT g, count(DISTINCT x), sum(DISTINCT x) FROM t GROUP BY g")
    assert not pairs.aggs and len(pairs.group_exprs) == 2
    assert [a.distinct for a in top.aggs] == [False, False]


@pytest.mark.parametrize("sql", [
    "SELECT count(DISTINCT x) FILTER (WHERE y > 3) FROM t",
    "SELECT string_agg(DISTINCT CAST(x AS VARCHAR), ',') FROM t",
])
def test_left_alone_when_not_every_aggregate_is_the_same_distinct_one(con, sql):
    [agg] = _aggregates(con, sql)
    assert any(a.distinct for a in agg.aggs)


@pytest.mark.parametrize("sql", [
    "SELECT g, count(DISTINCT x), count(*) FROM t GROUP BY g",
    "SELECT count(DISTINCT x), count(DISTINCT y) FROM t",
])
def test_distinct_of_several_arguments_or_with_plain_aggregates_is_split_per_argument(con, sql):
    """Each argument gets its own pair aggregation: no DISTINCT is left."""
    aggs = _aggregates(con, sql)
    assert len(aggs) >= 3 and not any(a.distinct for n in aggs for a in n.aggs)
