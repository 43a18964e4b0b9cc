"""RESUME QUERY / cursor.resume: a cancelled SELECT keeps its completed stage
outputs on the workers (system.queries says until when), and resuming it
runs only the stages that had not finished; and a lost worker that never
returns leaves system.workers after --lost-worker-ttl.

Real `quiver worker` processes on 127.0.0.1, the coordinator in this process
(so the test can see its scheduler); every wait bounded."""

import os
import signal
import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers, wait_for

N = 8000           # rows: a 32-million-pair join, seconds of work, so a cancel lands in it
JOIN = "SELECT count(*), sum(a.v + b.v) FROM t a JOIN t b ON a.k = b.k"


def _expected():
    v = np.concatenate([np.arange(N // 2)] * 2)
    k = v % 2
    count = total = 0
    for key in (0, 1):
        vs = v[k == key]
        count += len(vs) ** 2
        total += 2 * len(vs) * int(vs.sum())
    return [(count, total)]


def _join_running(coord):
    """The query id once its scans are complete and a join task runs."""
    with coord.cond:
        for job in coord.scheduler.jobs.values():
            scans = [s.id for s in job.dag.stages if not s.inputs]
            if (scans and all(job.sched.stage_done(s) for s in scans)
                    and any(job.dag.stage(a.stage).inputs for a in job.current.values())):
                return job.query_id
    return None


def test_resume_after_cancel_runs_only_the_unfinished_stages(tmp_path):
    data = tmp_path / "t"
    os.makedirs(data)
    for i in range(2):
        v = np.arange(N // 2)
        pq.write_table(pa.table({"k": v % 2, "v": v}), str(data / f"part-{i}.parquet"))
    with coordinator_with_workers(str(tmp_path), workers=2, slots=1) as (coord, _):
        con = quiver.connect(f"quiver://{coord.address}")
        try:
            con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
            cur = con.cursor()
            out = {}

            def run():
                try:
                    cur.execute(JOIN)
                except quiver.Error as exc:
                    out["error"] = exc
            t = threading.Thread(target=run, daemon=True)
            t.start()
            qid = wait_for(lambda: _join_running(coord), 60, "the join stage to run")
            con.cancel()
            t.join(60)
            assert not t.is_alive()
            assert isinstance(out.get("error"), quiver.errors.QueryCancelled), out
            assert cur.query_id == qid
            with coord.cond:
                first = coord.scheduler.finished[qid]
                scans = {(a.stage, a.partition) for a in first.attempts
                         if a.state == "succeeded" and not first.dag.stage(a.stage).inputs}
            assert scans
            [(state, resumable, until)] = con.execute(
                "SELECT state, resumable, resumable_until FROM system.queries "
                "WHERE query_id = ?", [qid]).fetchall()
            assert state == "cancelled" and resumable and until is not None

            resumed = con.cursor().resume(qid)
            assert resumed.fetchall() == _expected()
            assert resumed.query_id == qid
            records = con.execute("SELECT stage, task, state FROM system.tasks "
                                  "WHERE query_id = ?", [qid]).fetchall()
            for key in scans:                       # the scans were not run again
                assert [st for s, p, st in records if (s, p) == key] == ["restored"], key
            assert any(st == "succeeded" for _, _, st in records)
            [(resumable,)] = con.execute("SELECT resumable FROM system.queries "
                                         "WHERE query_id = ?", [qid]).fetchall()
            assert not resumable
            with pytest.raises(quiver.ProgrammingError, match="no query"):
                con.cursor().resume(qid)            # finished and released: gone
        finally:
            con.close()


def test_a_lost_worker_that_never_returns_leaves_system_workers(tmp_path):
    with coordinator_with_workers(str(tmp_path), workers=2, slots=1, heartbeat_timeout=1.0,
                                  lost_worker_ttl=3.0) as (coord, procs):
        os.kill(procs[1].popen.pid, signal.SIGKILL)
        procs[1].popen.wait(10)

        def state():
            with coord.cond:
                w = coord.scheduler.workers.get("w2")
                return w.state if w is not None else "gone"
        wait_for(lambda: state() in ("lost", "gone"), 30, "w2 to be declared lost")
        assert state() == "lost"               # listed as lost for a while first
        with quiver.connect(f"quiver://{coord.address}") as con:
            def workers():
                return con.execute("SELECT worker_id, state FROM system.workers").fetchall()
            wait_for(lambda: workers() == [("w1", "alive")], 30, "w2 to leave system.workers")
