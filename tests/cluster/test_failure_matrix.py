"""The failure matrix: TPC-H queries with at least three stages (Q3, Q9, Q18,
Q21 at SF 0.01) on a real coordinator and three `quiver worker --chaos`
processes, each run with one injected fault (chaos.py) at one stage
position. Every answer must equal the failure-free one; an injected user
error must fail the query cleanly, without a retry.

A short sample runs by default. The whole matrix (4 queries x 7 kinds x 3
positions) is one command (README "Tests"):

    QUIVER_FAILURE_MATRIX=1 python -m pytest -s tests/cluster/test_failure_matrix.py

and prints a result table (query, fault, stage, outcome, seconds, attempts
and how they ended). Between cells, dead workers are restarted and frozen
ones continued (by PID), and the test waits (bounded) until all three are
alive again.
"""

import math
import os
import signal
import sys
import time

import pytest

import quiver
from cluster_fixtures import process_state, wait_for
from quiver import errors
from quiver.cluster.chaos import Fault
from quiver.cluster.chaos_command import inject
from quiver.cluster.client import _Proc
from quiver.cluster.coordinator import Coordinator
from quiver.tpch.datagen import table_dirs
from quiver.tpch.querylib import query_text

QUERIES = (3, 9, 18, 21)
KINDS = {                     # matrix name -> (fault kind, seconds)
    "task error": ("fail-task", 0.0),
    "worker SIGKILL": ("kill", 0.0),
    "worker SIGSTOP": ("freeze", 0.0),
    "slow worker": ("slow", 2.0),
    "shuffle file deleted": ("delete-shuffle", 0.0),
    "shuffle file corrupted": ("corrupt-shuffle", 0.0),
    "fetch stall": ("fetch-stall", 8.0),
}
POSITIONS = ("leaf", "intermediate", "final")
HEARTBEAT_TIMEOUT = 3.0
STALL_TIMEOUT = 2.0
FULL = os.environ.get("QUIVER_FAILURE_MATRIX") == "1"
RESULTS: list[tuple] = []


class ChaosCluster:
    """An in-process coordinator (--chaos) and three worker processes."""

    def __init__(self, root: str):
        self.root = root
        self.coord = Coordinator(port=0, state_dir=os.path.join(root, "coordinator"),
                                 chaos=True, heartbeat_timeout=HEARTBEAT_TIMEOUT,
                                 fetch_timeout=STALL_TIMEOUT)
        self.coord.start()
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("QUIVER_CONNECT", "QUIVER_TOKEN")}
        os.makedirs(os.path.join(root, "logs"), exist_ok=True)
        self.procs = [self._spawn(i) for i in range(3)]
        self.wait_alive()

    def _spawn(self, i: int) -> _Proc:
        p = _Proc([sys.executable, "-m", "quiver.cli", "worker", "--coordinator",
                   self.coord.address, "--name", f"w{i + 1}", "--slots", "2", "--chaos",
                   "--fetch-timeout", str(STALL_TIMEOUT),
                   "--data-dir", os.path.join(self.root, f"worker-{i + 1}")],
                  os.path.join(self.root, "logs", f"worker-{i + 1}.log"), self.env)
        p.wait_line("registered", time.monotonic() + 60, f"worker {i + 1}")
        return p

    def heal(self) -> None:
        for i, p in enumerate(self.procs):
            if p.popen.poll() is not None:
                p.stop()
                self.procs[i] = self._spawn(i)
            elif process_state(p.popen.pid) in ("T", "t"):
                os.kill(p.popen.pid, signal.SIGCONT)
        self.wait_alive()

    def wait_alive(self) -> None:
        def alive():
            with self.coord.cond:
                ws = self.coord.scheduler.workers
                return all(ws.get(f"w{i + 1}") is not None and ws[f"w{i + 1}"].state == "alive"
                           for i in range(3))
        wait_for(alive, 60, "three alive workers")

    def stop(self) -> None:
        for p in self.procs:
            if p.popen.poll() is None:
                try:
                    os.kill(p.popen.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            p.stop()
        self.coord.stop()


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, tpch_sf001):
    cluster = ChaosCluster(str(tmp_path_factory.mktemp("matrix")))
    con = quiver.connect(f"quiver://{cluster.coord.address}", fetch_timeout=STALL_TIMEOUT)
    try:
        for name, location in table_dirs(tpch_sf001).items():
            con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{location}'")
        expected = {}
        for n in QUERIES:
            rows = con.execute(query_text(n)).fetchall()
            with cluster.coord.cond:
                job = list(cluster.coord.scheduler.finished.values())[-1]
                positions = {("final" if s.id == job.dag.final.id else
                              "intermediate" if s.inputs else "leaf") for s in job.dag.stages}
            assert positions == set(POSITIONS), (n, positions)
            expected[n] = rows
        yield cluster, con, expected
    finally:
        con.close()
        cluster.stop()
        if RESULTS:
            print("\n" + _table(RESULTS))


