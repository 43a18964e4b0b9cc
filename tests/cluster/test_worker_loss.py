"""Killing a worker process mid-query: the coordinator declares it lost
after the heartbeat timeout, reruns its running tasks and the outputs it
held, and the queries still answer correctly."""

import os
import signal
import threading
import time

import pytest

import quiver
from quiver.tpch import check
from quiver.tpch.datagen import table_dirs
from quiver.tpch.querylib import query_text


@pytest.fixture(scope="module")
def cluster_for_loss(tmp_path_factory):
    from cluster_fixtures import running_cluster
    with running_cluster(3, str(tmp_path_factory.mktemp("loss")), slots=2,
                         coordinator_args=("--heartbeat-timeout", "2")) as c:
        yield c


def test_killing_a_worker_mid_query_still_answers(cluster_for_loss, tpch_sf001):
    c = cluster_for_loss
    con = quiver.connect(f"quiver://{c.address}", target_partitions=6, shuffle_partitions=12,
                         batch_size=512)
    try:
        for name, location in table_dirs(tpch_sf001).items():
            con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{location}'")
        sql = query_text(9)
        con.execute(sql).fetchall()                 # warm up (JIT) on every worker
        results, errors = [], []

        def run():
            try:
                with quiver.connect(f"quiver://{c.address}", target_partitions=6,
                                    shuffle_partitions=12, batch_size=512) as con2:
                    for _ in range(3):
                        cur = con2.execute(sql)
                        results.append(([d[0] for d in cur.description], cur.fetchall()))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.3)
        victim = c.workers[2].popen
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        t.join(120)
        assert not t.is_alive(), "queries did not finish after a worker was killed"
        assert not errors, errors
        assert len(results) == 3
        for names, rows in results:
            result = check.check_query(0.01, 9, names, rows)
            assert result.ok, result.message
        states = dict(con.execute("SELECT worker_id, state FROM system.workers").fetchall())
        assert states == {"w1": "alive", "w2": "alive", "w3": "lost"}
        reruns = con.execute("SELECT count(*) FROM system.tasks WHERE attempt > 0").fetchall()
        assert reruns[0][0] > 0, "the kill landed between queries: nothing was rerun"
    finally:
        con.close()
