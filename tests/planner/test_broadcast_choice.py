"""When a join's build side is broadcast: up to broadcast_rows always; above
it, in one process (the embedded engine) when the probe side is at least
target_partitions times larger (building once on one core then costs less
than hash-partitioning both sides across the cores); when tasks run in many
processes (a cluster), when the probe side is at least as many times larger
as there are processes receiving and building it (at least 2)."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver

SQL = "SELECT count(*) FROM a JOIN b ON a.k = b.k"


def _table(folder, keys: list[int]) -> str:
    """Four files, so the scan has several partitions."""
    folder.mkdir()
    for i in range(4):
        pq.write_table(pa.table({"k": keys[i::4]}), folder / f"part-{i}.parquet")
    return str(folder)


def _strategy(tmp_path, one_process: bool, cores: int, processes: int = 1) -> tuple[str, list]:
    con = quiver.connect(broadcast_rows=10, target_partitions=cores)
    con.session.physical.one_process = one_process
    con.session.physical.processes = processes
    a = _table(tmp_path / "a", list(range(3000)))             # probe side
    b = _table(tmp_path / "b", list(range(0, 2000, 2)))       # build side, 1000 rows
    con.execute(f"CREATE EXTERNAL TABLE a STORED AS PARQUET LOCATION '{a}'")
    con.execute(f"CREATE EXTERNAL TABLE b STORED AS PARQUET LOCATION '{b}'")
    plan = "\n".join(str(r[1]) for r in con.execute("EXPLAIN " + SQL).fetchall())
    found = re.findall(r"HashJoinExec: inner (\w+)", plan)
    return found[0], con.execute(SQL).fetchall()


@pytest.mark.parametrize("cores, expected", [(2, "broadcast"), (3, "broadcast"),
                                             (4, "partitioned")])
def test_one_process_broadcasts_while_the_build_is_cheaper_than_a_shuffle(tmp_path, cores, expected):
    strategy, rows = _strategy(tmp_path, True, cores)
    assert strategy == expected            # 1000 x cores against 3000 probe rows
    assert rows == [(1000,)]


@pytest.mark.parametrize("processes, expected", [(1, "broadcast"), (2, "broadcast"),
                                                 (3, "broadcast"), (4, "partitioned")])
def test_many_processes_broadcast_while_the_probe_side_outweighs_the_copies(
        tmp_path, processes, expected):
    # each process receives the 1000 build rows and builds them once
    strategy, rows = _strategy(tmp_path, False, 8, processes)
    assert strategy == expected            # 1000 x max(2, processes) against 3000
    assert rows == [(1000,)]
