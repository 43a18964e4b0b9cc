"""A runtime filter on a cluster: the probe stage's tasks on the workers
read the build stage's whole output from other workers, filter, and the
answer is DuckDB's; the plan travels through the codec."""

import os

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers

OPTIONS = {"join_strategy": "partitioned", "shuffle_partitions": 4, "target_partitions": 4}
SQL = ("SELECT d.g, count(*), sum(f.v) FROM fact f JOIN dim d ON f.k = d.k "
       "WHERE d.g < 3 GROUP BY d.g")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("rtcluster")
    rng = np.random.default_rng(2)
    for name, n in (("fact", 40_000), ("dim", 2_000)):
        os.makedirs(root / name)
    for i in range(4):
        pq.write_table(pa.table({"k": rng.integers(0, 2000, 10_000), "v": rng.integers(0, 9, 10_000)}),
                       str(root / "fact" / f"p{i}.parquet"))
    pq.write_table(pa.table({"k": np.arange(2000), "g": np.arange(2000) % 40}),
                   str(root / "dim" / "p.parquet"))
    return root


def test_runtime_filter_on_workers(data):
    duck = duckdb.connect()
    for name in ("fact", "dim"):
        duck.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{data}/{name}/*.parquet')")
    want = sorted(duck.execute(SQL).fetchall())
    with coordinator_with_workers(str(data / "cluster"), workers=2, slots=2) as (coord, procs):
        with quiver.connect(f"quiver://{coord.address}", **OPTIONS) as con:
            for name in ("fact", "dim"):
                con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET "
                            f"LOCATION '{data}/{name}'")
            plan = "\n".join(str(r[-1]) for r in con.execute("EXPLAIN " + SQL).fetchall())
            assert "RuntimeFilterExec" in plan
            assert sorted(con.execute(SQL).fetchall()) == want
