"""executor/shared_builds.py: one build per (query, key) shared by concurrent
tasks, a failed or cancelled build leaves nothing behind, dropping a query
releases its builds; and a broadcast join build shared through it by the
contexts of several tasks (as on a worker) outlives the task that built it,
also when spilled, and its memory goes back to the pool when dropped."""

import _hash_join_lib as H  # noqa: E402  (tests/executor/conftest.py)

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pytest

from quiver.errors import QueryCancelled
from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.executor.memory import MemoryPool
from quiver.executor.operators.join_spill import SpilledBuild
from quiver.executor.shared_builds import SharedBuilds
from quiver.planner.physical import HashJoinExec


def test_concurrent_tasks_build_once_and_share_the_value():
    builds, calls, released = SharedBuilds(), [], []
    gate = threading.Event()

    def build():
        calls.append(1)
        gate.wait(5)                      # the others arrive while it builds
        return object(), lambda: released.append(1)

    never = threading.Event()
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(builds.get, "q", "k", build, never) for _ in range(8)]
        time.sleep(0.2)
        gate.set()
        values = [f.result(10) for f in futures]
    assert len(calls) == 1
    assert all(v is values[0] for v in values)
    assert builds.stats("q").built == 1 and builds.stats("q").uses == 8
    # another key, or another query, builds its own
    assert builds.get("q", "k2", lambda: ("b", lambda: None), never) == "b"
    assert builds.get("q2", "k", lambda: ("c", lambda: None), never) == "c"
    assert released == []
    assert builds.drop_query("q").built == 2
    assert released == [1] and len(builds) == 1


def test_a_failing_builder_leaves_nothing_and_a_waiter_builds_again():
    builds, attempts = SharedBuilds(), []
    started = threading.Event()

    def failing():
        attempts.append("fail")
        started.set()
        time.sleep(0.2)
        raise RuntimeError("lost the input")

    def working():
        attempts.append("ok")
        return "value", lambda: None

    never = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(builds.get, "q", "k", failing, never)
        started.wait(5)
        second = pool.submit(builds.get, "q", "k", working, never)
        with pytest.raises(RuntimeError, match="lost the input"):
            first.result(10)
        assert second.result(10) == "value"          # it waited, then built itself
    assert attempts == ["fail", "ok"]
    assert builds.stats("q").built == 1


def test_a_cancelled_waiting_task_does_not_hang():
    builds, gate = SharedBuilds(), threading.Event()
    never, cancelled = threading.Event(), threading.Event()
    with ThreadPoolExecutor(2) as pool:
        builder = pool.submit(builds.get, "q", "k",
                              lambda: (gate.wait(10), lambda: None), never)
        time.sleep(0.1)
        waiter = pool.submit(builds.get, "q", "k", lambda: ("x", lambda: None), cancelled)
        time.sleep(0.1)
        cancelled.set()
        t0 = time.monotonic()
        with pytest.raises(QueryCancelled):
            waiter.result(5)
        assert time.monotonic() - t0 < 1.0
        gate.set()
        builder.result(10)


def test_a_build_finished_after_its_query_was_dropped_is_released():
    builds, released = SharedBuilds(), []
    gate, cancelled = threading.Event(), threading.Event()
    with ThreadPoolExecutor(1) as pool:
        f = pool.submit(builds.get, "q", "k",
                        lambda: (gate.wait(10), lambda: released.append(1)), cancelled)
        time.sleep(0.1)
        cancelled.set()                   # what a worker does when it drops the query
        builds.drop_query("q")
        gate.set()
        with pytest.raises(QueryCancelled):
            f.result(10)
    assert released == [1] and len(builds) == 0


# -- a broadcast join shared by the contexts of several tasks (a worker's) ------------

def _join(n_right=400):
    rng = np.random.default_rng(3)
    lt = pa.table({"a": pa.array(rng.integers(0, 200, 3000), pa.int64())})
    rt = pa.table({"c": pa.array(np.arange(n_right) % 200, pa.int64()),
                   "d": pa.array(np.arange(n_right), pa.int64())})
    left, right = H.leaf(lt, 6, chunk=100), H.leaf(rt, chunk=50)
    node = HashJoinExec(left, right, "inner", (H.col("a", left),), (H.col("c", right),),
                        None, "broadcast")
    return node, lt, rt


