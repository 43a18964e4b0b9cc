"""A worker whose disk fills up (ENOSPC while a task writes its output)
fails the query with an OperationalError in the user's words, naming the
worker and what to do, not an OSError's text; the task is retried first
(another worker may have room) and the worker answers the next query."""

import errno

import pyarrow as pa
import pytest

import quiver
from cluster_fixtures import coordinator_and_worker


@pytest.fixture
def cluster(tmp_path):
    with coordinator_and_worker(str(tmp_path), name="w1") as cw:
        yield cw


def test_a_full_disk_is_an_operational_error_and_the_worker_goes_on(cluster, monkeypatch):
    coord, worker = cluster
    attempts = []

    def full(*args, **kwargs):
        attempts.append(args[:4])
        raise OSError(errno.ENOSPC, "No space left on device", "/data/shuffle/x.arrow")

    with quiver.connect(f"quiver://{coord.address}") as con:
        con.register("t", pa.table({"k": list(range(100)), "v": [1] * 100}))
        sql = "SELECT k % 3 AS g, sum(v) FROM t GROUP BY 1 ORDER BY 1"
        expected = con.execute(sql).fetchall()
        monkeypatch.setattr(worker.files, "write", full)
        with pytest.raises(quiver.OperationalError) as e:
            con.execute(sql).fetchall()
        text = str(e.value)
        assert "disk of worker w1 filled up" in text and "No space left on device" in text
        assert "--data-dir" in text and "Errno" not in text and "OSError" not in text
        assert len(attempts) >= 2                   # retried before giving up
        monkeypatch.undo()
        assert con.execute(sql).fetchall() == expected
