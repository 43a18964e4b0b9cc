"""Window calls with no PARTITION BY under a kilobyte memory limit: the
input is spilled and the calls are computed in a streaming pass in window
order (executor/operators/window_stream.py). Each supported function and
frame gives the unlimited (in-memory) answer and DuckDB's, and really
spills; what cannot stream is still MemoryLimitExceeded naming the operator,
and the connection answers the next query.

The table has 50 000 rows, ties in the ORDER BY key `k` (about ten rows a
value, and a peer group of NULLs) and NULLs in the arguments; `id` is unique,
so functions whose answer depends on the order of ties order by (k, id)."""

from __future__ import annotations

import decimal
import math
import os

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.errors import MemoryLimitExceeded

N = 50_000
LIMIT = "48KB"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("window_stream")
    rng = np.random.default_rng(11)
    t = pa.table({
        "id": pa.array(rng.permutation(N), pa.int64()),
        "k": pa.array(rng.integers(0, 5000, N), pa.int64(), mask=rng.random(N) < 0.003),
        "v": pa.array(rng.integers(-1000, 1000, N), pa.int64(), mask=rng.random(N) < 0.05),
        "f": pa.array(rng.random(N) * 100, pa.float64(), mask=rng.random(N) < 0.05),
        "d": pa.array([decimal.Decimal(int(x)).scaleb(-2) for x in rng.integers(-10**6, 10**6, N)],
                      pa.decimal128(12, 2)),
        "s": pa.array([f"s{x:03d}" for x in rng.integers(0, 400, N)]),
        "b": pa.array(rng.random(N) < 0.9, pa.bool_(), mask=rng.random(N) < 0.05),
    })
    os.makedirs(root / "t")
    pq.write_table(t, str(root / "t" / "part.parquet"), row_group_size=5000)
    return str(root)


def _connect(data, **options):
    con = quiver.connect(**options)
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/t'")
    return con


