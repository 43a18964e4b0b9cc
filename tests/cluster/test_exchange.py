"""`--exchange URI`: stage outputs on shared storage outlive their worker.

A TPC-H query (SF 0.01) runs on two `quiver worker` processes; once its
first stage is complete the test freezes the coordinator, SIGKILLs worker
w1 (which produced some of those outputs), and lets the coordinator go on:
the query completes with the right answer and no task that had completed
runs again (system.tasks: one attempt each). Once with a shared folder,
once with S3 served by `moto` in server mode on 127.0.0.1 (started and
stopped by the test).

Slow (process starts): run with
    QUIVER_DURABILITY_TESTS=1 python -m pytest tests/cluster/test_exchange.py
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import quiver
from cluster_fixtures import wait_for
from durable_fixtures import cluster, free_port, stage_done
from quiver.tpch import check
from quiver.tpch.datagen import table_dirs
from quiver.tpch.querylib import query_text

pytestmark = pytest.mark.skipif(not os.environ.get("QUIVER_DURABILITY_TESTS"),
                                reason="slow: set QUIVER_DURABILITY_TESTS=1")

N = 21
ATTEMPTS = 6


def _client(address, out):
    try:
        with quiver.connect(f"quiver://{address}") as con:
            cur = con.execute(query_text(N))
            out["names"] = [d[0] for d in cur.description]
            out["rows"] = cur.fetchall()
            out["query_id"] = cur.query_id
    except Exception as exc:  # noqa: BLE001 - reported by the test
        out["error"] = exc


def _kill_a_worker_after_the_first_stage(c):
    for _ in range(ATTEMPTS):
        out: dict = {}
        t = threading.Thread(target=_client, args=(c.address, out), daemon=True)
        t.start()
        fired = None
        deadline = time.monotonic() + 60
        while t.is_alive() and time.monotonic() < deadline and fired is None:
            found = c.running_query()
            if found is not None:
                qid, dag = found
                if stage_done(dag, c.done_tasks(qid), dag.stages[0].id):
                    c.signal_coordinator(signal.SIGSTOP)
                    done = c.journal("SELECT stage, part, worker_id, location FROM outputs "
                                     "WHERE query_id = ?", (qid,))
                    if (not stage_done(dag, {(s, p) for s, p, _, _ in done}, dag.final.id)
                            and any(w == "w1" for _, _, w, _ in done)):
                        fired = (qid, dag, done)
                        os.kill(c.workers[0].popen.pid, signal.SIGKILL)
                    c.signal_coordinator(signal.SIGCONT)
            time.sleep(0.002)
        t.join(120)
        assert not t.is_alive(), "the client got no answer"
        if fired:
            return out, *fired
    pytest.fail(f"the moment never came in {ATTEMPTS} runs")


def _run(root, tpch_sf001, exchange_args, listing, worker_env=None):
    with cluster(root, workers=2, slots=1, worker_env=worker_env,
                 coordinator_args=("--heartbeat-timeout", "2", *exchange_args)) as c:
        with quiver.connect(f"quiver://{c.address}") as con:
            for name, location in table_dirs(tpch_sf001).items():
                con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET "
                            f"LOCATION '{location}'")
            con.execute(query_text(N)).fetchall()           # warm the numba caches
        out, qid, dag, done = _kill_a_worker_after_the_first_stage(c)
        assert "error" not in out, out.get("error")
        result = check.check_query(0.01, N, out["names"], out["rows"])
        assert result.ok, result.message
        assert {loc for _, _, _, loc in done} == {"exchange"}
        with quiver.connect(f"quiver://{c.address}") as con:
            records = con.execute("SELECT stage, task, state, worker_id FROM system.tasks "
                                  "WHERE query_id = ?", [qid]).fetchall()
            # lost once its heartbeats are missed (2 s): the query may end sooner
            wait_for(lambda: con.execute("SELECT state FROM system.workers WHERE "
                                         "worker_id = 'w1'").fetchall() == [("lost",)],
                     30, "w1 to be seen as lost")
        for s, p, w, _ in done:
            runs = [(st, wid) for ss, pp, st, wid in records if (ss, pp) == (s, p)]
            assert runs == [("succeeded", w)], ((s, p), runs)   # never rerun
        # released queries' outputs are deleted from the exchange
        wait_for(lambda: not listing(), 30, "the exchange to be emptied")
        print(f"{len(done)} outputs complete at the kill, "
              f"{sum(w == 'w1' for _, _, w, _ in done)} of them from the killed w1")


def test_sigkilled_worker_costs_no_recomputation_with_a_shared_folder(tmp_path, tpch_sf001):
    shared = tmp_path / "exchange"
    _run(str(tmp_path), tpch_sf001, ("--exchange", str(shared)),
         lambda: [f for _, _, files in os.walk(shared) for f in files])


def test_sigkilled_worker_costs_no_recomputation_with_s3(tmp_path, tpch_sf001):
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)     # moto's request log
    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        import s3fs
        endpoint = f"http://127.0.0.1:{port}"
        fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint)
        fs.mkdir("quiver-exchange")
        env = {"AWS_DEFAULT_REGION": "us-east-1"}

        def listing():
            fs.invalidate_cache()
            return fs.find("quiver-exchange/run")
        _run(str(tmp_path), tpch_sf001,
             ("--exchange", "s3://quiver-exchange/run",
              "--exchange-option", f"endpoint_url={endpoint}",
              "--exchange-option", "key=testing", "--exchange-option", "secret=testing"),
             listing, worker_env=env)
    finally:
        server.stop()
