"""Nothing piles up and nothing bad is run: drops queued for a lost worker
are forgotten, shuffle files of finished, abandoned or superseded results
go, a worker wipes stale files when it registers and refuses tasks of a
dropped query, a plan that does not decode is refused (BAD_PLAN) while the
worker keeps serving, and `quiver worker` pointed at the wrong address
gives up with a clear message.

Coordinator and worker run in this process (the same code as the
commands) on 127.0.0.1, except the `quiver worker` command tests."""

import os
import socket
import subprocess
import sys
import threading
import time

import grpc
import pyarrow as pa
import pytest

import quiver
from cluster_fixtures import coordinator_and_worker, wait_for
from quiver.cluster import coordinator as coordinator_module
from quiver.cluster.cluster_scheduler import BAD_PLAN, CANCELLED
from quiver.cluster.coordinator import Coordinator
from quiver.cluster.flight_shuffle import ShuffleFiles, ShuffleFlightServer
from quiver.cluster.proto import quiver_pb2 as pb
from quiver.cluster.proto import quiver_pb2_grpc as rpc
from quiver.cluster.worker import Worker


@pytest.fixture
def small(tmp_path):
    with coordinator_and_worker(str(tmp_path), {"result_ttl": 3.0,
                                                "heartbeat_interval": 0.5}) as cw:
        yield cw


def _queries_on(worker):
    return worker.files.queries()


def test_drops_for_a_lost_worker_are_forgotten(tmp_path):
    coord = Coordinator(port=0, state_dir=str(tmp_path / "coord"), heartbeat_timeout=1.0,
                        heartbeat_interval=0.2)
    coord.start()
    try:
        stub = rpc.CoordinatorStub(grpc.insecure_channel(coord.address))
        for name in ("a", "b"):
            stub.RegisterWorker(pb.RegisterWorkerRequest(
                protocol_version=1, name=name, slots=1,
                flight_address="grpc+tcp://127.0.0.1:1"), timeout=10)
        coord.release("q1")
        with coord.cond:
            assert coord._drops == {"a": {"q1"}, "b": {"q1"}}

        def b_lost():
            stub.Heartbeat(pb.HeartbeatRequest(worker_id="a"), timeout=10)   # a stays
            with coord.cond:
                return coord.scheduler.workers["b"].state == "lost"
        wait_for(b_lost, 30, "worker b to be declared lost")
        with coord.cond:
            assert "b" not in coord._drops
        coord.release("q2")
        with coord.cond:
            assert coord._drops == {"a": {"q2"}}
        resp = stub.Heartbeat(pb.HeartbeatRequest(worker_id="a"), timeout=10)
        assert list(resp.drop_queries) == ["q2"]
    finally:
        coord.stop()


def test_heartbeat_long_poll_answers_as_soon_as_a_query_is_dropped(tmp_path):
    coord = Coordinator(port=0, state_dir=str(tmp_path / "coord"), heartbeat_timeout=120,
                        heartbeat_interval=60)
    coord.start()
    try:
        stub = rpc.CoordinatorStub(grpc.insecure_channel(coord.address))
        stub.RegisterWorker(pb.RegisterWorkerRequest(
            protocol_version=1, name="a", slots=1, flight_address="grpc+tcp://127.0.0.1:1"),
            timeout=10)
        timer = threading.Timer(0.2, coord.release, ["qz"])
        timer.start()
        t0 = time.monotonic()
        resp = stub.Heartbeat(pb.HeartbeatRequest(worker_id="a", wait_seconds=60), timeout=90)
        waited = time.monotonic() - t0
        timer.join()
        assert list(resp.drop_queries) == ["qz"]
        assert waited < 50, "the long poll ran to its end instead of answering the drop"
    finally:
        coord.stop()