def _duck(data, sql):
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{data}/t/*.parquet')")
    return con.execute(sql).fetchall()


def _same(got, want) -> bool:
    """Rows equal after sorting (every query selects the unique id first);
    floats and decimals compared as floats, closely."""
    if len(got) != len(want):
        return False
    key = lambda r: tuple((x is None, x) if not isinstance(x, (float, decimal.Decimal))
                          else (x is None, 0) for x in r[:1])
    for a, b in zip(sorted(got, key=key), sorted(want, key=key)):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if isinstance(x, (float, decimal.Decimal)) or isinstance(y, (float, decimal.Decimal)):
                if x is None or y is None:
                    if x is not y:
                        return False
                elif not math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-6):
                    return False
            elif x != y:
                return False
    return True


QUERIES = {
    "row_number": "SELECT id, row_number() OVER (ORDER BY k, id) FROM t",
    "rank_dense_rank": "SELECT id, rank() OVER (ORDER BY k), "
                       "dense_rank() OVER (ORDER BY k DESC NULLS FIRST) FROM t",
    "percent_rank_cume_dist": "SELECT id, percent_rank() OVER (ORDER BY k), "
                              "cume_dist() OVER (ORDER BY k) FROM t",
    "ntile": "SELECT id, ntile(7) OVER (ORDER BY k, id), ntile(1000) OVER (ORDER BY k, id) FROM t",
    "range_running_sum": "SELECT id, sum(v) OVER (ORDER BY k) FROM t",
    "range_running_aggregates": (
        "SELECT id, count(v) OVER w, count(*) OVER w, avg(v) OVER w, min(v) OVER w, "
        "max(f) OVER w, sum(d) OVER w, sum(f) OVER w FROM t "
        "WINDOW w AS (ORDER BY k RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"),
    "rows_running_aggregates": (
        "SELECT id, sum(v) OVER w, sum(f) OVER w, sum(d) OVER w, avg(d) OVER w, count(v) OVER w, "
        "min(s) OVER w, max(s) OVER w FROM t "
        "WINDOW w AS (ORDER BY k, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"),
    "bool_running": "SELECT id, bool_and(b) OVER (ORDER BY k), bool_or(NOT b) OVER (ORDER BY k) "
                    "FROM t",
    "running_to_following_and_preceding": (
        "SELECT id, sum(v) OVER (ORDER BY k, id ROWS BETWEEN UNBOUNDED PRECEDING AND 3 FOLLOWING), "
        "count(v) OVER (ORDER BY k, id ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING), "
        "max(v) OVER (ORDER BY k, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) FROM t"),
    "whole_partition": "SELECT id, sum(v) OVER (), count(*) OVER (), avg(d) OVER (), "
                       "min(s) OVER (), max(f) OVER (), count(v) OVER () FROM t",
    "whole_frame_with_order": (
        "SELECT id, sum(f) OVER w, first_value(v) OVER w, last_value(v) OVER w, max(v) OVER w "
        "FROM t WINDOW w AS (ORDER BY k, id ROWS BETWEEN UNBOUNDED PRECEDING "
        "AND UNBOUNDED FOLLOWING)"),
    "first_last_value": "SELECT id, first_value(v) OVER (ORDER BY k, id), "
                        "last_value(v) OVER (ORDER BY k, id), "
                        "first_value(s) OVER (ORDER BY k, id ROWS UNBOUNDED PRECEDING) FROM t",
    "lag_lead": "SELECT id, lag(v) OVER (ORDER BY k, id), lead(v, 3, -1) OVER (ORDER BY k, id), "
                "lag(s, 2) OVER (ORDER BY k, id), lead(f) OVER (ORDER BY k, id) FROM t",
    "sliding_rows": (
        "SELECT id, sum(v) OVER (ORDER BY k, id ROWS BETWEEN 3 PRECEDING AND 2 FOLLOWING), "
        "min(v) OVER (ORDER BY k, id ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING), "
        "count(*) OVER (ORDER BY k, id ROWS BETWEEN 5 PRECEDING AND 1 PRECEDING), "
        "last_value(v) OVER (ORDER BY k, id ROWS BETWEEN 1 FOLLOWING AND 4 FOLLOWING) FROM t"),
    "several_orders": "SELECT id, row_number() OVER (ORDER BY k, id), "
                      "sum(v) OVER (ORDER BY v, id), count(*) OVER (), "
                      "rank() OVER (ORDER BY s DESC) FROM t",
    "no_order_row_number": "SELECT count(*), sum(rn), min(rn), max(rn) "
                           "FROM (SELECT row_number() OVER () AS rn FROM t) x",
}


@pytest.fixture(scope="module")
def unlimited(data):
    with _connect(data) as con:
        yield con


@pytest.mark.parametrize("name", list(QUERIES))
def test_streams_under_a_kilobyte_limit(data, unlimited, name):
    sql = QUERIES[name]
    with _connect(data, memory_limit=LIMIT, batch_size=512) as con:
        got = con.execute(sql).fetchall()
        memory = con.session.last_memory
    assert memory["spilled"] > 0                          # it did spill
    assert memory["peak"] <= 48 * 1024                    # within the limit
    in_memory = unlimited.execute(sql).fetchall()
    assert unlimited.session.last_memory["spilled"] == 0
    assert _same(got, in_memory)
    assert _same(got, _duck(data, sql))


def test_unsupported_frame_is_the_documented_error(data):
    sql = ("SELECT id, sum(v) OVER (ORDER BY k ROWS BETWEEN CURRENT ROW "
           "AND UNBOUNDED FOLLOWING) FROM t")
    with _connect(data, memory_limit=LIMIT, batch_size=512) as con:
        with pytest.raises(MemoryLimitExceeded) as e:
            con.execute(sql).fetchall()
        assert isinstance(e.value, quiver.OperationalError)
        assert "Window in stage" in str(e.value)
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(N,)]
        # a query that streams runs next on the same connection
        got = con.execute("SELECT id, rank() OVER (ORDER BY k) FROM t").fetchall()
        assert _same(got, _duck(data, "SELECT id, rank() OVER (ORDER BY k) FROM t"))


def test_what_streams():
    from quiver.executor.operators.window_stream import _kind
    from quiver.planner.expr import Column, Literal, SortKey, WindowCall, WindowFrame

    x = Column("x", pa.int64())
    order = (SortKey(x),)

    def call(fn, frame=None, args=(x,), order_by=order, partition_by=()):
        return WindowCall(fn, args, partition_by, order_by, frame, pa.int64())

    assert _kind(call("row_number", args=())).kind == "rank"
    assert _kind(call("sum")).peers                       # RANGE to CURRENT ROW
    assert _kind(call("sum", WindowFrame("rows", None, 0))).kind == "running"
    assert _kind(call("sum", order_by=())).kind == "total"
    assert _kind(call("lag", args=(x, Literal(4, pa.int64())))).back == 4
    assert _kind(call("sum", WindowFrame("rows", -3, 2))).ahead == 2
    # refused: PARTITION BY, a non-constant lag offset, RANGE offsets,
    # CURRENT ROW .. UNBOUNDED FOLLOWING, nth_value from UNBOUNDED PRECEDING
    assert _kind(call("sum", partition_by=(x,))) is None
    assert _kind(call("lag", args=(x, x))) is None
    assert _kind(call("sum", WindowFrame("range", -5, 0))) is None
    assert _kind(call("sum", WindowFrame("rows", 0, None))) is None
    assert _kind(call("nth_value", args=(x, Literal(2, pa.int64())))) is None


def test_a_peer_group_larger_than_memory_is_the_documented_error(data):
    # RANGE to CURRENT ROW holds a whole peer group: ORDER BY b has ~43 000 ties
    with _connect(data, memory_limit=LIMIT, batch_size=512) as con:
        with pytest.raises(MemoryLimitExceeded, match=r"Window \(streaming\) in stage \d+"):
            con.execute("SELECT id, sum(v) OVER (ORDER BY b) FROM t").fetchall()
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(N,)]
