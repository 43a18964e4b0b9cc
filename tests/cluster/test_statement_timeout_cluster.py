"""statement_timeout on a cluster: the limit travels with the session (connect
option or SET), a query over it is cancelled on its workers and fails with
QueryTimedOut, and the workers answer the next query."""

import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers
from quiver.errors import QueryTimedOut

N = 30_000
SLOW = "SELECT count(*) FROM t a JOIN t b ON a.v < b.v"     # seconds of nested-loop work


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("timeoutcluster")
    data = root / "t"
    os.makedirs(data)
    rng = np.random.default_rng(5)
    for i in range(2):
        pq.write_table(pa.table({"k": np.arange(i * N // 2, (i + 1) * N // 2),
                                 "v": rng.integers(0, 1_000_000, N // 2)}),
                       str(data / f"part-{i}.parquet"))
    with coordinator_with_workers(str(root), workers=2, slots=2) as (coord, procs):
        yield coord, str(data)


def _connect(coord, data, **options):
    con = quiver.connect(f"quiver://{coord.address}", private_catalog=True, **options)
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
    return con


def test_a_query_over_its_limit_stops_on_the_workers(cluster):
    coord, data = cluster
    with _connect(coord, data, statement_timeout="300ms") as con:
        started = time.monotonic()
        with pytest.raises(QueryTimedOut, match="statement_timeout = 300 ms"):
            con.execute(SLOW).fetchall()
        assert time.monotonic() - started < 60
        con.execute("SET statement_timeout = '2min'")   # a busy machine's next query may take 300 ms
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(N,)]


def test_set_travels_with_later_queries_and_reset_lifts_it(cluster):
    coord, data = cluster
    with _connect(coord, data) as con:
        con.execute("SET statement_timeout = '250ms'")
        with pytest.raises(QueryTimedOut, match="250 ms"):
            con.execute(SLOW).fetchall()
        con.execute("RESET statement_timeout")
        got = con.execute("SELECT count(*) FROM t a JOIN t b ON a.k = b.k").fetchall()
        assert got == [(N,)]
