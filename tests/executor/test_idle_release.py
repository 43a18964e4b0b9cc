"""Freed memory goes back to the system once the process is idle, not after
every query (the next query reuses the pages instead of faulting them in)."""

import time

import pytest

from quiver.executor import memory


@pytest.fixture
def released(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "release_unused_memory", lambda above=None: calls.append(above))
    return calls


def _wait_for(cond, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not cond():
        time.sleep(0.01)
    return cond()


def test_released_after_the_idle_delay(released):
    memory.release_when_idle(0.05)
    assert not released
    assert _wait_for(lambda: released == [None])


def test_work_starting_meanwhile_keeps_the_pages(released):
    memory.release_when_idle(0.2)
    memory.note_work_started()
    time.sleep(0.4)
    assert not released
    memory.release_when_idle(0.05)          # the next idle moment releases
    assert _wait_for(lambda: released == [None])


def test_only_the_last_scheduled_release_runs(released):
    memory.release_when_idle(0.05)
    memory.release_when_idle(0.05)
    assert _wait_for(lambda: len(released) == 1)
    time.sleep(0.2)
    assert released == [None]


def test_release_above_a_resident_size(monkeypatch):
    import pyarrow as pa
    pools = []
    monkeypatch.setattr(pa, "default_memory_pool", lambda: pools.append(1) or
                        type("P", (), {"release_unused": lambda self: None})())
    resident = memory.resident_bytes()
    assert resident is None or resident > 0
    memory.release_unused_memory(above=1 << 60)      # holds far less: nothing done
    assert not pools
    memory.release_unused_memory(above=0)
    assert pools == [1]


def test_queries_schedule_the_release(released):
    import quiver
    con = quiver.connect()
    con.execute("SELECT count(*) FROM (VALUES (1), (2)) t(x)").fetchall()
    assert released.count(None) == 0                 # not at the query's end...
    assert _wait_for(lambda: None in released, memory.IDLE_RELEASE_SECONDS + 5)
    con.close()


def test_many_queries_leave_one_waiting_thread(released):
    import threading

    def releasers():
        return sum(t.name == "quiver-idle-release" and t.is_alive()
                   for t in threading.enumerate())
    for _ in range(50):
        memory.note_work_started()
        memory.release_when_idle(5.0)
    assert releasers() == 1
    assert not any(isinstance(t, threading.Timer) and t.is_alive()
                   for t in threading.enumerate())
    memory.note_work_started()                 # calls the last one off
    time.sleep(0.2)
    assert not released
    memory.release_when_idle(0.05)             # the same thread releases next time
    assert _wait_for(lambda: released == [None])
    assert releasers() == 1
