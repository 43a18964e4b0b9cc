"""Real processes for the durability tests: a `quiver coordinator` on a fixed
port and state folder that a test can SIGKILL, SIGSTOP and start again,
`quiver worker` processes that outlive it, and a reader of its journal (to
see from outside which tasks it had completed when it was killed).

Every process is ended by PID when the test ends (continued first if
frozen); every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import sys
import time

from quiver.cluster.client import _Proc

START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("QUIVER_CONNECT", "QUIVER_TOKEN")}
    env.update(extra or {})
    return env


class Cluster:
    """One coordinator (restartable on the same port and folder) and N workers."""

    def __init__(self, root: str, workers: int = 2, slots: int = 1,
                 coordinator_args: tuple = (), worker_env: dict | None = None,
                 worker_args: tuple = ()):
        self.root = root
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.state = os.path.join(root, "state")
        self.coordinator_args = coordinator_args
        self.n, self.slots = workers, slots
        self.worker_env = worker_env
        self.worker_args = worker_args
        self.coordinator: _Proc | None = None
        self.workers: list[_Proc] = []
        self.starts = 0
        os.makedirs(os.path.join(root, "logs"), exist_ok=True)

    def start_coordinator(self) -> None:
        self.starts += 1
        self.coordinator = _Proc(
            [sys.executable, "-m", "quiver.cli", "coordinator", "--port", str(self.port),
             "--state-dir", self.state, "--heartbeat-timeout", "10", *self.coordinator_args],
            os.path.join(self.root, "logs", f"coordinator-{self.starts}.log"), _env())
        self.coordinator.wait_line("quiver://", time.monotonic() + START_TIMEOUT,
                                   "the coordinator")

    def start_workers(self) -> None:
        for i in range(self.n):
            self.start_worker(i)
        deadline = time.monotonic() + START_TIMEOUT
        for i, w in enumerate(self.workers):
            w.wait_line("registered", deadline, f"worker {i + 1}")

    def start_worker(self, i: int) -> _Proc:
        p = _Proc([sys.executable, "-m", "quiver.cli", "worker", "--coordinator", self.address,
                   "--name", f"w{i + 1}", "--slots", str(self.slots),
                   "--data-dir", os.path.join(self.root, f"worker-{i + 1}"), *self.worker_args],
                  os.path.join(self.root, "logs", f"worker-{i + 1}-{len(self.workers)}.log"),
                  _env(self.worker_env))
        self.workers.append(p)
        return p

    def signal_coordinator(self, sig) -> None:
        os.kill(self.coordinator.popen.pid, sig)

    def kill_coordinator(self) -> None:
        pid = self.coordinator.popen.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self.coordinator.popen.wait(10)
        self.coordinator.log.close()

    def stop(self) -> None:
        for p in self.workers + ([self.coordinator] if self.coordinator else []):
            if p.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.popen.pid, signal.SIGCONT)
            p.stop()

    # -- the journal, read from outside ---------------------------------------------
    def journal(self, sql: str, args=()) -> list[tuple]:
        path = os.path.join(self.state, "journal.sqlite")
        if not os.path.exists(path):
            return []
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            db.close()

    def running_query(self):
        """(query id, StageDag) of the one running query in the journal, or None."""
        from quiver.cluster.plan_wire import dag_from_bytes
        rows = self.journal("SELECT query_id, plan FROM queries WHERE state = 'running'")
        if len(rows) != 1:
            return None
        return rows[0][0], dag_from_bytes(rows[0][1])

    def done_tasks(self, query_id: str) -> set[tuple[int, int]]:
        return {(s, p) for s, p in self.journal(
            "SELECT stage, part FROM outputs WHERE query_id = ?", (query_id,))}


@contextlib.contextmanager
def cluster(root: str, **kwargs):
    c = Cluster(root, **kwargs)
    try:
        c.start_coordinator()
        c.start_workers()
        yield c
    finally:
        c.stop()


def stage_done(dag, done: set, stage_id: int) -> bool:
    return all((stage_id, p) in done for p in range(dag.stage(stage_id).tasks))
