"""avg() reads the sums of a sum() over the same argument and filter instead
of adding the values up twice; answers equal DuckDB's, partial/final and
spilled aggregates included."""

from __future__ import annotations

import decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver import datatypes as dt
from quiver.executor.operators.aggregate_accumulators import Avg, make_accumulators
from quiver.planner.expr import AggCall, Column, Literal


def test_an_avg_shares_only_a_matching_sum():
    x, y = Column("x", dt.decimal(15, 2)), Column("y", dt.INT64)
    cond = Column("c", dt.BOOL)
    aggs = [AggCall("sum", (x,), dt.decimal(38, 2)), AggCall("avg", (x,), dt.FLOAT64),
            AggCall("avg", (y,), dt.FLOAT64),
            AggCall("avg", (x,), dt.FLOAT64, filter=cond),
            AggCall("avg", (x,), dt.FLOAT64, distinct=True)]
    accs = make_accumulators(aggs)
    assert isinstance(accs[1], Avg) and accs[1].sum is accs[0] and not accs[1].owns_sum
    assert accs[2].owns_sum and accs[3].owns_sum
    assert not isinstance(accs[4], Avg)           # DISTINCT: its own accumulator


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("avgsum")
    n = 20000
    t = pa.table({
        "g": pa.array([i % 7 for i in range(n)], pa.int64()),
        "x": pa.array([None if i % 11 == 0 else decimal.Decimal(i % 1000) / 100
                       for i in range(n)], pa.decimal128(15, 2)),
        "y": pa.array([None if i % 13 == 0 else i * 3 for i in range(n)], pa.int64()),
        "f": pa.array([(i * 7) % 5 * 0.25 for i in range(n)], pa.float64()),
    })
    (d / "t").mkdir()
    pq.write_table(t, d / "t" / "t.parquet", row_group_size=3000)
    return d


QUERIES = [
    "SELECT g, sum(x), avg(x), avg(y), sum(y), count(*), avg(f), sum(f) FROM t GROUP BY g",
    "SELECT g, sum(x) FILTER (WHERE y > 100), avg(x), avg(x) FILTER (WHERE y > 100) "
    "FROM t GROUP BY g",
    "SELECT sum(x), avg(x), avg(DISTINCT x), sum(DISTINCT x) FROM t",
]


@pytest.mark.parametrize("memory_limit", [None, "64KB"])
@pytest.mark.parametrize("sql", QUERIES)
def test_answers_match_duckdb(data, sql, memory_limit):
    kw = {"memory_limit": memory_limit} if memory_limit else {}
    with quiver.connect(**kw) as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/t'")
        got = sorted(con.execute(sql).fetchall(), key=repr)
    duck = duckdb.connect()
    duck.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{data}/t/*.parquet')")
    want = sorted(duck.execute(sql).fetchall(), key=repr)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        for u, v in zip(a, b):
            if isinstance(v, float):
                assert u == pytest.approx(v, rel=1e-12)
            else:
                assert u == v
