"""Results stream to the client: fetch_record_batches / fetchmany / iteration
read while the query runs, holding a bounded window (executor/result_window.py),
and closing a cursor mid-stream stops the query and leaves the connection usable."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.errors import DataError

ROWS = 3_000_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "t.parquet"
    t = pa.table({"a": np.arange(ROWS, dtype=np.int64),
                  "b": np.random.default_rng(1).random(ROWS),
                  "c": np.arange(ROWS, dtype=np.int64) % 97})
    pq.write_table(t, path, row_group_size=100_000)
    return str(path)


def _connect(path, **options):
    con = quiver.connect(**options)
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{path}'")
    return con


def test_large_result_streams_in_bounded_memory(big):
    sql = "SELECT a, b, a + c AS d FROM t"
    # the stream holds its window plus the batches in flight (a few per
    # task): batches of 64 Ki rows keep those well under a third of the result
    with _connect(big, result_window=1 << 20, batch_size=1 << 16) as con:
        full = con.execute(sql).fetch_arrow_table()
        full_bytes = full.nbytes
        expected = (full.num_rows, pc.sum(full["d"]).as_py(), pc.sum(full["a"]).as_py())
        del full
        base = pa.total_allocated_bytes()
        cur = con.execute(sql)
        assert cur.rowcount == -1                  # not known while it runs
        peak, rows, sum_d, sum_a = 0, 0, 0, 0
        for batch in cur.fetch_record_batches():
            rows += batch.num_rows
            sum_d += pc.sum(batch["d"]).as_py()
            sum_a += pc.sum(batch["a"]).as_py()
            peak = max(peak, pa.total_allocated_bytes() - base)
        assert (rows, sum_d, sum_a) == expected
        assert cur.rowcount == ROWS                # known after the full fetch
        # the whole result is ~69 MiB; the stream held a small part of it
        assert peak < full_bytes / 3, (peak, full_bytes)


def test_fetchmany_matches_fetchall_across_partitions(big):
    sql = "SELECT c, count(*) AS n, sum(a) AS s FROM t WHERE a % 7 = 0 GROUP BY c ORDER BY c"
    with _connect(big, result_window=256) as con:    # a window smaller than one batch
        everything = con.execute(sql).fetchall()
        cur = con.execute(sql)
        got = []
        while chunk := cur.fetchmany(10):
            got.extend(chunk)
        assert got == everything and len(got) == 97
        unordered = "SELECT a, c FROM t WHERE a % 1000 = 3"
        cur = con.execute(unordered)
        cur.arraysize = 77
        assert sorted(cur) == sorted(con.execute(unordered).fetchall())
        assert cur.rowcount == ROWS // 1000


def test_close_mid_stream_stops_the_query(big):
    with _connect(big, result_window=1 << 20) as con:
        cur = con.execute("SELECT a, b FROM t")
        it = cur.fetch_record_batches()
        first = next(it)
        assert first.num_rows > 0
        session = con.session
        cur.close()
        assert session.queries[-1].state == "cancelled"
        assert session.current_ctx is None
        with pytest.raises(quiver.InterfaceError):
            cur.fetchone()
        # the connection answers the next queries, streamed or not
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(ROWS,)]
        cur2 = con.execute("SELECT a FROM t WHERE a < 5 ORDER BY a")
        assert cur2.fetchall() == [(i,) for i in range(5)]
        # a new execute on a cursor mid-stream drops the old result first
        cur3 = con.execute("SELECT a FROM t")
        cur3.fetchmany(3)
        cur3.execute("SELECT 41 + 1")
        assert cur3.fetchall() == [(42,)]


def test_closing_the_connection_stops_open_streams(big):
    con = _connect(big, result_window=1 << 20)
    cur = con.execute("SELECT a FROM t")
    cur.fetchmany(5)
    session = con.session
    con.close()
    assert session.queries[-1].state == "cancelled"


def test_error_mid_stream_is_a_quiver_error(big):
    with _connect(big, result_window=1 << 16) as con:
        # the division by zero happens at the last rows, after the first window
        with pytest.raises(DataError):
            cur = con.execute(f"SELECT a // (a - {ROWS - 1}) AS q FROM t")
            for _ in cur.fetch_record_batches():
                pass
        assert con.execute("SELECT 1").fetchall() == [(1,)]
        assert con.session.queries[-2].state == "failed"


def test_small_results_are_complete_after_execute(big):
    with _connect(big) as con:
        cur = con.execute("SELECT c FROM t WHERE a < 3 ORDER BY a")
        assert cur.rowcount == 3                   # finished inside the window
        assert cur.description[0][0] == "c"
        assert cur.fetch_arrow_table().column("c").to_pylist() == [0, 1, 2]
