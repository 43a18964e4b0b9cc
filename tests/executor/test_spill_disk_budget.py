"""Without a spill_limit, a query may fill 90% of the disk space that was free
when it began to spill, then fails with SpillLimitExceeded in the user's words
instead of filling the disk (TPC-H Q5 at SF100 under 4GB ended with "No space
left on device" when 24 GB were free); the connection answers the next query."""

import shutil
from collections import namedtuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.errors import SpillLimitExceeded
from quiver.executor import memory
from quiver.executor.memory import MemoryPool

_Usage = namedtuple("_Usage", "total used free")


def _free(monkeypatch, free):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _Usage(10 * free, 9 * free, free))


def _spilling(tmp_path, spill_limit=None):
    """A pool, its query, a reservation of it and the query's spill folder."""
    pool = MemoryPool("1MB")
    q = pool.register_query("q1", spill_limit=spill_limit)
    r = pool.reservation("Sort", "q1")
    folder = tmp_path / "quiver-sort-1"
    folder.mkdir()
    pool.add_spill_folder("q1", str(folder))
    return pool, q, r, folder


@pytest.mark.parametrize("free,spill_limit,fits,over,message", [
    # without a spill_limit: 90% of the 10,000 bytes free
    (10_000, None, 8_000, 2_000, "90% of the disk space that was free"),
    # a user's spill_limit comes first, above the disk share as below it
    (1_000, 50_000, 20_000, 40_000, "over the query's spill limit"),
])
def test_spill_files_on_disk_stop_at_the_budget(tmp_path, monkeypatch, free, spill_limit,
                                                fits, over, message):
    _free(monkeypatch, free)
    pool, q, r, folder = _spilling(tmp_path, spill_limit)
    assert q.disk_budget == int(0.9 * free)
    (folder / "a.arrow").write_bytes(b"x" * fits)
    r.record_spill(fits)
    (folder / "b.arrow").write_bytes(b"x" * over)
    with pytest.raises(SpillLimitExceeded, match=message):
        r.record_spill(over)
    r.free()
    pool.release_query("q1")


def test_a_query_stops_before_the_disk_is_full(tmp_path, monkeypatch):
    (tmp_path / "t").mkdir()
    n = 200_000
    pq.write_table(pa.table({"k": pa.array(range(n), pa.int64()),
                             "s": pa.array([f"v{(i * 7919) % n:08d}" for i in range(n)])}),
                   tmp_path / "t" / "part-0.parquet")
    con = quiver.connect(memory_limit="4MB", spill_dir=str(tmp_path / "spill"))
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{tmp_path / 't'}'")
    _free(monkeypatch, 200_000)
    with pytest.raises(SpillLimitExceeded, match="free some space|Free some space"):
        con.execute("SELECT k, s FROM t ORDER BY s").fetchall()
    monkeypatch.undo()
    rows = con.execute("SELECT k, s FROM t ORDER BY s").fetchall()
    assert len(rows) == n and rows[0][1] == "v00000000"
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(n,)]
    con.close()


def test_a_full_disk_is_said_in_the_users_words():
    import errno

    from quiver.executor.local_runner import _raise_task_error
    from quiver.executor.scheduler import TaskId
    with pytest.raises(quiver.OperationalError, match="disk filled up") as info:
        _raise_task_error(OSError(errno.ENOSPC, "Error writing bytes to file"), TaskId(1, 0, 0))
    assert "Errno" not in str(info.value)
    with pytest.raises(quiver.errors.ExecutionError):
        _raise_task_error(OSError(errno.EIO, "I/O error"), TaskId(1, 0, 0))
