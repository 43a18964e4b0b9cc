"""The coordinator plans broadcast joins for its cluster: a build side past
broadcast_rows is broadcast when the probe side outweighs its copies (one
per worker), but not when it would not fit in half of the smallest worker's
memory pool, nor in half of the query's own memory_limit."""

import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers

PROBE, SMALL, BIG = 300_000, 5_000, 50_000


def _table(folder, n: int) -> str:
    os.makedirs(folder)
    keys = np.arange(n, dtype=np.int64)
    for i in range(4):
        pq.write_table(pa.table({"k": keys[i::4]}), os.path.join(folder, f"part-{i}.parquet"))
    return str(folder)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("bcastchoice")
    tables = {name: _table(root / name, n)
              for name, n in (("a", PROBE), ("small", SMALL), ("big", BIG))}
    # 2MB pools: reservations may hold 1.6 MB, a broadcast build at most half:
    # SMALL's 5,000 keys (~140 KB in memory) fit, BIG's 50,000 (~1.4 MB) do not
    with coordinator_with_workers(str(root), workers=2, slots=2,
                                  worker_args=("--memory-limit", "2MB")) as (coord, procs):
        yield coord, tables


def _strategy(coord, tables, build: str, **options) -> str:
    with quiver.connect(f"quiver://{coord.address}", private_catalog=True,
                        broadcast_rows=100, **options) as con:
        for name, path in tables.items():
            con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{path}'")
        plan = "\n".join(str(r[1]) for r in con.execute(
            f"EXPLAIN SELECT count(*) FROM a JOIN {build} b ON a.k = b.k").fetchall())
    return re.findall(r"HashJoinExec: inner (\w+)", plan)[0]


def test_a_build_that_fits_every_worker_is_broadcast(cluster):
    coord, tables = cluster
    assert _strategy(coord, tables, "small") == "broadcast"    # 5,000 x 2 workers <= 300,000


def test_a_build_too_big_for_a_workers_pool_is_partitioned(cluster):
    coord, tables = cluster
    assert _strategy(coord, tables, "big") == "partitioned"


def test_the_querys_memory_limit_caps_it_too(cluster):
    coord, tables = cluster
    assert _strategy(coord, tables, "small", memory_limit="64KB") == "partitioned"
