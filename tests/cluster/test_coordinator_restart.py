"""A coordinator killed (or frozen, then killed) in the middle of a multi-stage
TPC-H query at SF 0.1 and started again on the same port and state folder:
the query completes with the right answer, the client that submitted it
receives it without resubmitting, and the tasks the journal had recorded as
completed are not run again (system.tasks shows them `restored`, with no
other attempt). And a restart while idle brings back tables, views and
workers.

Real processes on 127.0.0.1: `quiver coordinator --port P --state-dir D`
and two `quiver worker` processes. The test reads the coordinator's journal
(SQLite, read-only) to choose the moment: when the trigger holds it
SIGSTOPs the coordinator, reads the journal again (now stable) to record
which tasks were complete, checks that the moment is the one asked for
(else it lets the query finish and tries again, at most ATTEMPTS times),
and then SIGKILLs it.

Slow (TPC-H generation, process starts): run with
    QUIVER_DURABILITY_TESTS=1 python -m pytest tests/cluster/test_coordinator_restart.py
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pytest

import quiver
from durable_fixtures import cluster, stage_done
from cluster_fixtures import wait_for
from quiver.cluster.chaos import Fault
from quiver.cluster.chaos_command import inject
from quiver.tpch import check
from quiver.tpch.datagen import table_dirs
from quiver.tpch.querylib import query_text

pytestmark = pytest.mark.skipif(not os.environ.get("QUIVER_DURABILITY_TESTS"),
                                reason="slow: set QUIVER_DURABILITY_TESTS=1")

SF = 0.1
ATTEMPTS = 6
CLIENT_WAIT = 240          # seconds for the client to get its answer after the restart


@pytest.fixture(scope="module")
def tpch_sf01(tmp_path_factory):
    if shutil.which("tpchgen-cli") is None:
        pytest.skip("tpchgen-cli is not installed")
    from quiver.tpch.datagen import generate
    out = tmp_path_factory.mktemp("tpch-sf0.1")
    generate(SF, str(out), parts=2)
    return str(out)


@pytest.fixture(scope="module")
def restartable(tmp_path_factory, tpch_sf01):
    root = str(tmp_path_factory.mktemp("restart"))
    # --chaos: the final-stage test slows its final task so that the moment
    # to kill is there to catch on a loaded machine too
    with cluster(root, workers=2, slots=1, coordinator_args=("--chaos",),
                 worker_args=("--chaos",)) as c:
        with quiver.connect(f"quiver://{c.address}") as con:
            for name, location in table_dirs(tpch_sf01).items():
                con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET "
                            f"LOCATION '{location}'")
            con.execute("CREATE VIEW big_orders AS SELECT o_orderkey FROM orders "
                        "WHERE o_totalprice > 300000")
            for n in (9, 21):                   # warm the numba caches
                con.execute(query_text(n)).fetchall()
        yield c


def _after_first_stage(dag, done):
    return stage_done(dag, done, dag.stages[0].id) and not stage_done(dag, done, dag.final.id)


def _during_final_stage(dag, done):
    return (all(stage_done(dag, done, s.id) for s in dag.stages[:-1])
            and not stage_done(dag, done, dag.final.id))


def _client(address: str, sql: str, out: dict) -> None:
    try:
        with quiver.connect(f"quiver://{address}", reconnect_timeout=CLIENT_WAIT) as con:
            cur = con.execute(sql)
            out["names"] = [d[0] for d in cur.description]
            out["rows"] = cur.fetchall()
            out["query_id"] = cur.query_id
    except Exception as exc:  # noqa: BLE001 - the test reports it
        out["error"] = exc


def _kill_at(c, n: int, moment, freeze_seconds: float = 0.0, slow_final: float = 0.0):
    """Run TPC-H query n from a client thread; when `moment(dag, done)`
    holds, freeze the coordinator, record the journal's completed tasks,
    optionally stay frozen, then SIGKILL it and start it again.
    Returns (client result, query id, dag, tasks complete at the kill).
    `slow_final` > 0 arms a chaos fault that delays the final task that long."""
    for _ in range(ATTEMPTS):
        if slow_final:
            inject(c.address, Fault(kind="slow", stage="final", seconds=slow_final))
        out: dict = {}
        t = threading.Thread(target=_client, args=(c.address, query_text(n), out), daemon=True)
        t.start()
        fired = None
        deadline = time.monotonic() + 120
        while t.is_alive() and time.monotonic() < deadline:
            found = c.running_query()
            if found is not None and moment(found[1], c.done_tasks(found[0])):
                c.signal_coordinator(signal.SIGSTOP)
                qid, dag = found
                done = c.done_tasks(qid)            # stable: the coordinator is frozen
                if moment(dag, done):
                    fired = (qid, dag, done)
                    break
                c.signal_coordinator(signal.SIGCONT)    # too late: try again
            time.sleep(0.002)
        if fired is None:
            t.join(CLIENT_WAIT)
            assert not t.is_alive(), "the client never finished"
            continue
        if freeze_seconds:
            time.sleep(freeze_seconds)
        c.kill_coordinator()
        c.start_coordinator()
        t.join(CLIENT_WAIT)
        assert not t.is_alive(), "the client got no answer after the restart"
        return out, *fired
    pytest.fail(f"the moment never came in {ATTEMPTS} runs of Q{n}")


def _check(c, n, out, qid, dag, done):
    assert "error" not in out, out.get("error")
    result = check.check_query(SF, n, out["names"], out["rows"])
    assert result.ok, result.message
    assert out["query_id"] == qid            # the same query, not a resubmitted one
    with quiver.connect(f"quiver://{c.address}") as con:
        records = con.execute("SELECT stage, task, attempt, state FROM system.tasks "
                              "WHERE query_id = ?", [qid]).fetchall()
    by_task: dict = {}
    for s, p, a, state in records:
        by_task.setdefault((s, p), []).append(state)
    for key in sorted(done):
        assert by_task.get(key) == ["restored"], (key, by_task.get(key))
    assert "succeeded" in by_task[(dag.final.id, 0)]
    assert done, "nothing had completed"
    print(f"Q{n}: {len(done)} tasks complete at the kill (stages "
          f"{sorted({s for s, _ in done})}), rerun after it: "
          f"{sorted(k for k, v in by_task.items() if 'succeeded' in v)}")
    return by_task


def test_sigkill_after_the_first_stage(restartable):
    out, qid, dag, done = _kill_at(restartable, 21, _after_first_stage)
    by_task = _check(restartable, 21, out, qid, dag, done)
    rerun = [k for k, states in by_task.items() if "succeeded" in states]
    assert rerun and all(k not in done for k in rerun)


def test_sigkill_during_the_final_stage(restartable):
    out, qid, dag, done = _kill_at(restartable, 9, _during_final_stage, slow_final=3.0)
    by_task = _check(restartable, 9, out, qid, dag, done)
    ran = {k for k, states in by_task.items() if "succeeded" in states}
    assert {s for s, _ in ran} == {dag.final.id}, ran     # only the final stage ran again


def test_sigstop_then_sigkill(restartable):
    # frozen long enough for the client's and workers' keepalive to notice
    out, qid, dag, done = _kill_at(restartable, 21, _after_first_stage, freeze_seconds=20)
    _check(restartable, 21, out, qid, dag, done)


def test_restart_while_idle_brings_back_tables_views_and_workers(restartable):
    c = restartable
    c.kill_coordinator()
    c.start_coordinator()
    with quiver.connect(f"quiver://{c.address}") as con:
        tables = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        assert {"lineitem", "orders", "big_orders"} <= set(tables), tables
        [(n,)] = con.execute("SELECT count(*) FROM big_orders").fetchall()
        assert n > 0 and [(n,)] == con.execute(
            "SELECT count(*) FROM orders WHERE o_totalprice > 300000").fetchall()
        wait_for(lambda: con.execute(
            "SELECT worker_id FROM system.workers WHERE state = 'alive' ORDER BY 1"
        ).fetchall() == [("w1",), ("w2",)], 60, "both workers to come back")
