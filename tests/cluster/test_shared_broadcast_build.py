"""A broadcast hash join on a cluster builds its build side once per worker
per query: the worker's tasks of the probe stage share it (cluster/worker.py,
cluster/task_builds.py), the answer equals DuckDB's, and when the query is
dropped the worker frees the build and its memory pool is back to holding
nothing. Real coordinator and worker processes on loopback; what a worker
did is read from the line it logs when it frees a query's builds."""

import os
import re

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers, wait_for

FILES = 8
FREED = re.compile(r"query (\S+): freed (\d+) shared broadcast build\(s\), used by (\d+) "
                   r"task\(s\); the memory pool holds (\d+) bytes")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("bcast")
    fact, dim = root / "fact", root / "dim"
    os.makedirs(fact)
    os.makedirs(dim)
    rng = np.random.default_rng(5)
    for i in range(FILES):
        pq.write_table(pa.table({"k": rng.integers(0, 5000, 4000), "v": rng.integers(0, 100, 4000)}),
                       str(fact / f"part-{i}.parquet"))
    pq.write_table(pa.table({"k": np.arange(0, 5000, 2),
                             "name": [f"n{i}" for i in range(2500)]}), str(dim / "d.parquet"))
    with coordinator_with_workers(str(root), workers=2, slots=2) as (coord, procs):
        yield coord, procs, str(root), str(fact), str(dim)


def _freed(root: str, query_id: str) -> list[tuple[int, int, int]]:
    """(builds, uses, pool bytes) from each worker's log line for the query."""
    out = []
    for i in (1, 2):
        with open(os.path.join(root, "logs", f"worker-{i}.log")) as f:
            for m in FREED.finditer(f.read()):
                if m.group(1) == query_id:
                    out.append((int(m.group(2)), int(m.group(3)), int(m.group(4))))
    return out


def test_broadcast_build_is_built_once_per_worker_and_freed_with_the_query(cluster):
    coord, procs, root, fact, dim = cluster
    sql = ("SELECT f.k, f.v, d.name FROM fact f JOIN dim d ON f.k = d.k "
           "WHERE f.v < 90 ORDER BY f.k, f.v, d.name")
    with quiver.connect(f"quiver://{coord.address}", private_catalog=True,
                        join_strategy="broadcast", split_bytes=1) as con:
        con.execute(f"CREATE EXTERNAL TABLE fact STORED AS PARQUET LOCATION '{fact}'")
        con.execute(f"CREATE EXTERNAL TABLE dim STORED AS PARQUET LOCATION '{dim}'")
        got = con.execute(sql).fetchall()
        [(query_id,)] = con.execute(
            f"SELECT query_id FROM system.queries WHERE sql = '{sql}'").fetchall()
        tasks = con.execute(
            f"SELECT stage, worker_id FROM system.tasks WHERE query_id = '{query_id}' "
            "AND state = 'succeeded'").fetchall()
    want = duckdb.connect().execute(
        sql.replace("FROM fact f", f"FROM read_parquet('{fact}/*.parquet') f")
           .replace("JOIN dim d", f"JOIN read_parquet('{dim}/*.parquet') d")).fetchall()
    assert got == want and len(got) > 0

    per_stage: dict[int, list[str]] = {}
    for stage, worker in tasks:
        per_stage.setdefault(stage, []).append(worker)
    probe = max(per_stage.values(), key=len)           # the fact scan and the join
    assert len(probe) == FILES
    workers = set(probe)
    assert max(probe.count(w) for w in workers) >= 2   # a worker ran several of them

    freed = wait_for(lambda: len(_freed(root, query_id)) == len(workers)
                     and _freed(root, query_id), 30,
                     f"the workers to free query {query_id}'s builds")
    assert [b for b, _, _ in freed] == [1] * len(workers)   # once per worker
    assert sum(u for _, u, _ in freed) == FILES              # every probe task used one
    assert [held for _, _, held in freed] == [0] * len(workers)
