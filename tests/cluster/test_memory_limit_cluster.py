"""The memory limit on a cluster: `quiver worker --memory-limit` sets each
worker's pool, a query's memory_limit (connect option or SET) travels with
its tasks, spilling on workers gives the right answer, a runaway query fails
with MemoryLimitExceeded naming operator and stage while the workers answer
the next query, and system.queries shows peak memory and spilled bytes."""

import os

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers
from quiver.errors import MemoryLimitExceeded

N = 20_000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("memcluster")
    data = root / "t"
    os.makedirs(data)
    rng = np.random.default_rng(3)
    for i in range(2):
        pq.write_table(pa.table({"k": rng.integers(0, 3000, N // 2),
                                 "v": rng.integers(0, 10_000, N // 2)}),
                       str(data / f"part-{i}.parquet"), row_group_size=2000)
    with coordinator_with_workers(str(root), workers=2, slots=2,
                                  worker_args=("--memory-limit", "256MB")) as (coord, procs):
        yield coord, str(data)


def _connect(coord, data, **options):
    con = quiver.connect(f"quiver://{coord.address}", private_catalog=True, **options)
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
    return con


def _duck(data, sql):
    return duckdb.connect().execute(sql.replace("FROM t", f"FROM read_parquet('{data}/*.parquet')")
                                    ).fetchall()


def test_spills_on_workers_and_answers_right(cluster):
    coord, data = cluster
    sql = "SELECT k, count(*), sum(v) FROM t GROUP BY k ORDER BY k"
    with _connect(coord, data, memory_limit="48KB", batch_size=512) as con:
        assert con.execute(sql).fetchall() == _duck(data, sql)
        rows = con.execute("SELECT sql, peak_memory, spilled_bytes FROM system.queries "
                           "WHERE state = 'finished'").fetchall()
    mine = [r for r in rows if r[0] == sql]
    assert mine and mine[-1][2] > 0 and 0 < mine[-1][1]


def test_set_memory_limit_travels_and_a_runaway_query_leaves_workers_alive(cluster):
    coord, data = cluster
    with _connect(coord, data) as con:
        con.execute("SET memory_limit = '64KB'")
        with pytest.raises(MemoryLimitExceeded, match=r"Window in stage \d+ asked for \d+ bytes"):
            # no PARTITION BY, and a frame to UNBOUNDED FOLLOWING that does not stream
            con.execute("SELECT k, sum(v) OVER (ORDER BY v, k ROWS BETWEEN CURRENT ROW "
                        "AND UNBOUNDED FOLLOWING) FROM t").fetchall()
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(N,)]
        con.execute("RESET memory_limit")
        got = con.execute("SELECT max(s) FROM (SELECT sum(v) OVER (ORDER BY v, k) AS s FROM t)")
        assert got.fetchall() == _duck(data, "SELECT sum(v) FROM t")


def test_worker_memory_limit_flag_is_checked():
    from quiver.cluster.commands import _size
    import argparse
    assert _size("8GB") == 8 << 30
    with pytest.raises(argparse.ArgumentTypeError):
        _size("eight gigs")