def _same(got, want) -> bool:
    if len(got) != len(want):
        return False
    for a, b in zip(got, want):
        for x, y in zip(a, b):
            if isinstance(x, float) or isinstance(y, float):
                if not math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


def _table(rows) -> str:
    out = ["| query | fault | stage | outcome | seconds | attempts ended by |",
           "|---|---|---|---|---|---|"]
    out += [f"| Q{q} | {k} | {p} | {o} | {s:.1f} | {w} |" for q, k, p, o, s, w in rows]
    return "\n".join(out)


def run_cell(matrix, n: int, kind_name: str, position: str, user_error: bool = False):
    cluster, con, expected = matrix
    coord = cluster.coord
    kind, seconds = ("user-error", 0.0) if user_error else KINDS[kind_name]
    cluster.heal()
    with coord.cond:
        before = len(coord.armory.fired)
        known = set(coord.scheduler.finished) | set(coord.scheduler.jobs)
    inject(coord.address, Fault(kind, position, seconds=seconds, seed=n))
    t0 = time.monotonic()
    outcome, error = None, None
    try:
        outcome = con.execute(query_text(n)).fetchall()
    except errors.Error as exc:
        error = exc
    elapsed = time.monotonic() - t0
    with coord.cond:
        fired = coord.armory.fired[before:]
        leftover = list(coord.armory.armed)
        coord.armory.armed.clear()
        jobs = [j for q, j in coord.scheduler.finished.items() if q not in known]
    ends = sorted({a.why for j in jobs for a in j.attempts if a.why})
    RESULTS.append((n, kind_name, position,
                    "error: " + type(error).__name__ if error else "ok", elapsed,
                    ", ".join(ends) or "-"))
    assert not leftover and fired and fired[0]["stage"] == position, (fired, leftover)
    if user_error:
        assert isinstance(error, errors.DataError) and "injected user error" in str(error)
        hit = [a for j in jobs for a in j.attempts
               if (a.stage, a.partition) == (fired[0]["stage_id"], fired[0]["task"])]
        assert len(hit) == 1 and hit[0].why == "user error", hit
        return
    assert error is None, f"Q{n} {kind_name} at {position}: {error!r}"
    assert _same(outcome, expected[n]), f"Q{n} {kind_name} at {position}: wrong answer"


SAMPLE = [(3, "shuffle file corrupted", "intermediate"), (18, "task error", "final"),
          (9, "shuffle file deleted", "leaf")]


@pytest.mark.parametrize("n,kind,position", SAMPLE)
def test_matrix_sample(matrix, n, kind, position):
    run_cell(matrix, n, kind, position)


def test_an_injected_user_error_fails_once_without_retry(matrix):
    run_cell(matrix, 3, "user error", "intermediate", user_error=True)


@pytest.mark.failure_matrix
@pytest.mark.skipif(not FULL, reason="the whole matrix: QUIVER_FAILURE_MATRIX=1")
@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("n", QUERIES)
def test_failure_matrix(matrix, n, kind, position):
    run_cell(matrix, n, kind, position)


