"""ResultWindow: unread results are reserved from the pool, spill to disk
when the pool refuses or an operator of the query needs room, and come back
in partition order."""

import os

import pyarrow as pa

from quiver.executor.memory import MemoryPool
from quiver.executor.result_window import ResultWindow


def _batch(start: int, n: int = 100) -> pa.RecordBatch:
    return pa.record_batch({"x": pa.array(range(start, start + n), pa.int64())})


def _drain(window: ResultWindow) -> list[int]:
    out = []
    while (b := window.take()) is not None:
        out.extend(b.column(0).to_pylist())
    return out


def _files(folder) -> list[str]:
    return [os.path.join(r, f) for r, _, fs in os.walk(folder) for f in fs]


def test_spill_frees_the_reservation_and_keeps_partition_order(tmp_path):
    pool = MemoryPool(1 << 20)
    res = pool.reservation("ResultWindow")
    w = ResultWindow(2, None, res, str(tmp_path))
    for p in (0, 1):
        for i in range(3):
            w.put(p, _batch(p * 1000 + i * 100))
    held = res.size
    assert held == 6 * _batch(0).nbytes
    w.put(0, _batch(300))                       # partition 0: memory, spilled, memory
    w.spill(held // 2)                          # the last partition goes first
    assert res.size < held and res.spilled > 0
    assert _files(tmp_path)
    w.finish(0)
    w.finish(1)
    want = list(range(0, 400)) + list(range(1000, 1300))
    assert _drain(w) == want
    assert w.exhausted and res.size == 0
    w.clear()
    assert not _files(tmp_path)


def test_a_refused_batch_goes_to_disk_instead_of_being_held_uncounted(tmp_path):
    one = _batch(0).nbytes
    pool = MemoryPool(one + one // 2)            # room for one batch
    res = pool.reservation("ResultWindow")
    w = ResultWindow(1, None, res, str(tmp_path))
    w.put(0, _batch(0))
    w.put(0, _batch(100))                        # refused: spilled
    assert res.size == one and w.spilled == one
    assert not w.may_put(0)                      # producers park after a refusal
    w.finish(0)
    assert _drain(w) == list(range(200))
    w.clear()
    assert not _files(tmp_path)


def test_clear_removes_unread_spill_files(tmp_path):
    pool = MemoryPool(1 << 20)
    res = pool.reservation("ResultWindow")
    w = ResultWindow(1, None, res, str(tmp_path))
    w.put(0, _batch(0))
    w.spill(1)
    assert _files(tmp_path)
    w.clear()
    assert not _files(tmp_path) and res.size == 0


def test_a_batch_put_after_clear_leaves_no_folder_behind(tmp_path):
    """A producer still running when the client dropped the result must not
    make the spill folder again (empty quiver-result-* folders were left in
    /tmp by loaded test runs)."""
    one = _batch(0).nbytes
    pool = MemoryPool(one + one // 2)
    res = pool.reservation("ResultWindow")
    w = ResultWindow(1, None, res, str(tmp_path))
    w.put(0, _batch(0))
    w.put(0, _batch(100))                        # refused: spilled, the folder exists
    assert os.listdir(tmp_path)
    w.clear()
    assert os.listdir(tmp_path) == []
    w.put(0, _batch(200))                        # refused again, after the clear
    w.put(0, _batch(300))
    assert os.listdir(tmp_path) == [] and res.size == 0


def test_a_window_dropped_without_clear_removes_its_folder(tmp_path):
    import gc
    one = _batch(0).nbytes
    pool = MemoryPool(one + one // 2)
    w = ResultWindow(1, None, pool.reservation("ResultWindow"), str(tmp_path))
    w.put(0, _batch(0))
    w.put(0, _batch(100))
    assert os.listdir(tmp_path)
    del w
    gc.collect()
    assert os.listdir(tmp_path) == []
