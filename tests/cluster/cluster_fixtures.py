"""Starting real clusters for tests: processes on 127.0.0.1, bounded waits,
stopped by PID even when a test fails.

Also the fixture that lets other test folders run against a cluster:
`QUIVER_TEST_RUNNER=local[3]` makes `cluster_target` start one coordinator
and three workers for the test session and yield 'quiver://host:port'
(connect with `private_catalog=True` so each connection starts from an
empty catalog, like an embedded one); unset, it yields None (embedded).

`coordinator_with_workers`: a Coordinator in this process (so a test can
look at its scheduler under `coord.cond`) and N `quiver worker`
processes; `wait_for` (bounded polling) and `wait_stopped` (a SIGSTOPped
process is really stopped) help tests that kill or freeze workers.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time

import pytest

from quiver.cluster.client import LocalCluster, _Proc
from quiver.cluster.coordinator import Coordinator


@contextlib.contextmanager
def running_cluster(workers: int, root: str, **kwargs):
    cluster = LocalCluster(workers, state_dir=root, **kwargs)
    try:
        cluster.start(timeout=90)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def cluster_target(tmp_path_factory):
    spec = os.environ.get("QUIVER_TEST_RUNNER", "")
    m = re.match(r"^local\[(\d+)\]$", spec)
    if not m:
        yield None
        return
    with running_cluster(int(m.group(1)), str(tmp_path_factory.mktemp("test-cluster"))) as c:
        yield f"quiver://{c.address}"


@contextlib.contextmanager
def coordinator_with_workers(root: str, workers: int = 3, slots: int = 2,
                             worker_args: tuple = (), **coordinator_kwargs):
    """Yields (coordinator, [worker _Proc]); worker i is named w{i+1}. Every
    worker is continued (if frozen) and stopped by PID at the end."""
    coord = Coordinator(port=0, state_dir=os.path.join(root, "coordinator"),
                        **coordinator_kwargs)
    coord.start()
    procs: list[_Proc] = []
    env = {k: v for k, v in os.environ.items() if k not in ("QUIVER_CONNECT", "QUIVER_TOKEN")}
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    try:
        for i in range(workers):
            procs.append(_Proc(
                [sys.executable, "-m", "quiver.cli", "worker", "--coordinator", coord.address,
                 "--name", f"w{i + 1}", "--slots", str(slots),
                 "--data-dir", os.path.join(root, f"worker-{i + 1}"), *worker_args],
                os.path.join(root, "logs", f"worker-{i + 1}.log"), env))
        deadline = time.monotonic() + 90
        for i, p in enumerate(procs):
            p.wait_line("registered", deadline, f"worker {i + 1}")
        yield coord, procs
    finally:
        for p in procs:
            if p.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.popen.pid, signal.SIGCONT)
            p.stop()
        coord.stop()


@contextlib.contextmanager
def coordinator_and_worker(root: str, coordinator_kwargs: dict | None = None, **worker_kwargs):
    """Yields (coordinator, worker), both in this process (the worker with 2
    slots and its data under `root`/w); stopped at the end."""
    from quiver.cluster.worker import Worker
    coord = Coordinator(port=0, state_dir=os.path.join(root, "coord"),
                        **(coordinator_kwargs or {}))
    coord.start()
    worker = Worker(coord.address, **{"slots": 2, "data_dir": os.path.join(root, "w"),
                                      **worker_kwargs})
    try:
        worker.start()
        yield coord, worker
    finally:
        worker.stop()
        coord.stop()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll `predicate()` until it returns something truthy (returned), at
    most `timeout` seconds; then fail the test naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def process_state(pid: int) -> str:
    """The one-letter state of a Linux process (R, S, T, Z...), '' if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def wait_stopped(pid: int, timeout: float = 10.0) -> None:
    wait_for(lambda: process_state(pid) in ("T", "t"), timeout, f"process {pid} to stop")
