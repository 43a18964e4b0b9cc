"""Cancelling a running query on a cluster, and clients that go away.

The query is a join whose output never ends in practice (two keys, 40 000
rows a side: 8e8 pairs), so only a cancel can end it. The coordinator's
heartbeat interval is set to 60 s: the workers must stop the query's tasks
well before a next periodic heartbeat could tell them (they hear it from
the heartbeat long poll at once), which the bounded waits below check. A cancelled SELECT keeps its outputs
for RESUME until the coordinator's retention time ends: 0 s here, so its
files go at once."""

import os
import threading
import time

import grpc
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers, wait_for
from quiver.cluster.proto import quiver_pb2 as pb
from quiver.cluster.proto import quiver_pb2_grpc as rpc

FOREVER = "SELECT count(*), sum(a.v + b.v) FROM t a JOIN t b ON a.k = b.k"
PROMPT = 30          # seconds: half the 60 s heartbeat interval


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cancel")
    data = root / "t"
    os.makedirs(data)
    for i in range(2):
        n = 20_000
        pq.write_table(pa.table({"k": np.arange(n) % 2, "v": np.arange(n)}),
                       str(data / f"part-{i}.parquet"))
    with coordinator_with_workers(str(root), workers=2, slots=2, heartbeat_interval=60,
                                  heartbeat_timeout=300, retention=0) as (coord, procs):
        with quiver.connect(f"quiver://{coord.address}") as con:
            con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
        yield coord, procs, str(root)


def _running_join(coord):
    """The query id of a job with a task running in a stage that reads a
    shuffle (the endless join), else None."""
    with coord.cond:
        for job in coord.scheduler.jobs.values():
            for att in job.current.values():
                if job.dag.stage(att.stage).inputs:
                    return job.query_id
    return None


def _tasks_ended(coord, query_id):
    """Every attempt of the query has been reported ended by its worker."""
    with coord.cond:
        job = coord.scheduler.finished.get(query_id) or coord.scheduler.jobs.get(query_id)
        return job is not None and query_id in coord.scheduler.finished and \
            all(a.state != "running" for a in job.attempts) and \
            not any(q == query_id for w in coord.scheduler.workers.values()
                    for (q, _, _) in w.running)


def _files_gone(root, query_id):
    return not any(os.path.exists(os.path.join(root, f"worker-{i}", "shuffle", query_id))
                   for i in (1, 2))


def test_cancel_from_another_thread(cluster):
    coord, _, root = cluster
    con = quiver.connect(f"quiver://{coord.address}", batch_size=4096)
    try:
        outcome = []

        def run():
            try:
                con.execute(FOREVER).fetchall()
                outcome.append("finished")
            except Exception as exc:  # noqa: BLE001 - checked below
                outcome.append(exc)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        qid = wait_for(lambda: _running_join(coord), 60, "the join to run on a worker")
        con.cancel()
        thread.join(PROMPT)
        assert not thread.is_alive(), "execute() did not return after cancel()"
        [exc] = outcome
        assert isinstance(exc, quiver.errors.QueryCancelled), exc
        assert isinstance(exc, quiver.OperationalError)
        wait_for(lambda: _tasks_ended(coord, qid), PROMPT, "the workers to stop the tasks")
        with coord.cond:
            states = {a.state for a in coord.scheduler.finished[qid].attempts}
        assert "cancelled" in states and "running" not in states, states
        wait_for(lambda: _files_gone(root, qid), PROMPT, "the query's shuffle files to go")
        assert con.execute("SELECT count(*), sum(v) FROM t").fetchall() == \
            [(40_000, 2 * sum(range(20_000)))]
        [(state,)] = con.execute("SELECT state FROM system.queries WHERE sql = ?",
                                 [FOREVER]).fetchall()
        assert state == "cancelled"
    finally:
        con.close()


def test_a_client_that_goes_away_mid_query_cancels_it(cluster):
    coord, _, root = cluster
    channel = grpc.insecure_channel(coord.address)
    stub = rpc.CoordinatorStub(channel)
    future = stub.ExecuteQuery.future(pb.ExecuteQueryRequest(
        session_id="gone", request_id="r-gone", sql=FOREVER, options_json="{}"))
    try:
        qid = wait_for(lambda: _running_join(coord), 60, "the join to run on a worker")
        future.cancel()
        channel.close()
        wait_for(lambda: _tasks_ended(coord, qid), PROMPT, "the workers to stop the tasks")
        wait_for(lambda: _files_gone(root, qid), PROMPT, "the query's shuffle files to go")
        with coord.cond:
            assert "r-gone" not in coord.requests
    finally:
        future.cancel()
        channel.close()
    with quiver.connect(f"quiver://{coord.address}") as con:
        assert con.execute("SELECT count(*) FROM t WHERE k = 1").fetchall() == [(20_000,)]


def test_a_cancel_that_arrives_before_its_query(cluster):
    coord, _, _ = cluster
    stub = rpc.CoordinatorStub(grpc.insecure_channel(coord.address))
    assert not stub.CancelQuery(pb.CancelQueryRequest(request_id="r-early"), timeout=10).found
    resp = stub.ExecuteQuery(pb.ExecuteQueryRequest(session_id="s", request_id="r-early",
                                                    sql=FOREVER, options_json="{}"), timeout=60)
    assert not resp.ok and resp.error_class == "QueryCancelled"
    resp = stub.ExecuteQuery(pb.ExecuteQueryRequest(session_id="s", request_id="r-later",
                                                    sql="SELECT 6 * 7", options_json="{}"),
                             timeout=60)
    assert resp.ok


def test_a_worker_told_to_stop_mid_task_exits(cluster):
    """SIGTERM while a task of an endless join runs: the worker stops the
    task, tells the coordinator it leaves, and exits 0 instead of waiting for
    the task (runs last: it ends a worker)."""
    coord, procs, _ = cluster
    con = quiver.connect(f"quiver://{coord.address}", batch_size=4096)
    try:
        outcome = []

        def run():
            try:
                con.execute(FOREVER).fetchall()
            except Exception as exc:  # noqa: BLE001 - checked below
                outcome.append(exc)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        wait_for(lambda: _running_join(coord), 60, "the join to run on a worker")

        def busy_worker():
            # a join task still running 3 s after it started is one of the
            # endless ones (the other partitions are empty and end at once)
            with coord.cond:
                now = time.monotonic()
                for job in coord.scheduler.jobs.values():
                    for att in job.current.values():
                        if job.dag.stage(att.stage).inputs and now - att.started > 3:
                            return att.worker
        wid = wait_for(busy_worker, 60, "a worker running an endless join task")
        proc = procs[int(wid[1:]) - 1].popen
        proc.terminate()
        try:
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        # it said goodbye: no waiting for the 300 s heartbeat timeout
        with coord.cond:
            assert coord.scheduler.workers[wid].state == "left"
        con.cancel()
        thread.join(PROMPT)
        assert not thread.is_alive() and isinstance(outcome[0], quiver.errors.QueryCancelled)
    finally:
        con.close()