def test_result_files_go_when_released_superseded_or_abandoned(small):
    coord, worker = small
    with quiver.connect(f"quiver://{coord.address}") as con:
        con.register("t", pa.table({"x": list(range(10))}))
        assert con.execute("SELECT sum(x) FROM t").fetchall() == [(45,)]
        wait_for(lambda: not _queries_on(worker), 30, "released result files to go")
    stub = rpc.CoordinatorStub(grpc.insecure_channel(coord.address))
    session = con.session.session_id
    # two SELECTs in one request: the first one's result is superseded
    resp = stub.ExecuteQuery(pb.ExecuteQueryRequest(
        session_id=session, sql="SELECT x FROM t WHERE x < 3; SELECT x FROM t WHERE x > 7",
        options_json="{}"), timeout=60)
    assert resp.ok and resp.rowcount == 2
    wait_for(lambda: _queries_on(worker) == [resp.query_id], 30,
             "the first SELECT's result to go and the second's to stay")
    # never released by its client: gone after result_ttl
    wait_for(lambda: not _queries_on(worker), 30, "an unreleased result to expire")


def test_a_worker_wipes_stale_files_and_refuses_tasks_of_dropped_queries(tmp_path):
    stale = ShuffleFiles(str(tmp_path / "w" / "shuffle"))
    stale.write("oldquery", 0, 0, 0, [pa.record_batch({"x": [1]})])
    coord = Coordinator(port=0, state_dir=str(tmp_path / "coord"))
    coord.start()
    worker = Worker(coord.address, slots=1, data_dir=str(tmp_path / "w"))
    try:
        worker.start()
        assert worker.files.queries() == []
        worker._drop("gone")
        status = worker.run_task(pb.TaskAssignment(query_id="gone", stage_id=0, partition=0,
                                                   stage_plan=b"{}"))
        assert not status.ok and status.reason == CANCELLED
        status = worker.run_task(pb.TaskAssignment(query_id="fresh", stage_id=0, partition=0,
                                                   stage_plan=b"\x00 not a plan"))
        assert not status.ok and status.reason == BAD_PLAN
        assert "cannot decode the stage plan" in status.error_message
        wid = worker.worker_id
        worker.stop()                          # says goodbye

        def left():
            with coord.cond:
                return coord.scheduler.workers[wid].state == "left"
        wait_for(left, 10, "the worker's goodbye")   # a loaded machine may be slow
    finally:
        worker.stop()
        coord.stop()


def test_a_plan_that_does_not_decode_is_refused_and_the_worker_keeps_serving(small,
                                                                             monkeypatch):
    coord, worker = small
    with quiver.connect(f"quiver://{coord.address}") as con:
        con.register("t", pa.table({"x": [1, 2, 3]}))
        monkeypatch.setattr(coordinator_module, "stage_to_bytes",
                            lambda stage: b'{"codec_version": 999}')
        with pytest.raises(quiver.InternalError, match="cannot decode the stage plan"):
            con.execute("SELECT sum(x) FROM t").fetchall()
        monkeypatch.undo()
        assert con.execute("SELECT sum(x) FROM t").fetchall() == [(6,)]
    with coord.cond:
        assert coord.scheduler.workers[worker.worker_id].state == "alive"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_worker(tmp_path, address, *extra):
    proc = subprocess.Popen(
        [sys.executable, "-m", "quiver.cli", "worker", "--coordinator", address,
         "--data-dir", str(tmp_path / "w"), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if k != "QUIVER_TOKEN"})
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return proc.returncode, out, err


def test_quiver_worker_with_no_coordinator_there_exits_with_a_message(tmp_path):
    t0 = time.monotonic()
    code, _, err = _run_worker(tmp_path, f"127.0.0.1:{_free_port()}", "--connect-timeout", "2")
    assert code == 1
    assert "cannot register with coordinator 127.0.0.1:" in err and "within 2 s" in err, err
    assert "Traceback" not in err
    assert time.monotonic() - t0 < 90


def test_quiver_worker_pointed_at_something_else_exits_with_a_message(tmp_path):
    server = ShuffleFlightServer(ShuffleFiles(str(tmp_path / "other")))
    try:
        address = server.address.split("://")[1]
        code, _, err = _run_worker(tmp_path, address, "--connect-timeout", "30")
    finally:
        server.shutdown()
    assert code == 1
    assert "is not a Quiver coordinator" in err, err
    assert "Traceback" not in err