class _TaskCtx(ExecContext):
    def build_key(self, node):
        return "join-0"                    # what cluster/task_builds.py gives a worker's task


def _run_tasks(node, builds, pool, query, parts, **kw):
    """Each partition as its own task with its own context (closed at its end)."""
    out = []
    for p in parts:
        ctx = _TaskCtx(batch_size=256, pool=pool, query_key=query, builds=builds, **kw)
        try:
            out.extend(registry.execute(node, p, ctx))
        finally:
            ctx.close()
    return out


def test_a_shared_build_outlives_its_task_and_drop_frees_its_memory():
    pool, builds = MemoryPool("1GB"), SharedBuilds()
    node, lt, rt = _join()
    batches = _run_tasks(node, builds, pool, "q1", range(3))
    assert node.right.pulls[0] == 1
    held = pool.reserved
    assert held > 0                         # the build, after its task ended
    assert pool.query("q1") is not None and pool.query("q1").reserved == held
    batches += _run_tasks(node, builds, pool, "q1", range(3, 6))
    assert node.right.pulls[0] == 1         # later tasks of the query reuse it
    got = H.collect(node, batches, ExecContext(batch_size=256))
    assert H.rows(got) == H.rows(H.duck("SELECT * FROM l JOIN r ON l.a = r.c", l=lt, r=rt))
    done = builds.drop_query("q1")
    assert (done.built, done.uses) == (1, 6)
    assert pool.reserved == 0 and pool.query("q1") is None


def test_a_spilled_shared_build_serves_later_tasks_and_drop_removes_it(tmp_path):
    pool, builds = MemoryPool("1GB"), SharedBuilds()
    node, lt, rt = _join(n_right=4000)
    kw = {"memory_limit": 20_000, "spill_dir": str(tmp_path)}
    batches = _run_tasks(node, builds, pool, "q1", range(2), **kw)
    assert node.right.pulls[0] == 1
    [entry] = [e for e in builds._entries.values()]
    assert isinstance(entry.value, SpilledBuild)
    assert os.path.isdir(entry.value.folder)          # kept after the building task
    batches += _run_tasks(node, builds, pool, "q1", range(2, 6), **kw)
    assert node.right.pulls[0] == 1
    got = H.collect(node, batches, ExecContext(batch_size=256))
    assert H.rows(got) == H.rows(H.duck("SELECT * FROM l JOIN r ON l.a = r.c", l=lt, r=rt))
    builds.drop_query("q1")
    assert list(tmp_path.iterdir()) == [] and pool.reserved == 0


def test_a_build_that_fails_is_not_kept_and_frees_its_memory():
    pool, builds = MemoryPool("1GB"), SharedBuilds()
    node, _, _ = _join()
    good = node.right.parts[0]

    def broken():
        yield good[0]                       # reserved, then the input is lost
        raise RuntimeError("producer lost")

    node.right.parts[0] = broken()
    ctx = _TaskCtx(batch_size=256, pool=pool, query_key="q1", builds=builds)
    with pytest.raises(RuntimeError, match="producer lost"):
        list(registry.execute(node, 0, ctx))
    ctx.close()
    assert len(builds) == 0 and pool.reserved == 0 and pool.query("q1") is None
    node.right.parts[0] = good
    assert _run_tasks(node, builds, pool, "q1", [0])   # the next task builds again
    assert len(builds) == 1 and node.right.pulls[0] == 2
    builds.drop_all()
    assert pool.reserved == 0 and pool.query("q1") is None


def test_the_embedded_context_drops_its_builds_when_the_query_ends():
    pool = MemoryPool("1GB")
    node, _, _ = _join()
    ctx = ExecContext(batch_size=256, pool=pool)
    for p in range(6):
        list(registry.execute(node, p, ctx))
    assert node.right.pulls[0] == 1 and pool.reserved > 0
    ctx.close()
    assert pool.reserved == 0 and len(ctx.builds) == 0