def test_queries_sent_while_a_worker_is_frozen_run_on_the_others(matrix):
    """SIGSTOP at a leaf task of Q3: Q3 still answers (its time, against the
    failure-free one, is printed), and Q18 sent while the worker is frozen
    answers with every successful task on the other workers."""
    cluster, con, expected = matrix
    coord = cluster.coord
    cluster.heal()
    t0 = time.monotonic()
    con.execute(query_text(3)).fetchall()
    free = time.monotonic() - t0
    with coord.cond:
        before = len(coord.armory.fired)
    inject(coord.address, Fault("freeze", "leaf"))
    import threading
    out = []
    t0 = time.monotonic()
    thread = threading.Thread(target=lambda: out.append(con.execute(query_text(3)).fetchall()),
                              daemon=True)
    thread.start()
    fired = wait_for(lambda: coord.armory.fired[before:], 60, "the freeze to fire")
    victim = cluster.procs[int(fired[0]["worker"][1:]) - 1].popen.pid
    wait_for(lambda: process_state(victim) in ("T", "t"), 30, "the worker to stop")
    con2 = quiver.connect(f"quiver://{coord.address}", fetch_timeout=STALL_TIMEOUT)
    try:
        assert _same(con2.execute(query_text(18)).fetchall(), expected[18])
        with coord.cond:
            job = list(coord.scheduler.finished.values())[-1]
            won = {a.worker for a in job.attempts if a.state == "succeeded"}
        assert won and fired[0]["worker"] not in won, won
    finally:
        con2.close()
    thread.join(120)
    frozen = time.monotonic() - t0
    assert not thread.is_alive() and _same(out[0], expected[3])
    print(f"\nQ3 failure-free {free:.1f} s, with a worker frozen at a leaf task {frozen:.1f} s "
          f"(heartbeat timeout {HEARTBEAT_TIMEOUT:g} s, fetch stall timeout {STALL_TIMEOUT:g} s)")


def test_explain_analyze_and_system_tasks_say_why_attempts_ended(matrix):
    cluster, con, _ = matrix
    cluster.heal()
    inject(cluster.coord.address, Fault("corrupt-shuffle", "leaf", seed=4))
    text = "\n".join(str(c) for r in con.execute("EXPLAIN ANALYZE " + query_text(3)).fetchall()
                     for c in r)
    assert "ended_by=checksum mismatch" in text, text
    rows = con.execute("SELECT stage, task, attempt, ended_by FROM system.tasks "
                       "WHERE ended_by = 'checksum mismatch'").fetchall()
    assert rows, rows


def test_a_disconnected_worker_is_fenced_and_rejoins(matrix):
    """A worker that goes silent (no heartbeats, polls or reports, shuffle
    serving refused) for longer than the heartbeat timeout is declared lost;
    the query answers without it; when it comes back its late report is
    ignored and it registers again (its old shuffle files wiped)."""
    cluster, con, expected = matrix
    coord = cluster.coord
    cluster.heal()
    reports = []
    original = coord.scheduler.task_finished

    def recording(worker_id, query_id, task, ok, now, **kw):
        taken = original(worker_id, query_id, task, ok, now, **kw)
        reports.append((worker_id, query_id, task.stage, task.partition, task.attempt, taken))
        return taken
    with coord.cond:
        before = len(coord.armory.fired)
        coord.scheduler.task_finished = recording
    try:
        inject(coord.address, Fault("disconnect", "leaf", seconds=HEARTBEAT_TIMEOUT + 3))
        assert _same(con.execute(query_text(3)).fetchall(), expected[3])
        with coord.cond:
            [fired] = coord.armory.fired[before:]
        late = (fired["worker"], fired["query_id"], fired["stage_id"], fired["task"],
                fired["attempt"])
        [report] = wait_for(lambda: [r for r in list(reports) if r[:5] == late], 60,
                            "the disconnected worker's late report")
        assert report[5] is False            # ignored: the attempt was declared lost
    finally:
        with coord.cond:
            coord.scheduler.task_finished = original
    with coord.cond:
        [fired] = coord.armory.fired[before:]
        job = list(coord.scheduler.finished.values())[-1]
        key = (fired["stage_id"], fired["task"])
        victim = [a for a in job.attempts if (a.stage, a.partition) == key
                  and a.attempt == fired["attempt"]]
    assert victim and victim[0].state == "lost", victim

    def back():
        with coord.cond:
            w = coord.scheduler.workers[fired["worker"]]
            return w.state == "alive"
    wait_for(back, 60, "the disconnected worker to register again")
    assert victim[0].state == "lost" and victim[0].why == "worker lost"
