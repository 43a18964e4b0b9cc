"""Killing a worker process mid-query: the coordinator declares it lost
(heartbeat timeout) or hears from a consumer that it does not answer
(FETCH_FAILED), reruns the tasks it was running and the outputs it held,
and the query still answers correctly.

Deterministic: the kill is aimed. The test waits (bounded) until the
victim runs a task of a non-final stage, freezes it (SIGSTOP) and, while it
is frozen and can change nothing, checks under the coordinator's lock that
the query cannot finish without that worker (it runs a non-final task, or
holds an output a stage that is not done still needs); only then SIGKILL.
If the check fails the victim is continued and the test aims again."""

import os
import signal
import threading

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers, wait_for, wait_stopped

QUERY = ("SELECT a.k % 7 AS g, count(*) AS n, sum(a.v * b.v) AS s "
         "FROM t a JOIN t b ON a.k = b.k GROUP BY g ORDER BY g")


@pytest.fixture(scope="module")
def join_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("loss-data")
    rng = np.random.default_rng(7)
    for i in range(6):
        n = 20_000
        pq.write_table(pa.table({"k": rng.integers(0, 3000, n), "v": rng.integers(0, 100, n)}),
                       str(root / f"part-{i}.parquet"))
    expected = duckdb.sql(QUERY.replace("FROM t a JOIN t b", "FROM '{0}' a JOIN '{0}' b".format(
        str(root / "*.parquet")))).fetchall()
    return str(root), expected


def _holds_needed_work(job, victim: str) -> bool:
    """True if `job` cannot finish without `victim` (called under coord.cond)."""
    if job.done:
        return False
    final = job.dag.final.id
    for att in job.current.values():
        if att.worker == victim and att.stage != final:
            return True
    for (s, _), wid in job.outputs.items():
        if wid == victim and any(not job.sched.stage_done(c.id) for c in job.dag.consumers(s)):
            return True
    return False


def test_killing_a_worker_mid_query_still_answers(tmp_path, join_data):
    location, expected = join_data
    with coordinator_with_workers(str(tmp_path), workers=3, slots=2, heartbeat_timeout=5,
                                  heartbeat_interval=0.5) as (coord, procs):
        address = f"quiver://{coord.address}"
        opts = dict(target_partitions=6, shuffle_partitions=12, batch_size=1024)
        with quiver.connect(address, **opts) as con:
            con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{location}'")
            assert con.execute(QUERY).fetchall() == expected      # warm up every worker
        victim, victim_proc = "w3", procs[2].popen
        killed = threading.Event()
        results, failures = [], []

        def run():
            try:
                with quiver.connect(address, **opts) as con2:
                    for _ in range(6):                # until the kill has landed
                        results.append(con2.execute(QUERY).fetchall())
                        if killed.is_set():
                            break
            except Exception as exc:  # noqa: BLE001 - reported by the assertions below
                failures.append(exc)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()

        def running_on_victim():
            with coord.cond:
                for job in coord.scheduler.jobs.values():
                    if not job.done and any(a.worker == victim and a.stage != job.dag.final.id
                                            for a in job.current.values()):
                        return job.query_id
            return None

        target = None
        for _ in range(20):
            wait_for(lambda: running_on_victim() or not thread.is_alive(), 60,
                     "a task running on the victim")
            if not thread.is_alive():
                break
            os.kill(victim_proc.pid, signal.SIGSTOP)
            wait_stopped(victim_proc.pid)
            with coord.cond:
                for job in coord.scheduler.jobs.values():
                    if _holds_needed_work(job, victim):
                        target = job.query_id
            if target is not None:
                os.kill(victim_proc.pid, signal.SIGKILL)
                victim_proc.wait(10)
                killed.set()
                break
            os.kill(victim_proc.pid, signal.SIGCONT)
        if target is None:
            killed.set()
            thread.join(120)
            pytest.skip("the queries always finished before the victim could be frozen "
                        "holding needed work (machine too fast for this query)")
        thread.join(180)
        assert not thread.is_alive(), "queries did not finish after a worker was killed"
        assert not failures, failures
        assert results and all(r == expected for r in results)
        with coord.cond:
            job = coord.scheduler.finished[target]
            reruns = [(a.stage, a.partition, a.attempt, a.worker) for a in job.attempts
                      if a.attempt > 0 and a.state == "succeeded"]
            states = {w.worker_id: w.state for w in coord.scheduler.workers.values()}
        assert reruns and all(w != victim for *_, w in reruns), job.attempts
        wait_for(lambda: coord.scheduler.workers[victim].state == "lost", 30,
                 "the victim to be declared lost")
        assert {k: v for k, v in states.items() if k != victim} == {"w1": "alive", "w2": "alive"}
        with quiver.connect(address, **opts) as con:
            assert con.execute(QUERY).fetchall() == expected
