"""Durability pieces without processes: the journal (write ahead, replay,
compaction), worker identity across coordinator restarts, restoring a
query's completed tasks, the exchange files, and the state folder lock."""

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.cluster import cluster_scheduler as CS
from quiver.cluster import identity, resume
from quiver.cluster.coordinator import Coordinator
from quiver.cluster.exchange import ExchangeFiles, held_outputs
from quiver.cluster.flight_shuffle import ShuffleFiles
from quiver.cluster.journal import Journal
from quiver.cluster.plan_wire import dag_from_bytes, dag_to_bytes
from quiver.cluster.proto import quiver_pb2 as pb
from quiver.parser import bind
from quiver.planner.physical_planner import PhysicalOptions
from quiver.session import Session


@pytest.fixture(scope="module")
def dag(tmp_path_factory):
    root = tmp_path_factory.mktemp("durable-dag")
    for t in ("a", "b"):
        os.makedirs(root / t)
        for i in range(2):
            pq.write_table(pa.table({"k": list(range(i * 50, i * 50 + 50)), "v": [1] * 50}),
                           str(root / t / f"f{i}.parquet"))
    # no runtime filter: the tests rely on both scan stages having no inputs
    s = Session(physical=PhysicalOptions(target_partitions=2, shuffle_partitions=3,
                                         join_strategy="partitioned", runtime_filter_rows=0))
    s.execute(f"CREATE EXTERNAL TABLE ta STORED AS PARQUET LOCATION '{root}/a'")
    s.execute(f"CREATE EXTERNAL TABLE tb STORED AS PARQUET LOCATION '{root}/b'")
    [st] = bind("SELECT count(*) FROM ta JOIN tb ON ta.k = tb.k", s.catalog)
    return s.plan_query(st.query)[2]


def test_journal_keeps_plans_outputs_and_answers_and_compacts(tmp_path, dag):
    path = str(tmp_path / "journal.sqlite")
    j = Journal(path)
    j.request_started("r1", "SELECT 1")
    j.query_started("q1", "r1", "SELECT ...", dag_to_bytes(dag), b"schema", 0, True)
    j.task_done("q1", 0, 0, 0, "w1", "w1", 10, 100)
    j.task_done("q1", 0, 1, 2, "w2", "w2", 11, 110)
    j.task_done("q1", 0, 1, 3, "w1", "w1", 11, 110)      # a rerun replaces the row
    j.worker_registered("w1", "inst", "grpc+tcp://h:1", 2, ["/d"])
    j.close()
    j = Journal(path)                                   # as after a restart
    [q] = j.queries()
    assert q["state"] == "running" and q["resumable"] == 1 and q["schema"] == b"schema"
    assert dag_from_bytes(q["plan"]) == dag
    assert j.outputs("q1") == [(0, 0, 0, "w1", "w1", 10, 100), (0, 1, 3, "w1", "w1", 11, 110)]
    assert j.workers() == [("w1", "inst", "grpc+tcp://h:1", 2, ["/d"])]
    assert j.requests() == [("r1", "SELECT 1", "running", None)]
    j.request_done("r1", b"answer")
    j.query_ended("q1", "cancelled", "cancelled", keep_until=123.0)
    assert j.query("q1")["keep_until"] == 123.0
    j.query_forget("q1")
    assert j.queries() == [] and j.outputs("q1") == []
    assert j.requests() == [("r1", "SELECT 1", "done", b"answer")]
    assert Journal(None).queries() == []                # --no-journal journals nothing


def _register(coord, name="", instance="i1", rejoin=False, held=(), address="grpc+tcp://h:1"):
    req = pb.RegisterWorkerRequest(protocol_version=1, name=name, flight_address=address,
                                   slots=2, instance=instance, rejoin=rejoin,
                                   held_outputs=[pb.TaskOutput(query_id=q, stage_id=s, task=t)
                                                 for q, s, t in held])
    with coord.cond:
        return identity.register(coord, req, 0.0)


@pytest.fixture
def coord(tmp_path):
    c = Coordinator(port=0, state_dir=str(tmp_path / "state"))
    yield c
    c.stop()


def test_worker_ids_never_collide_across_processes(coord):
    a, _ = _register(coord, instance="A")
    b, _ = _register(coord, instance="B")
    assert a != b and a.startswith("w1-") and b.startswith("w2-")
    # a worker of an earlier coordinator asks for its old id, which another
    # alive process now holds: it gets a fresh one, not the other's
    c, _ = _register(coord, name=a, instance="C", rejoin=True)
    assert c not in (a, b) and coord.scheduler.workers[a].instance == "A"
    assert not identity.owned_by(coord.scheduler.workers[a], "C")
    assert identity.owned_by(coord.scheduler.workers[a], "A")
    # a first registration with a taken name is a restarted process: it replaces it
    w1, _ = _register(coord, name="w1", instance="X")
    w1b, _ = _register(coord, name="w1", instance="Y")
    assert w1 == w1b == "w1" and coord.scheduler.workers["w1"].instance == "Y"


