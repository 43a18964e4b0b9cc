"""The cluster scheduler with virtual workers: no sockets, no threads.

The DAG is a real one (two Parquet scans -> partitioned join with a partial
aggregate -> final aggregate), planned by the embedded Session."""

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quiver.cluster import cluster_scheduler as CS
from quiver.executor.scheduler import TaskId
from quiver.parser import bind
from quiver.planner.physical_planner import PhysicalOptions
from quiver.session import Session


@pytest.fixture(scope="module")
def dag_and_roots(tmp_path_factory):
    root = tmp_path_factory.mktemp("sched")
    for t in ("a", "b"):
        os.makedirs(root / t)
        for i in range(2):
            pq.write_table(pa.table({"k": list(range(i * 50, i * 50 + 50)), "v": [1] * 50}),
                           str(root / t / f"f{i}.parquet"))
    # no runtime filter: these tests need the probe scan's stage to have no inputs
    s = Session(physical=PhysicalOptions(target_partitions=2, shuffle_partitions=3,
                                         join_strategy="partitioned", runtime_filter_rows=0))
    s.execute(f"CREATE EXTERNAL TABLE ta STORED AS PARQUET LOCATION '{root}/a'")
    s.execute(f"CREATE EXTERNAL TABLE tb STORED AS PARQUET LOCATION '{root}/b'")
    [st] = bind("SELECT count(*) FROM ta JOIN tb ON ta.k = tb.k", s.catalog)
    _, _, dag = s.plan_query(st.query)
    assert [(x.inputs, x.tasks) for x in dag.stages] == [((), 2), ((), 2), ((0, 1), 3), ((2,), 1)]
    return dag, str(root / "a"), str(root / "b")


def run_all(cs, now=0.0, workers=None, fail=None):
    """Let every alive worker take and finish tasks until nothing is left;
    returns [(worker, query, TaskId)] in launch order."""
    log = []
    for _ in range(100):
        progressed = False
        for w in list(workers or cs.workers):
            if cs.workers[w].state != "alive":
                continue
            for launch in cs.assign(w, 10, now):
                log.append((w, launch.query_id, launch.task))
                ok = not (fail and fail(w, launch))
                cs.task_finished(w, launch.query_id, launch.task, ok, now,
                                 reason=0 if ok else CS.INTERNAL, error="boom")
                progressed = True
        if not progressed:
            break
    return log


def test_tasks_launch_only_when_inputs_complete(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "grpc+tcp://h:1", slots=8)
    job = cs.submit("q", dag, 0.0)
    first = cs.assign("w1", 10, 0.0)
    assert sorted((l.task.stage, l.task.partition) for l in first) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert cs.assign("w1", 10, 0.0) == []            # the join stage waits for both scans
    for l in first[:-1]:
        cs.task_finished("w1", "q", l.task, True, 0.0)
    assert cs.assign("w1", 10, 0.0) == []
    cs.task_finished("w1", "q", first[-1].task, True, 0.0)
    joins = cs.assign("w1", 10, 0.0)
    assert sorted(l.task.partition for l in joins) == [0, 1, 2]
    assert all(l.task.stage == 2 for l in joins)
    # a launch says where every producer task's output lives
    assert joins[0].inputs == {0: (3, ["grpc+tcp://h:1"] * 2), 1: (3, ["grpc+tcp://h:1"] * 2)}
    assert not job.done


def test_free_slots_bound_the_launches(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "a1", slots=1)
    cs.submit("q", dag, 0.0)
    assert len(cs.assign("w1", 1, 0.0)) == 1
    assert len(cs.assign("w1", 3, 0.0)) == 3


