"""A scan's range filters on integer and date columns are estimated from the
Parquet min/max (the share of the span they keep), and a broadcast join's
build side must fit in half of what the query may hold."""

import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.parser import bind
from quiver.planner import logical as L
from quiver.planner import physical as P
from quiver.planner.physical_planner import build_memory, estimate_bytes
from quiver.planner.statistics import estimate_rows
from quiver.planner.tree import walk

N = 10_000
START = datetime.date(2020, 1, 1)


def _write(folder, table, parts=4):
    """`parts` files, so a scan has several partitions (a join of two
    one-partition inputs is never broadcast)."""
    folder.mkdir()
    step = table.num_rows // parts
    for i in range(parts):
        pq.write_table(table.slice(i * step, step), folder / f"part-{i}.parquet")


@pytest.fixture
def con(tmp_path):
    days = pa.array([START + datetime.timedelta(days=i % 1000) for i in range(N)], pa.date32())
    _write(tmp_path / "t", pa.table({"k": pa.array(range(1, N + 1), pa.int64()), "d": days,
                                     "s": pa.array([str(i % 7) for i in range(N)])}))
    _write(tmp_path / "u", pa.table({"k": pa.array(range(1, N + 1), pa.int64()),
                                     "v": pa.array(range(N), pa.int64())}))
    c = quiver.connect()
    for name in ("t", "u"):
        c.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{tmp_path / name}'")
    yield c
    c.close()


def _plans(con, sql):
    [st] = bind(sql, con.session.catalog)
    logical, physical, _ = con.session.plan_query(st.query)
    return logical, physical


def _scan_rows(con, where):
    logical, _ = _plans(con, f"SELECT k FROM t WHERE {where}")
    [scan] = [n for n in walk(logical) if isinstance(n, L.Scan)]
    return estimate_rows(scan)


@pytest.mark.parametrize("where,rows", [
    ("k <= 2500", 2500), ("k > 9000", 1000), ("2500 >= k", 2500),
    ("k BETWEEN 1001 AND 3000", 2000), ("k >= 1001 AND k < 3001", 2000),
    ("k > 20000", 1), ("k < 100000", N),
    ("d < DATE '2020-01-01' + INTERVAL 250 DAY", 2500),
    ("d >= DATE '2022-03-27'", 1840),      # days 816..999, 10 rows each
])
def test_ranges_keep_their_share_of_the_min_max_span(con, where, rows):
    assert _scan_rows(con, where) == pytest.approx(rows, rel=0.01, abs=1)


def test_other_filters_keep_the_share_of_a_sample(con):
    # strings have no integer span, an equality is not a range: the
    # optimizer measures them on sampled rows (sample_scan_filters)
    assert _scan_rows(con, "s < '3'") == pytest.approx(N * 3 / 7, rel=0.05)
    assert _scan_rows(con, "k = 5") < 10
    # the range from the min/max span, the equality from the sample
    assert _scan_rows(con, "k <= 2500 AND s = '1'") == pytest.approx(2500 / 7, rel=0.05)


def _strategy(con, memory_limit):
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.session.physical.broadcast_rows = 100        # past it: the memory rule decides
    con.session.physical.target_partitions = 2
    _, physical = _plans(con, "SELECT t.s, sum(u.v) FROM t JOIN u ON t.k = u.k "
                              "WHERE u.v < 2000 GROUP BY t.s")
    [join] = [n for n in walk(physical) if isinstance(n, P.HashJoinExec)]
    return join.mode


def test_a_broadcast_build_must_fit_half_the_querys_memory(con):
    # the build (u, 2,000 rows of 16 bytes: 32 KB, ~160 KB in memory) is
    # broadcast when that is at most half of what the query may hold
    # (8MB: 6.4 MB; 256KB: 204 KB)
    assert _strategy(con, "8MB") == "broadcast"
    assert _strategy(con, "256KB") == "partitioned"
    logical, _ = _plans(con, "SELECT * FROM u WHERE v < 2000")
    assert estimate_bytes(logical) == pytest.approx(2000 * 16)
    assert build_memory(logical) == pytest.approx(2000 * (16 + 64))     # narrow rows: per row
    wide, _ = _plans(con, "SELECT * FROM t")
    assert build_memory(wide) == pytest.approx(estimate_bytes(wide) * 3.5)   # wide: per byte
    logical, _ = _plans(con, "SELECT s, d, k, [k] AS l FROM t")     # a string's bytes are a guess
    assert estimate_bytes(logical) == pytest.approx(N * (24 + 4 + 8 + 16))


def test_the_answer_is_the_same_either_way(con):
    sql = "SELECT t.s, sum(u.v) FROM t JOIN u ON t.k = u.k WHERE u.v < 2000 GROUP BY t.s ORDER BY 1"
    con.session.physical.broadcast_rows = 100
    con.session.physical.target_partitions = 2
    big = con.execute(sql).fetchall()
    con.execute("SET memory_limit = '256KB'")
    assert con.execute(sql).fetchall() == big
