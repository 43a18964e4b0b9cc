"""The admission queue's decisions with plain numbers: no sockets, no threads
(cluster/admission.py); and the scheduler's priority weights."""

import pytest

from quiver.cluster import cluster_scheduler as CS
from quiver.cluster.admission import AdmissionQueue
from quiver.session import Session, session_options

MB = 1 << 20


def keys(tickets):
    return [t.key for t in tickets]


def test_a_query_waits_while_the_memory_is_committed_and_runs_when_it_is_freed():
    aq = AdmissionQueue()
    aq.enqueue("a", "u", 0, 48 * MB, now=0.0)
    aq.enqueue("b", "u", 0, 48 * MB, now=1.0)
    assert keys(aq.admit(64 * MB, now=1.0)) == ["a"]
    assert aq.committed() == 48 * MB and keys(aq.queued) == ["b"]
    assert aq.admit(64 * MB, now=2.0) == []
    aq.release("a")
    [b] = aq.admit(64 * MB, now=5.0)
    assert b.key == "b" and b.queued_seconds(now=9.0) == 4.0
    assert aq.committed() == 48 * MB


def test_queries_that_fit_together_run_together():
    aq = AdmissionQueue()
    for k in "abc":
        aq.enqueue(k, "u", 0, 20 * MB, now=0.0)
    assert keys(aq.admit(64 * MB, now=0.0)) == ["a", "b", "c"]


def test_a_query_without_a_limit_commits_nothing_and_unknown_capacity_holds_nobody():
    aq = AdmissionQueue()
    aq.enqueue("a", "u", 0, None, now=0.0)
    aq.enqueue("b", "u", 0, 60 * MB, now=0.0)
    assert keys(aq.admit(64 * MB, now=0.0)) == ["a", "b"]
    aq = AdmissionQueue()
    aq.enqueue("a", "u", 0, 1 << 40, now=0.0)
    aq.enqueue("b", "u", 0, 1 << 40, now=0.0)
    assert keys(aq.admit(None, now=0.0)) == ["a", "b"]      # no worker reported a pool


def test_a_query_bigger_than_the_cluster_runs_alone_never_a_deadlock():
    aq = AdmissionQueue()
    aq.enqueue("big", "u", 0, 100 * MB, now=0.0)
    aq.enqueue("small", "u", 0, 1 * MB, now=0.0)
    assert keys(aq.admit(64 * MB, now=0.0)) == ["big"]        # alone
    assert aq.admit(64 * MB, now=1.0) == []
    aq.release("big")
    assert keys(aq.admit(64 * MB, now=2.0)) == ["small"]
    aq.enqueue("big2", "u", 0, 100 * MB, now=3.0)
    assert aq.admit(64 * MB, now=3.0) == []                   # waits for "small" to end
    aq.release("small")
    assert keys(aq.admit(64 * MB, now=4.0)) == ["big2"]


def test_higher_priority_first_fifo_within_a_priority():
    aq = AdmissionQueue()
    aq.enqueue("run", "u", 0, 48 * MB, now=0.0)
    assert keys(aq.admit(64 * MB, now=0.0)) == ["run"]
    aq.enqueue("low1", "u", 0, 48 * MB, now=1.0)
    aq.enqueue("low2", "u", 0, 48 * MB, now=2.0)
    aq.enqueue("high", "u", 5, 48 * MB, now=3.0)
    aq.enqueue("neg", "u", -1, 48 * MB, now=0.5)
    assert keys(aq.queued) == ["high", "low1", "low2", "neg"]
    order = []
    for t in range(4):
        aq.release(order[-1] if order else "run")
        order += keys(aq.admit(64 * MB, now=10.0 + t))
    assert order == ["high", "low1", "low2", "neg"]


def test_the_first_query_that_does_not_fit_holds_back_the_ones_behind_it():
    aq = AdmissionQueue()
    aq.enqueue("run", "u", 0, 40 * MB, now=0.0)
    aq.admit(64 * MB, now=0.0)
    aq.enqueue("big", "u", 0, 40 * MB, now=1.0)
    aq.enqueue("tiny", "u", 0, 1 * MB, now=2.0)       # would fit, but may not overtake
    assert aq.admit(64 * MB, now=2.0) == []
    aq.release("run")
    assert keys(aq.admit(64 * MB, now=3.0)) == ["big", "tiny"]


def test_per_user_limit_queues_the_users_extra_queries_and_holds_nobody_else():
    aq = AdmissionQueue(max_queries_per_user=1)
    aq.enqueue("a1", "alice", 0, None, now=0.0)
    assert keys(aq.admit(None, now=0.0)) == ["a1"]
    aq.enqueue("a2", "alice", 9, None, now=1.0)       # first in line, but alice is busy
    aq.enqueue("b1", "bob", 0, None, now=2.0)
    assert keys(aq.admit(None, now=2.0)) == ["b1"]
    assert keys(aq.queued) == ["a2"]
    assert "user 'alice'" in aq.why_waiting(aq.get("a2"), None)
    aq.release("a1")
    assert keys(aq.admit(None, now=3.0)) == ["a2"]


def test_release_of_a_queued_query_takes_it_out_of_the_queue():
    aq = AdmissionQueue()
    aq.enqueue("run", "u", 0, 48 * MB, now=0.0)
    aq.admit(64 * MB, now=0.0)
    aq.enqueue("gone", "u", 0, 48 * MB, now=1.0)
    aq.enqueue("next", "u", 0, 48 * MB, now=2.0)
    assert aq.release("gone").key == "gone"
    assert keys(aq.queued) == ["next"] and aq.get("gone") is None
    assert aq.release("gone") is None                 # twice: nothing
    aq.release("run")
    assert keys(aq.admit(64 * MB, now=3.0)) == ["next"]


def test_timeout_and_the_words_of_its_error():
    aq = AdmissionQueue(queue_timeout=30)
    aq.enqueue("run", "u", 0, 48 * MB, now=0.0)
    aq.admit(64 * MB, now=0.0)
    t = aq.enqueue("wait", "u", 0, 48 * MB, now=1.0)
    aq.admit(64 * MB, now=1.0)
    assert not aq.timed_out(t, now=31.0) and aq.timed_out(t, now=31.5)
    why = aq.why_waiting(t, 64 * MB)
    assert why == ("memory: 48.0 MiB of 64.0 MiB committed on each worker by 1 running "
                   "query, and it needs 48.0 MiB")


def test_weights_share_slots_by_priority():
    assert CS.share_weight(0) == 1 and CS.share_weight(5) == 6
    assert CS.share_weight(-1) == 0.5
    assert all(CS.share_weight(p) < CS.share_weight(p + 1) for p in range(-5, 5))


def test_priority_option_connect_and_set():
    s = Session(**session_options({"priority": 5, "user": "alice"}))
    assert (s.priority, s.user) == (5, "alice")
    s.execute("SET priority = -2")
    assert s.priority == -2
    s.execute("SET priority = '3'")
    assert s.priority == 3
    s.execute("RESET priority")
    assert s.priority == 0
    assert Session().user                          # the OS user by default
    with pytest.raises(Exception, match="priority must be an integer"):
        s.execute("SET priority = 1.5")
    with pytest.raises(Exception, match="priority must be an integer"):
        session_options({"priority": "high"})
    with pytest.raises(Exception, match="user must be a non-empty name"):
        session_options({"user": ""})
