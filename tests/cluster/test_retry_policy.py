"""Retries that know errors, on a real coordinator with worker processes:

- a stage plan the coordinator cannot send fails the query at once with
  the real error (it used to vanish: the task was marked launched, the
  worker never got it, and after four "no record of task" retries the
  query failed with that message instead);
- an error escaping a worker's task runner is still reported, and an
  internal error repeating on two attempts fails the query with it;
- a task that makes no progress (a slowed worker) is declared stalled and
  rerun elsewhere while its process keeps heartbeating.
"""

import os
import threading

import pytest

import quiver
from cluster_fixtures import coordinator_with_workers, wait_for
from quiver import errors
from quiver.cluster import coordinator as coordinator_module
from quiver.cluster.chaos import Fault
from quiver.cluster.chaos_command import inject
from quiver.cluster.codec import CodecError
from quiver.cluster.worker import Worker


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import pyarrow as pa
    import pyarrow.parquet as pq
    root = tmp_path_factory.mktemp("retry-data")
    for i in range(4):
        pq.write_table(pa.table({"k": list(range(i * 50, i * 50 + 50))}),
                       str(root / f"part-{i}.parquet"))
    return str(root)


QUERY = "SELECT k % 3 AS g, count(*) FROM t GROUP BY g ORDER BY g"
ANSWER = [(0, 67), (1, 67), (2, 66)]


def _connect(coord, data):
    con = quiver.connect(f"quiver://{coord.address}", target_partitions=4)
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
    return con


def test_a_plan_that_cannot_be_sent_fails_at_once(tmp_path, data, monkeypatch):
    with coordinator_with_workers(str(tmp_path), workers=1, slots=2) as (coord, _):
        con = _connect(coord, data)
        try:
            def refuse(stage):
                raise CodecError("cannot encode Foo: not a plan class the codec allows")
            monkeypatch.setattr(coordinator_module, "stage_to_bytes", refuse)
            with pytest.raises(errors.Error, match="cannot send the stage plan: cannot encode "
                                                   "Foo") as e:
                con.execute(QUERY)
            assert "no record" not in str(e.value)
            with coord.cond:
                job = list(coord.scheduler.finished.values())[-1]
                assert [a.why for a in job.attempts if a.why] == ["bad plan"]
            monkeypatch.undo()
            assert con.execute(QUERY).fetchall() == ANSWER      # the cluster is fine
        finally:
            con.close()


def test_an_escaping_error_is_reported_and_a_repeat_fails_at_once(tmp_path, data):
    with coordinator_with_workers(str(tmp_path), workers=0) as (coord, _):
        worker = Worker(coord.address, slots=2, data_dir=str(tmp_path / "w"), name="inproc")

        def broken(task):
            raise KeyError("lost key")
        worker.run_task = broken
        worker.start()
        con = _connect(coord, data)
        try:
            with pytest.raises(errors.Error, match="KeyError: 'lost key'.*the same error on two "
                                                   "attempts"):
                con.execute(QUERY)
            with coord.cond:
                job = list(coord.scheduler.finished.values())[-1]
                whys = [a.why for a in job.attempts if a.why and a.why != "query over"]
            assert whys[-1] == "repeated error" and "assignment or report lost" not in whys
        finally:
            con.close()
            worker.stop()


def test_a_stalled_task_is_rerun(tmp_path, data):
    with coordinator_with_workers(str(tmp_path), workers=2, slots=2, chaos=True,
                                  task_stall_timeout=4.0,
                                  worker_args=("--chaos",)) as (coord, _):
        con = _connect(coord, data)
        try:
            inject(coord.address, Fault("slow", "leaf", seconds=300))
            outcome = []
            thread = threading.Thread(target=lambda: outcome.append(con.execute(QUERY).fetchall()),
                                      daemon=True)
            thread.start()
            thread.join(120)
            assert not thread.is_alive(), "the query waited for the stalled task"
            assert outcome == [ANSWER]
            with coord.cond:
                job = list(coord.scheduler.finished.values())[-1]
                [fired] = coord.armory.fired
                key = (fired["stage_id"], fired["task"])
                mine = [a for a in job.attempts if (a.stage, a.partition) == key]
                # (a healthy task may be called stalled too when its first batch
                # waits on a cold numba compile longer than this test's timeout)
                assert mine[0].why == "stalled" and mine[0].state == "lost", mine
                assert mine[-1].state == "succeeded" and mine[-1].attempt > 0
                assert coord.scheduler.workers[mine[0].worker].state == "alive"
        finally:
            con.close()


def test_a_slowed_task_is_overtaken_by_a_backup(tmp_path, data):
    """Speculation: a task slowed by injection (its process healthy, its
    progress reports too slow to be called stalled) gets a backup on the
    other worker, which wins; the slowed attempt is the loser."""
    with coordinator_with_workers(str(tmp_path), workers=2, slots=2, chaos=True,
                                  speculation_min_seconds=1.0,
                                  worker_args=("--chaos",)) as (coord, _):
        con = _connect(coord, data)
        try:
            con.execute(QUERY).fetchall()          # warm: compiled kernels, task times
            inject(coord.address, Fault("slow", "leaf", seconds=300))
            outcome = []
            thread = threading.Thread(target=lambda: outcome.append(con.execute(QUERY).fetchall()),
                                      daemon=True)
            thread.start()
            thread.join(120)
            assert not thread.is_alive(), "the query waited for the slowed task"
            assert outcome == [ANSWER]
            with coord.cond:
                job = list(coord.scheduler.finished.values())[-1]
                [fired] = coord.armory.fired
                key = (fired["stage_id"], fired["task"])
                mine = {a.attempt: a for a in job.attempts if (a.stage, a.partition) == key}
            assert (mine[0].state, mine[0].why) == ("cancelled", "speculative loser")
            assert mine[1].why == "speculative winner" and mine[1].worker != mine[0].worker
            rows = con.execute("SELECT attempt, ended_by FROM system.tasks WHERE query_id = ? "
                               "AND stage = ? AND task = ? ORDER BY attempt",
                               [job.query_id, *key]).fetchall()
            assert rows == [(0, "speculative loser"), (1, "speculative winner")]
        finally:
            con.close()
