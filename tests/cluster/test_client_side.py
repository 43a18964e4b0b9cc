"""What a `quiver://` user sees of the coordinator's situation:

- a relative path in the client's SQL names a file where the *client* runs,
  even when the coordinator runs in another folder (a real `quiver
  coordinator` process started elsewhere);
- with no worker alive, system tables and constant queries answer, and a
  query that needs a worker fails at once with a message saying how to
  start one (not after the 60 s the coordinator allows for workers lost
  mid-query)."""

import os
import signal
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.cluster.coordinator import Coordinator
from quiver.cluster.worker import Worker


def test_relative_paths_resolve_where_the_client_runs(tmp_path, monkeypatch):
    client_dir, coord_dir = tmp_path / "client", tmp_path / "elsewhere"
    (client_dir / "data" / "t").mkdir(parents=True)
    coord_dir.mkdir()
    pq.write_table(pa.table({"x": [1, 2, 3]}), str(client_dir / "data" / "t" / "a.parquet"))
    env = {k: v for k, v in os.environ.items() if k not in ("QUIVER_CONNECT", "QUIVER_TOKEN")}
    coord = subprocess.Popen(
        [sys.executable, "-m", "quiver.cli", "coordinator", "--port", "0",
         "--state-dir", str(tmp_path / "state")],
        cwd=str(coord_dir), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, env=env, text=True)
    worker = None
    try:
        line = coord.stdout.readline()
        assert "quiver://" in line, line
        address = line.split("quiver://", 1)[1].split()[0]
        worker = Worker(address, slots=1, data_dir=str(tmp_path / "w"))
        worker.start()
        monkeypatch.chdir(client_dir)
        with quiver.connect(f"quiver://{address}") as con:
            con.execute("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION 'data/t'")
            assert con.execute("SELECT sum(x) FROM t").fetchall() == [(6,)]
            assert con.execute(
                "SELECT count(*) FROM read_parquet('data/t/*.parquet')").fetchall() == [(3,)]
            with pytest.raises(quiver.ProgrammingError, match="nowhere"):
                con.execute("SELECT * FROM read_parquet('nowhere/*.parquet')")
    finally:
        if worker is not None:
            worker.stop()
        coord.send_signal(signal.SIGTERM)
        try:
            coord.wait(30)
        except subprocess.TimeoutExpired:
            coord.kill()
            coord.wait(10)


def test_no_worker_system_tables_answer_and_queries_fail_fast(tmp_path):
    coord = Coordinator(port=0, state_dir=str(tmp_path / "coord"))   # default timeouts
    coord.start()
    try:
        with quiver.connect(f"quiver://{coord.address}") as con:
            assert con.execute("SELECT * FROM system.workers").fetchall() == []
            assert con.execute("SHOW SCHEMAS").fetchall() == [("main",), ("system",)]
            assert ("system.workers",) in con.execute("SHOW TABLES FROM system").fetchall()
            assert con.execute("SELECT count(*) FROM system.queries").fetchall()[0][0] >= 1
            assert con.execute("SELECT 6 * 7").fetchall() == [(42,)]
            con.register("t", pa.table({"x": [1, 2, 3]}))
            with pytest.raises(quiver.OperationalError) as e:
                con.execute("SELECT sum(x) FROM t")
            msg = str(e.value)
            assert "none is alive" in msg
            assert f"quiver worker --coordinator {coord.address}" in msg
            worker = Worker(coord.address, slots=1, data_dir=str(tmp_path / "w"))
            try:
                worker.start()
                assert con.execute("SELECT sum(x) FROM t").fetchall() == [(6,)]
                rows = con.execute("SELECT worker_id, state FROM system.workers").fetchall()
                assert rows == [(worker.worker_id, "alive")]
            finally:
                worker.stop()
    finally:
        coord.stop()
