"""`quiver.connect("local[N]")` starts and stops real processes; `quiver
local` serves until SIGTERM; the catalog survives a coordinator restart."""

import os
import signal
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

import quiver
from quiver.cluster.lifeline import child_env
from quiver.cluster.coordinator import Coordinator
from quiver.cluster.worker import Worker


def test_connect_local_starts_and_stops_processes():
    con = quiver.connect("local[2]", worker_slots=1)
    cluster = con.session.owned
    pids = cluster.pids
    try:
        assert len(pids) == 3
        con.register("t", pa.table({"g": [1, 2, 1, 2, 3], "x": [1, 2, 3, 4, 5]}))
        assert con.execute("SELECT g, sum(x) FROM t GROUP BY g ORDER BY g").fetchall() == \
            [(1, 4), (2, 6), (3, 5)]
        assert con.execute("SELECT count(*) FROM system.workers WHERE state = 'alive'"
                           ).fetchall() == [(2,)]
    finally:
        con.close()
    for p in cluster.coordinator, *cluster.workers:
        assert p.popen.poll() is not None


def test_quiver_local_command_serves_until_sigterm(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "quiver.cli", "local", "--workers", "1",
                             "--slots", "1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.PIPE, env=child_env(dict(os.environ)), text=True)
    try:
        line = proc.stdout.readline()          # bounded by the command's own start timeout
        assert "quiver://" in line, line
        address = line.split("quiver://")[1].split()[0]
        with quiver.connect(f"quiver://{address}") as con:
            assert con.execute("SELECT 6 * 7").fetchall() == [(42,)]
            assert con.execute("SELECT worker_id FROM system.workers").fetchall() == [("w1",)]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0


def test_catalog_survives_a_coordinator_restart(tmp_path):
    data = tmp_path / "data" / "t"
    os.makedirs(data)
    pq.write_table(pa.table({"x": [1, 2, 3]}), str(data / "p.parquet"))
    state = str(tmp_path / "state")
    coord = Coordinator(port=0, state_dir=state)
    coord.start()
    worker = Worker(coord.address, slots=1, data_dir=str(tmp_path / "w1"))
    try:
        worker.start()
        with quiver.connect(f"quiver://{coord.address}") as con:
            con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
            con.execute("CREATE VIEW v AS SELECT x * 10 AS y FROM t")
            con.register("mem", pa.table({"z": [7]}))
    finally:
        worker.stop()
        coord.stop()
    coord = Coordinator(port=0, state_dir=state)
    coord.start()
    worker = Worker(coord.address, slots=1, data_dir=str(tmp_path / "w2"))
    try:
        worker.start()
        with quiver.connect(f"quiver://{coord.address}") as con:
            assert con.execute("SHOW TABLES").fetchall() == [("mem",), ("t",), ("v",)]
            assert con.execute("SELECT sum(y) FROM v").fetchall() == [(60,)]
            assert con.execute("SELECT z FROM mem").fetchall() == [(7,)]
    finally:
        worker.stop()
        coord.stop()
