"""Starting real clusters for tests: processes on 127.0.0.1, bounded waits,
stopped by PID even when a test fails.

Also the fixture that lets other test folders run against a cluster:
`QUIVER_TEST_RUNNER=local[3]` makes `cluster_target` start one coordinator
and three workers for the test session and yield 'quiver://host:port'
(connect with `private_catalog=True` so each connection starts from an
empty catalog, like an embedded one); unset, it yields None (embedded).
"""

from __future__ import annotations

import contextlib
import os
import re

import pytest

from quiver.cluster.client import LocalCluster


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