def test_whole_query_runs_and_spreads_over_workers(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    for w in ("w1", "w2", "w3"):
        cs.add_worker(w, f"addr-{w}", slots=2)
    job = cs.submit("q", dag, 0.0)
    log = []
    for _ in range(20):                               # round-robin, two slots each
        for w in ("w1", "w2", "w3"):
            for l in cs.assign(w, 2, 0.0):
                log.append((w, l.task))
                cs.task_finished(w, "q", l.task, True, 0.0)
    assert job.done and job.error is None
    assert len(log) == 2 + 2 + 3 + 1
    assert {w for w, _ in log} == {"w1", "w2", "w3"}
    assert sum(cs.workers[w].tasks_completed for w in cs.workers) == 8


def test_locality_prefers_the_worker_holding_the_split(dag_and_roots):
    dag, root_a, root_b = dag_and_roots
    cs = CS.ClusterScheduler(locality_wait=5.0)
    cs.add_worker("wa", "A", slots=4, local_roots=[root_a])
    cs.add_worker("wb", "B", slots=4, local_roots=[root_b])
    cs.add_worker("wx", "X", slots=4)
    cs.submit("q", dag, 0.0)
    assert cs.assign("wx", 4, 0.0) == []              # nothing for a worker without the data
    got_a = cs.assign("wa", 4, 0.1)
    got_b = cs.assign("wb", 4, 0.1)
    assert {(l.task.stage, l.task.partition) for l in got_a} == {(0, 0), (0, 1)}
    assert {(l.task.stage, l.task.partition) for l in got_b} == {(1, 0), (1, 1)}


def test_locality_gives_up_after_the_wait(dag_and_roots):
    dag, root_a, root_b = dag_and_roots
    cs = CS.ClusterScheduler(locality_wait=0.5)
    cs.add_worker("wa", "A", slots=4, local_roots=[root_a])
    cs.add_worker("wx", "X", slots=4)
    cs.submit("q", dag, 0.0)
    early = cs.assign("wx", 8, 0.1)                   # only the stage with no local worker
    assert {l.task.stage for l in early} == {1}
    late = cs.assign("wx", 8, 1.0)                    # the wait is over: anywhere
    assert {(l.task.stage, l.task.partition) for l in late} == {(0, 0), (0, 1)}


def test_lost_worker_reruns_its_running_tasks_and_lost_outputs(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler(heartbeat_timeout=10)
    cs.add_worker("w1", "A", slots=8, now=0.0)
    cs.add_worker("w2", "B", slots=8, now=0.0)
    job = cs.submit("q", dag, 0.0)
    # w1 runs and finishes both scans of table a; w2 finishes scan b partition 0
    for l in cs.assign("w1", 2, 0.0):
        cs.task_finished("w1", "q", l.task, True, 0.0)
    on_w2 = cs.assign("w2", 2, 0.0)
    cs.task_finished("w2", "q", on_w2[0].task, True, 0.0)
    running_on_w2 = on_w2[1].task
    # w1 stops heartbeating; w2 keeps going
    cs.heartbeat("w2", 9.0)
    assert cs.check_workers(11.0) == ["w1"]
    assert cs.workers["w1"].state == "lost"
    cs.task_finished("w2", "q", running_on_w2, True, 11.0)
    # the outputs w1 held are rerun (on w2) before the join stage can start
    rerun = cs.assign("w2", 8, 11.0)
    assert {(l.task.stage, l.task.partition) for l in rerun} == {(0, 0), (0, 1)}
    assert all(l.task.attempt == 1 for l in rerun)
    for l in rerun:
        cs.task_finished("w2", "q", l.task, True, 11.0)
    run_all(cs, 11.0)
    assert job.done and job.error is None
    # attempts are kept per task
    attempts = [(a.stage, a.partition, a.attempt, a.worker, a.state) for a in job.attempts
                if a.stage == 0]
    assert (0, 0, 0, "w1", "succeeded") in attempts and (0, 0, 1, "w2", "succeeded") in attempts


def test_lost_worker_fails_its_running_tasks_which_retry_elsewhere(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler(heartbeat_timeout=1)
    cs.add_worker("w1", "A", slots=8, now=0.0)
    cs.add_worker("w2", "B", slots=8, now=0.0)
    job = cs.submit("q", dag, 0.0)
    held = cs.assign("w1", 8, 0.0)                    # w1 takes every scan, then dies
    assert len(held) == 4
    cs.heartbeat("w2", 1.5)
    cs.check_workers(2.0)
    assert all(a.state == "lost" for a in job.attempts)
    run_all(cs, 2.0)
    assert job.done and job.error is None
    assert {a.worker for a in job.attempts if a.state == "succeeded"} == {"w2"}


def test_a_stale_report_from_a_lost_worker_is_ignored(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler(heartbeat_timeout=1)
    cs.add_worker("w1", "A", slots=1, now=0.0)
    cs.add_worker("w2", "B", slots=8, now=0.0)
    cs.submit("q", dag, 0.0)
    [l] = cs.assign("w1", 1, 0.0)
    cs.heartbeat("w2", 1.5)
    cs.check_workers(2.0)
    assert cs.task_finished("w1", "q", l.task, True, 2.1) is False


def test_fetch_failure_reruns_the_producer(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "A", slots=8)
    cs.add_worker("w2", "B", slots=8)
    job = cs.submit("q", dag, 0.0)
    for l in cs.assign("w1", 8, 0.0):
        cs.task_finished("w1", "q", l.task, True, 0.0)
    joins = cs.assign("w2", 8, 0.0)
    assert {l.task.stage for l in joins} == {2}
    cs.task_finished("w2", "q", joins[0].task, False, 0.0, reason=CS.FETCH_FAILED,
                     error="could not fetch", failed_address="A")
    # every output held at A is rerun; the failed join task waits for them
    again = cs.assign("w2", 8, 0.0)
    assert {l.task.stage for l in again} == {0, 1}
    assert job.error is None


def test_user_errors_fail_the_query_without_retry(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "A", slots=8)
    job = cs.submit("q", dag, 0.0)
    l = cs.assign("w1", 1, 0.0)[0]
    cs.task_finished("w1", "q", l.task, False, 0.0, reason=CS.USER_ERROR,
                     error_class="DataError", error="division by zero")
    assert job.done
    cls, msg = job.error
    assert cls == "DataError"
    assert "division by zero" in msg and f"stage {l.task.stage}" in msg and "worker w1" in msg


def test_internal_errors_retry_then_give_up(dag_and_roots):
    """Different internal errors are retried up to max_attempts."""
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler(max_attempts=3)
    cs.add_worker("w1", "A", slots=8)
    job = cs.submit("q", dag, 0.0)
    for _ in range(3):
        [l] = [l for l in cs.assign("w1", 10, 0.0) if (l.task.stage, l.task.partition) == (0, 1)]
        cs.task_finished("w1", "q", l.task, False, 0.0, reason=CS.INTERNAL,
                         error=f"boom {l.task.attempt}")
    assert job.done
    assert job.error[0] == "InternalError" or job.error[0] == "OperationalError"
    assert "boom 2" in job.error[1] and "3 attempts" in job.error[1]
    assert [a.attempt for a in job.attempts if (a.stage, a.partition) == (0, 1)] == [0, 1, 2]


def test_an_internal_error_repeated_fails_at_once(dag_and_roots):
    """The same internal error on two attempts is deterministic: no third."""
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler(max_attempts=4)
    cs.add_worker("w1", "A", slots=8)
    job = cs.submit("q", dag, 0.0)
    run_all(cs, 0.0, fail=lambda w, l: l.task.stage == 0 and l.task.partition == 1)
    assert job.done
    assert job.error[1].startswith("boom (") and "the same error on two attempts" in job.error[1]
    mine = [a for a in job.attempts if (a.stage, a.partition) == (0, 1)]
    assert [(a.attempt, a.why) for a in mine] == [(0, "internal error"), (1, "repeated error")]


def test_fetch_failures_do_not_count_against_the_consumer(dag_and_roots):
    """A consumer whose input cannot be fetched more times than max_attempts
    still runs: only the producer reruns. A checksum mismatch reruns just
    the named producer task."""
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler(max_attempts=2)
    cs.add_worker("w1", "A", slots=8)
    job = cs.submit("q", dag, 0.0)
    for l in cs.assign("w1", 8, 0.0):
        cs.task_finished("w1", "q", l.task, True, 0.0)
    for i in range(4):
        joins = cs.assign("w1", 8, 0.0)
        assert joins and {l.task.stage for l in joins} == {2}, i
        cs.task_finished("w1", "q", joins[0].task, False, 0.0, reason=CS.FETCH_FAILED,
                         error="checksum mismatch", failed_address="A", failed_stage=0,
                         failed_tasks=[1], why="checksum mismatch")
        for rest in joins[1:]:
            cs.task_finished("w1", "q", rest.task, True, 0.0)
        again = cs.assign("w1", 8, 0.0)
        assert [(l.task.stage, l.task.partition) for l in again] == [(0, 1)], i
        cs.task_finished("w1", "q", again[0].task, True, 0.0)
    assert job.error is None
    run_all(cs)
    assert job.done and job.error is None
    assert sum(a.why == "checksum mismatch" for a in job.attempts) == 4


def test_unknown_worker_gets_nothing(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.submit("q", dag, 0.0)
    assert cs.assign("nobody", 4, 0.0) == []
    assert cs.heartbeat("nobody", 0.0) is False
    assert cs.task_finished("nobody", "q", TaskId(0, 0, 0), True, 0.0) is False


def test_a_task_the_worker_does_not_hold_is_rerun_after_the_grace(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "A", slots=8, now=0.0)
    job = cs.submit("q", dag, 0.0)
    held, lost = cs.assign("w1", 2, 0.0)               # the second assignment never arrives
    keys = {("q", held.task.stage, held.task.partition, held.task.attempt)}
    assert cs.reconcile("w1", keys, now=5.0, grace=10.0) == 0      # too early to tell
    assert cs.reconcile("w1", keys, now=11.0, grace=10.0) == 1
    [att] = [a for a in job.attempts if (a.stage, a.partition) == (lost.task.stage,
                                                                   lost.task.partition)]
    assert att.state == "failed" and "no record" in att.error
    assert ("q", lost.task.stage, lost.task.partition) not in cs.workers["w1"].running
    again = cs.assign("w1", 8, 11.0)
    assert (lost.task.stage, lost.task.partition, 1) in \
        {(l.task.stage, l.task.partition, l.task.attempt) for l in again}
    assert job.error is None


def test_reports_for_retired_jobs_end_their_attempts(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "A", slots=8, now=0.0)
    job = cs.submit("q", dag, 0.0)
    [l] = cs.assign("w1", 1, 0.0)
    cs.cancel("q")
    assert cs.retire("q") is job and "q" in cs.finished and "q" not in cs.jobs
    assert cs.task_finished("w1", "q", l.task, False, 1.0, reason=CS.CANCELLED) is True
    assert [a.state for a in job.attempts] == ["cancelled"]
    assert not cs.workers["w1"].running


def _straggler(dag):
    """w1 runs every task of stages 0 and 1; all but (1, 1) finish in 1 s."""
    cs = CS.ClusterScheduler(speculation_multiplier=3.0, speculation_min_seconds=2.0)
    cs.add_worker("w1", "A", slots=8)
    cs.add_worker("w2", "B", slots=8)
    job = cs.submit("q", dag, 0.0)
    launches = cs.assign("w1", 4, 0.0)
    slow = [l for l in launches if (l.task.stage, l.task.partition) == (1, 1)][0]
    for l in launches:
        if l is not slow:
            cs.task_finished("w1", "q", l.task, True, 1.0)
    return cs, job, slow


def test_a_straggler_gets_a_backup_and_the_first_to_finish_wins(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs, job, slow = _straggler(dag)
    assert cs.assign("w2", 8, 2.5) == []           # not yet 3 x the 1 s median
    assert cs.assign("w1", 8, 9.0) == []           # never a backup on the same worker
    [backup] = cs.assign("w2", 8, 9.0)
    assert (backup.task.stage, backup.task.partition, backup.task.attempt) == (1, 1, 1)
    assert cs.assign("w2", 8, 9.5) == []           # one backup per task
    assert cs.task_finished("w2", "q", backup.task, True, 10.0)
    assert cs.task_finished("w1", "q", slow.task, True, 11.0) is False   # the loser: ignored
    assert job.outputs[(1, 1)] == "w2"
    mine = {a.attempt: a for a in job.attempts if (a.stage, a.partition) == (1, 1)}
    assert (mine[0].state, mine[0].why) == ("cancelled", "speculative loser")
    assert (mine[1].state, mine[1].why) == ("succeeded", "speculative winner")
    assert not cs.workers["w1"].running and not cs.workers["w2"].running
    run_all(cs, 12.0)
    assert job.done and job.error is None


def test_a_failed_or_lost_twin_costs_no_retry(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs, job, slow = _straggler(dag)
    [backup] = cs.assign("w2", 8, 9.0)
    cs.task_finished("w2", "q", backup.task, False, 9.5, reason=CS.INTERNAL, error="boom")
    assert job.sched.tasks[(1, 1)].failures == 0 and job.current[(1, 1)].worker == "w1"
    cs.add_worker("w3", "C", slots=8, now=9.5)
    [again] = cs.assign("w3", 8, 20.0)
    assert again.task.attempt == 2
    late = 20.0 + cs.heartbeat_timeout + 1
    cs.heartbeat("w2", late)
    cs.heartbeat("w3", late)
    cs.check_workers(now=late)                              # w1 (the original) is lost...
    assert job.current[(1, 1)].worker == "w3"               # ...the twin carries on
    assert cs.task_finished("w3", "q", again.task, True, 31.5)
    assert job.outputs[(1, 1)] == "w3" and job.error is None


def test_a_query_behind_a_long_one_gets_the_next_free_slots(dag_and_roots):
    # fair sharing: the first query queues tasks for every slot it can use; a
    # second one submitted later gets the slot freed next, not the first
    # query's remaining tasks
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "grpc+tcp://h:1", slots=1)
    cs.submit("long", dag, now=0.0)
    [first] = cs.assign("w1", 1, 0.0)
    assert first.query_id == "long"
    cs.submit("short", dag, now=1.0)
    cs.task_finished("w1", "long", first.task, True, 1.0)
    [second] = cs.assign("w1", 1, 1.0)
    assert second.query_id == "short"
    # with one task running each, the older query goes first again
    cs.add_worker("w2", "grpc+tcp://h:2", slots=2)
    assert [x.query_id for x in cs.assign("w2", 2, 1.0)] == ["long", "short"]


def test_fair_sharing_still_finishes_every_query(dag_and_roots):
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "grpc+tcp://h:1", slots=3)
    for q in ("q1", "q2", "q3"):
        cs.submit(q, dag, now=0.0)
    log = run_all(cs)
    assert all(cs.jobs[q].done and cs.jobs[q].error is None for q in ("q1", "q2", "q3"))
    assert {q for _, q, _ in log[:3]} == {"q1", "q2", "q3"}     # one slot each first


def test_a_higher_priority_query_gets_more_of_the_slots(dag_and_roots):
    # weighted fair sharing: running tasks count 1 / share_weight(priority),
    # so a priority-5 query runs up to six tasks for each of a priority-0 one
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "grpc+tcp://h:1", slots=4)
    cs.submit("low", dag, now=0.0)
    cs.submit("high", dag, now=1.0, priority=5)
    assert [x.query_id for x in cs.assign("w1", 4, 1.0)] == ["low", "high", "high", "high"]
    even = CS.ClusterScheduler()
    even.add_worker("w1", "grpc+tcp://h:1", slots=4)
    even.submit("low", dag, now=0.0)
    even.submit("high", dag, now=1.0)
    assert [x.query_id for x in even.assign("w1", 4, 1.0)] == ["low", "high", "low", "high"]


def test_a_fenced_query_gets_no_task_on_that_worker(dag_and_roots):
    # a worker that has not yet carried out a stop of a query gets none of
    # its tasks (a RESUMEd query's new tasks would be cancelled by it)
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "grpc+tcp://h:1", slots=4)
    cs.submit("q1", dag, now=0.0)
    cs.submit("q2", dag, now=0.0)
    got = cs.assign("w1", 4, 0.0, fenced={"q1"})
    assert got and {x.query_id for x in got} == {"q2"}
    assert {x.query_id for x in cs.assign("w1", 4, 0.0)} == {"q1"}


def test_a_resumed_run_ignores_the_earlier_runs_late_reports(dag_and_roots):
    """RESUME QUERY runs the query again under its id: a task of the
    cancelled run that reports "cancelled" late must not end the new run's
    attempt of the same task (seen as a QueryCancelled resume under load)."""
    from quiver.cluster.resume import first_attempt
    dag, _, _ = dag_and_roots
    cs = CS.ClusterScheduler()
    cs.add_worker("w1", "grpc+tcp://h:1", slots=8)
    cs.submit("q", dag, 0.0)
    old = cs.assign("w1", 8, 0.0)                        # the scans, attempt 0
    cs.cancel("q")
    cs.retire("q")
    previous = cs.finished["q"]
    job = cs.submit("q", dag, 1.0)
    job.sched.first_attempt = first_attempt(previous, [])
    new = cs.assign("w1", 8, 1.0)
    assert {l.task.attempt for l in new} == {1}
    for l in old:                                        # the old run's reports arrive
        cs.task_finished("w1", "q", l.task, False, 2.0, reason=CS.CANCELLED)
    assert not job.cancelled and job.error is None
    assert all(job.current[(l.task.stage, l.task.partition)].attempt == 1 for l in new)
    for l in new:
        cs.task_finished("w1", "q", l.task, True, 3.0)
    assert not job.done or job.error is None
    log = run_all(cs, 3.0)
    assert job.sched.finished and job.error is None and not job.cancelled
    assert all(task.attempt >= 1 for _, _, task in log)


def test_first_attempt_is_past_the_earlier_run_and_the_restored_outputs():
    from types import SimpleNamespace

    from quiver.cluster.resume import first_attempt
    prev = SimpleNamespace(attempts=[SimpleNamespace(attempt=a) for a in (0, 3, 1)])
    assert first_attempt(prev, [(0, 0, 5, "w", "w", 1, 1)]) == 6
    assert first_attempt(prev, []) == 4
    assert first_attempt(None, [(0, 0, 2, "w", "w", 1, 1)]) == 3
    assert first_attempt(None, []) == 0
