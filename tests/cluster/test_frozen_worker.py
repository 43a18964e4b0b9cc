"""A frozen worker (SIGSTOP: its sockets stay open, nothing answers) cannot
hang its consumers: a Flight fetch that receives nothing for the stall
timeout (--fetch-timeout) fails, a consumer task whose fetch stalls reports FETCH_FAILED, and the
coordinator reruns the frozen worker's outputs elsewhere. The heartbeat
timeout is 300 s here, so losing the worker is not what saves the query.

Deterministic: the test gates the in-process coordinator's scheduler. When
the victim reports its first finished producer task, no task is handed to
anyone until the victim is idle and frozen; the victim gets nothing after
that. So the consumer stage must read the victim's output from a frozen
process. The workers fetch over Flight (--no-host-local-reads): on one
host they would otherwise read the frozen worker's files from its folder,
which is test_host_local_reads.py's case."""

import os
import signal
import threading

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import flight

import quiver
from cluster_fixtures import coordinator_with_workers, wait_for, wait_stopped
from quiver.cluster import cluster_scheduler as CS
from quiver.cluster.client import ResultLost
from quiver.cluster.flight_shuffle import FetchFailed, FlightClients, FlightShuffleStore, \
    ShuffleFiles, make_ticket

QUERY = "SELECT k % 5 AS g, count(*) AS n, sum(v) AS s FROM t GROUP BY g ORDER BY g"
FETCH_TIMEOUT = 4.0


@pytest.fixture(scope="module")
def frozen_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("frozen")
    data = root / "t"
    os.makedirs(data)
    rng = np.random.default_rng(3)
    for i in range(6):
        pq.write_table(pa.table({"k": rng.integers(0, 1000, 5000), "v": rng.integers(0, 9, 5000)}),
                       str(data / f"part-{i}.parquet"))
    expected = duckdb.sql(QUERY.replace("FROM t", f"FROM '{data}/*.parquet'")).fetchall()
    with coordinator_with_workers(str(root), workers=3, slots=2, heartbeat_timeout=300,
                                  worker_args=("--fetch-timeout", str(FETCH_TIMEOUT),
                                               "--no-host-local-reads")) as cw:
        yield cw, str(root), str(data), expected


def test_consumers_of_a_frozen_worker_fail_over(frozen_setup):
    (coord, procs), root, data, expected = frozen_setup
    victim, victim_proc = "w3", procs[2].popen
    sched = coord.scheduler
    gate_closed = threading.Event()      # nobody gets tasks
    excluded = threading.Event()         # the victim never gets tasks again
    orig_assign, orig_finished = sched.assign, sched.task_finished

    def assign(worker_id, free_slots, now, *args):
        if gate_closed.is_set() or (excluded.is_set() and worker_id == victim):
            return []
        return orig_assign(worker_id, free_slots, now, *args)

    def task_finished(worker_id, query_id, task, ok, now, **kw):
        job = sched.jobs.get(query_id)
        if (worker_id == victim and ok and not excluded.is_set() and job is not None
                and task.stage != job.dag.final.id):
            excluded.set()
            gate_closed.set()
        return orig_finished(worker_id, query_id, task, ok, now, **kw)

    sched.assign, sched.task_finished = assign, task_finished
    con = quiver.connect(f"quiver://{coord.address}", target_partitions=6, shuffle_partitions=6)
    try:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
        outcome = []

        def run():
            try:
                outcome.append(con.execute(QUERY).fetchall())
            except Exception as exc:  # noqa: BLE001 - checked below
                outcome.append(exc)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        wait_for(gate_closed.is_set, 60, "the victim to finish a producer task")

        def victim_idle():
            with coord.cond:
                return not sched.workers[victim].running
        wait_for(victim_idle, 60, "the victim to become idle")
        os.kill(victim_proc.pid, signal.SIGSTOP)
        wait_stopped(victim_proc.pid)
        with coord.cond:
            [job] = sched.jobs.values()
            held = [(s, p) for (s, p), w in job.outputs.items() if w == victim]
            assert held and not sched.workers[victim].running
            assert any(not job.sched.stage_done(c.id)
                       for s, _ in held for c in job.dag.consumers(s))
            gate_closed.clear()
            coord.cond.notify_all()
        thread.join(120)
        assert not thread.is_alive(), "the query hung on a frozen worker"
        assert outcome == [expected]
        attempts = job.attempts
        fetch_failures = [a for a in attempts if a.state == "failed"
                          and "fetch stall" in (a.error or "") and a.why == "fetch stall"]
        assert fetch_failures, [(a.state, a.error, a.why, a.worker) for a in attempts if a.state != "succeeded"]
        reruns = [a for a in attempts if a.attempt > 0 and a.state == "succeeded"
                  and (a.stage, a.partition) in held]
        assert reruns and all(a.worker != victim for a in reruns), attempts
        assert sched.workers[victim].state == "alive"      # not the heartbeat timeout
    finally:
        sched.assign, sched.task_finished = orig_assign, orig_finished
        con.close()


def test_fetches_from_a_frozen_worker_time_out(frozen_setup):
    """The bare data plane: a shuffle read and a client result fetch from a
    SIGSTOPped worker end with FetchFailed / ResultLost, not a hang."""
    (coord, procs), root, _, _ = frozen_setup
    proc = procs[1].popen
    files = ShuffleFiles(os.path.join(root, "worker-2", "shuffle"))
    files.write("frozen1", 0, 0, 0, [pa.record_batch({"x": list(range(1000))})])
    with coord.cond:
        address = coord.scheduler.workers["w2"].address
    healthy = FlightClients()
    clients = FlightClients(timeout=1.0)
    ticket = make_ticket("frozen1", 0, 0, [0])
    assert sum(b.num_rows for b in healthy.fetch(address, ticket)) == 1000
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        wait_stopped(proc.pid)
        with pytest.raises(flight.FlightTimedOutError):
            list(clients.fetch(address, ticket))
        store = FlightShuffleStore(files, "frozen1", "elsewhere", {0: (1, [address])}, clients)
        with pytest.raises(FetchFailed, match="fetch stall") as e:
            list(store.read(0, 0, None))
        assert e.value.address == address
        con = quiver.connect(f"quiver://{coord.address}", fetch_timeout=1.0)
        try:
            from quiver.cluster.proto import quiver_pb2 as pb
            from quiver.cluster.tables_wire import schema_to_bytes
            resp = pb.ExecuteQueryResponse(
                schema=schema_to_bytes(pa.schema([("x", pa.int64())])),
                partitions=[pb.ResultPartition(address=address, ticket=ticket, rows=1000)])
            with pytest.raises(ResultLost, match="cannot fetch a result partition"):
                con.session._fetch(resp)
        finally:
            con.close()
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert sum(b.num_rows for b in healthy.fetch(address, ticket)) == 1000
    assert CS.FETCH_FAILED in CS.RETRYABLE
