"""An operator the pool refuses, then grants (`grow` reclaims cheap buffers
and waits for other tasks before it gives up), must keep what it asked
for. The fuzzer found a window that dropped the batch it was granted at
its last spill level (rows lost, row_number wrong under tiny_memory); the
aggregate and the join have the same shape. Here every `try_grow` is
refused and every `grow` granted, so each operator takes its deepest path."""

import pyarrow as pa
import pyarrow.parquet as pq
import numpy as np
import pytest

import quiver
from quiver.executor import memory

QUERIES = {
    "window": "SELECT sum(rn), count(*) FROM (SELECT row_number() OVER (PARTITION BY k) rn FROM t) x",
    "global aggregate": "SELECT count(*), sum(rid), length(string_agg(s, ',')) FROM t",
    "grouped distinct": "SELECT count(*), sum(n) FROM (SELECT k, count(DISTINCT s) n FROM t GROUP BY k) x",
    "join": "SELECT count(*), sum(a.rid) FROM t a JOIN t b ON a.k = b.k AND a.s = b.s",
    "sort": "SELECT sum(rid * pos) FROM (SELECT rid, row_number() OVER (ORDER BY v) pos FROM t) x",
}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("granted")
    rng = np.random.default_rng(5)
    n = 3000
    k = rng.integers(0, 40, n)
    pq.write_table(pa.table({"k": k, "s": pa.array([f"w{x % 9}" for x in rng.integers(0, 50, n)]),
                             "v": rng.random(n), "rid": np.arange(n)}),
                   str(folder / "t.parquet"), row_group_size=500)
    return str(folder / "t.parquet")


def _answer(path, sql):
    con = quiver.connect(batch_size=64, shuffle_partitions=3)
    try:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{path}'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_refused_then_granted_keeps_every_row(table, name, monkeypatch):
    expected = _answer(table, QUERIES[name])
    original_try_grow = memory.Reservation.try_grow

    def granted(self, n):           # what grow does after reclaiming and waiting
        if not original_try_grow(self, n):
            raise AssertionError("the test's pool itself refused")

    monkeypatch.setattr(memory.Reservation, "try_grow", lambda self, n: int(n) <= 0)
    monkeypatch.setattr(memory.Reservation, "grow", granted)
    assert _answer(table, QUERIES[name]) == expected