def test_a_rejoining_worker_keeps_the_outputs_it_still_holds(coord, dag):
    sched = coord.scheduler
    _register(coord, name="w1", instance="A")
    _register(coord, name="w2", instance="B", address="grpc+tcp://h:2")
    job = sched.submit("q1", dag, 0.0)
    for w in ("w1", "w2"):
        for launch in sched.assign(w, 1, 0.0):
            sched.task_finished(w, "q1", launch.task, True, 0.0)
    assert set(job.outputs.values()) == {"w1", "w2"}
    on_w1 = [k for k, w in job.outputs.items() if w == "w1"]
    # w1 comes back (same process) holding its output; w2 comes back without its output
    wid, drops = _register(coord, name="w1", instance="A", rejoin=True,
                           held=[("q1", s, p) for s, p in on_w1] + [("gone", 0, 0)])
    assert wid == "w1" and drops == ["gone"]
    assert all(job.outputs.get(k) == "w1" for k in on_w1)
    _register(coord, name="w2", instance="B", rejoin=True, address="grpc+tcp://h:2")
    assert "w2" not in job.outputs.values()
    lost = [k for k, st in job.sched.tasks.items() if st.status == "pending"]
    assert lost and all(k not in on_w1 for k in lost)


def test_restore_marks_journaled_tasks_done_where_outputs_exist(dag):
    sched = CS.ClusterScheduler()
    sched.add_worker("w1", "grpc+tcp://h:1", 2)
    lost = sched.add_worker("w9", "grpc+tcp://h:9", 2)
    lost.state = "lost"
    job = sched.submit("q1", dag, 0.0)
    rows = [(0, 0, 0, "w1", "w1", 5, 50), (0, 1, 1, "w9", "w9", 5, 50),
            (1, 0, 0, "w1", "w1", 5, 50)]
    assert resume.restore_outputs(sched, job, rows, 0.0) == 2
    assert job.sched.tasks[(0, 0)].status == "done" and job.outputs[(0, 0)] == "w1"
    assert job.sched.tasks[(0, 1)].status == "pending"          # its worker is gone
    assert [(a.stage, a.partition, a.state) for a in job.attempts] == \
        [(0, 0, "restored"), (1, 0, "restored")]
    ready = {(t.stage, t.partition) for t in job.sched.ready_tasks()}
    assert (0, 0) not in ready and (0, 1) in ready


def test_exchange_files_and_held_outputs(tmp_path):
    batch = pa.record_batch({"x": [1, 2, 3]})
    ex = ExchangeFiles(f"file://{tmp_path}/ex")
    ex.write("q1", 0, 1, 2, [batch])
    ex.write("q1", 0, 0, 2, [])
    assert ex.exists("q1", 0, 1, 2) and ex.exists("q1", 0, 0, 2)
    assert list(ex.read("q1", 0, 0, 2)) == []
    assert pa.Table.from_batches(list(ex.read("q1", 0, 1, 2))).column("x").to_pylist() == [1, 2, 3]
    assert ex.first_schema("q1", 0, 1, [2]) == batch.schema
    assert ex.queries() == ["q1"]
    ex.drop_query("q1")
    assert ex.queries() == []
    local = ShuffleFiles(str(tmp_path / "local"))
    local.write("q2", 3, 0, 1, [batch])
    local.write("q2", 3, 1, 1, [batch])
    local.write("q2", 4, 0, 0, [])
    assert held_outputs(local) == [("q2", 3, 1), ("q2", 4, 0)]
    assert held_outputs(ex) == []


def test_state_folder_is_persistent_and_locked(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIVER_HOME", str(tmp_path / "home"))
    assert resume.default_state_dir() == str(tmp_path / "home")
    c = Coordinator(port=0)
    try:
        assert c.state_dir == str(tmp_path / "home")
        with pytest.raises(quiver.OperationalError, match="in use by another coordinator"):
            Coordinator(port=0)
    finally:
        c.stop()
    Coordinator(port=0).stop()                           # free again once stopped


def test_resume_query_is_refused_where_it_cannot_work(coord):
    con = quiver.connect()
    with pytest.raises(quiver.NotSupportedError, match="needs a cluster"):
        con.execute("RESUME QUERY 'abc'")
    with pytest.raises(quiver.ProgrammingError, match="not a query id"):
        con.cursor().resume("a'b")
    with pytest.raises(quiver.ProgrammingError, match="no query 'nope' to resume"):
        resume.prepare_resume(coord, "nope")