def test_a_lost_task_report_does_not_hang_the_query(tmp_path):
    coord = Coordinator(port=0, state_dir=str(tmp_path / "coord"), heartbeat_interval=0.2,
                        lost_task_grace=1.0)
    coord.start()
    worker = Worker(coord.address, slots=2, data_dir=str(tmp_path / "w"))
    dropped = []
    real_report = worker.report

    def lossy_report(status):
        if not dropped and status.ok:
            dropped.append((status.query_id, status.stage_id, status.partition))
            return False                     # as if every retry had failed
        return real_report(status)
    worker.report = lossy_report
    try:
        worker.start()
        with quiver.connect(f"quiver://{coord.address}") as con:
            con.register("t", pa.table({"g": [1, 2, 1, 2], "x": [1, 2, 3, 4]}))
            assert con.execute("SELECT g, sum(x) FROM t GROUP BY g ORDER BY g").fetchall() == \
                [(1, 4), (2, 6)]
        [(qid, stage, part)] = dropped
        with coord.cond:
            job = coord.scheduler.finished[qid]
            mine = [(a.attempt, a.state) for a in job.attempts
                    if (a.stage, a.partition) == (stage, part)]
        assert mine == [(0, "failed"), (1, "succeeded")], mine
    finally:
        worker.stop()
        coord.stop()


def test_malformed_in_memory_tables_are_a_bad_plan(tmp_path):
    from quiver.cluster.plan_wire import stage_to_bytes
    from quiver.parser import bind
    from quiver.session import Session
    session = Session()
    session.catalog.register_table("m", pa.table({"x": [1, 2]}))
    [st] = bind("SELECT x FROM m", session.catalog)
    _, _, dag = session.plan_query(st.query)
    worker = Worker("127.0.0.1:1", slots=1, data_dir=str(tmp_path / "w"))
    try:
        status = worker.run_task(pb.TaskAssignment(
            query_id="q", stage_id=dag.stages[0].id, partition=0,
            stage_plan=stage_to_bytes(dag.stages[0]), memory_tables={"m": b"not arrow"}))
        assert not status.ok and status.reason == BAD_PLAN
        assert "in-memory tables" in status.error_message
    finally:
        worker.stop()


def test_a_result_the_coordinator_cannot_fetch_is_an_operational_error(small, monkeypatch):
    from pyarrow import flight
    coord, _ = small
    with quiver.connect(f"quiver://{coord.address}") as con:
        con.register("t", pa.table({"x": [1, 2, 3]}))

        def unreachable(address, ticket):
            raise flight.FlightUnavailableError("connection refused")
            yield
        monkeypatch.setattr(coord.clients, "fetch_result", unreachable)
        with pytest.raises(quiver.OperationalError, match="cannot fetch a result partition"):
            con.execute("CREATE TABLE u AS SELECT x FROM t")
        monkeypatch.undo()
        con.execute("CREATE TABLE u AS SELECT x FROM t")
        assert con.execute("SELECT sum(x) FROM u").fetchall() == [(6,)]


def test_a_missing_local_input_is_a_fetch_failure(tmp_path):
    from quiver.cluster.flight_shuffle import FetchFailed, FlightClients, FlightShuffleStore
    files = ShuffleFiles(str(tmp_path / "shuffle"))
    store = FlightShuffleStore(files, "q", "grpc+tcp://me:1", {0: (1, ["grpc+tcp://me:1"])},
                               FlightClients())
    with pytest.raises(FetchFailed, match="gone from this worker") as e:
        list(store.read(0, 0, None))
    assert e.value.address == "grpc+tcp://me:1"


def test_a_query_with_no_worker_alive_fails_instead_of_waiting_forever(tmp_path):
    coord = Coordinator(port=0, state_dir=str(tmp_path / "coord"), no_worker_timeout=1.0)
    coord.start()
    try:
        with quiver.connect(f"quiver://{coord.address}") as con:
            con.register("t", pa.table({"x": [1, 2, 3]}))
            with pytest.raises(quiver.OperationalError, match="no worker has joined"):
                con.execute("SELECT sum(x) FROM t").fetchall()
            worker = Worker(coord.address, slots=1, data_dir=str(tmp_path / "w"))
            try:
                worker.start()
                assert con.execute("SELECT sum(x) FROM t").fetchall() == [(6,)]
            finally:
                worker.stop()
    finally:
        coord.stop()
