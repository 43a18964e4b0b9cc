"""The process memory pool: sizes, limits, per-query caps, the refusal error."""

import threading

import pytest

import quiver
from quiver.errors import MemoryLimitExceeded, SpillLimitExceeded
from quiver.executor.memory import (PROCESS_FOOTPRINT, RESERVABLE_SHARE, MemoryPool, default_limit, parse_size,
                                    process_pool, reservable, total_memory)


@pytest.mark.parametrize("text,expected", [
    ("4GB", 4 << 30), ("512MB", 512 << 20), ("64kb", 64 << 10), ("1.5GiB", 3 << 29),
    ("4096", 4096), (" 2 g ", 2 << 30), (100, 100), ("10B", 10)])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["lots", "4 XB", "", "-1GB", 0, -5, True, None, "0MB", "4GB!"])
def test_parse_size_refuses_bad_text(bad):
    with pytest.raises(quiver.ProgrammingError):
        parse_size(bad)


def test_percent_and_default_are_shares_of_ram():
    assert parse_size("50%") == pytest.approx(total_memory() // 2, rel=1e-6)
    assert default_limit() == int(total_memory() * 0.8)
    assert MemoryPool().limit == default_limit()


def test_reservations_fill_four_fifths_of_a_limit():
    """The last fifth is for batches in flight and the interpreter, which no
    reservation counts: a limit is the process's, not the operators'."""
    assert RESERVABLE_SHARE == 0.8 and reservable(1000) == 800
    # from ~1.4 GiB up the process's own footprint is taken off first
    assert reservable(2 << 30) == int(((2 << 30) - PROCESS_FOOTPRINT) * 0.8)
    assert reservable(1 << 30) == int((1 << 30) * 0.8)
    pool = MemoryPool(1000)
    r = pool.reservation("Sort")
    assert r.try_grow(800) and not r.try_grow(1)
    pool.register_query("q", limit=500)
    assert not pool.reservation("Sort", "q").try_grow(401)


def test_grow_shrink_peak_and_free():
    pool = MemoryPool(1250)                  # 1000 bytes reservable
    a = pool.reservation("HashJoin")
    b = pool.reservation("Sort")
    assert a.try_grow(600) and pool.reserved == 600
    assert not b.try_grow(500) and b.size == 0
    b.grow(400)
    assert pool.reserved == 1000 and pool.peak == 1000
    a.shrink(100)
    b.resize(450)
    assert (a.size, b.size, pool.reserved) == (500, 450, 950)
    b.resize(10)
    assert pool.reserved == 510
    with a:
        pass
    assert a.size == 0 and pool.reserved == 10 and a.peak == 600
    b.free()
    assert pool.reserved == 0 and pool.peak == 1000


def test_refusal_names_operator_stage_and_bytes():
    pool = MemoryPool(1250)
    res = pool.reservation("HashJoin build", stage=3)
    res.grow(1000)
    with pytest.raises(MemoryLimitExceeded) as e:
        res.grow(5000)
    msg = str(e.value)
    assert "HashJoin build in stage 3" in msg and "5000 bytes" in msg and "memory_limit" in msg
    assert isinstance(e.value, quiver.OperationalError)
    assert res.size == 1000          # a refused grow holds nothing more


def test_query_limit_caps_below_the_pool_and_counts_spill():
    pool = MemoryPool("1MB")
    q = pool.register_query("q1", limit=125, spill_limit=1000)   # 100 bytes reservable
    r = pool.reservation("Aggregate", "q1")
    other = pool.reservation("Sort", "q2")
    assert r.try_grow(100) and not r.try_grow(1)
    assert other.try_grow(10_000)            # another query is not capped by q1's limit
    with pytest.raises(MemoryLimitExceeded, match="the query holds"):
        r.grow(50)
    r.record_spill(600)
    with pytest.raises(SpillLimitExceeded):
        r.record_spill(600)
    r.free()
    assert (q.reserved, q.peak, q.spilled) == (0, 100, 1200)
    assert pool.release_query("q1") is q and pool.query("q1") is None


def test_spill_limit_holds_the_files_on_disk_not_all_bytes_ever_written(tmp_path):
    # a grace join removes each level's files: what was written and is gone
    # does not count against the spill limit; files still on disk do
    pool = MemoryPool("1MB")
    q = pool.register_query("q1", spill_limit=1000)
    r = pool.reservation("HashJoin build", "q1")
    folder = tmp_path / "quiver-join-1"
    folder.mkdir()
    pool.add_spill_folder("q1", str(folder))
    (folder / "a.arrow").write_bytes(b"x" * 800)
    r.record_spill(800)
    (folder / "a.arrow").unlink()                 # that level is done
    (folder / "b.arrow").write_bytes(b"x" * 800)
    r.record_spill(800)                           # 1600 written, 800 on disk: fine
    assert q.spilled == 1600 and q.on_disk == 800
    (folder / "c.arrow").write_bytes(b"x" * 400)
    with pytest.raises(SpillLimitExceeded, match=r"1\.2 KiB of spill files on disk"):
        r.record_spill(400)                       # 1200 on disk at once
    r.free()
    pool.release_query("q1")


def test_spill_limit_without_folders_counts_bytes_written():
    pool = MemoryPool("1MB")
    pool.register_query("q1", spill_limit=1000)
    r = pool.reservation("Sort", "q1")
    r.record_spill(900)
    with pytest.raises(SpillLimitExceeded, match="over the query's spill limit"):
        r.record_spill(200)
    r.free()
    pool.release_query("q1")


def test_stage_peak_is_what_its_reservations_held_at_once():
    # tasks of a stage that take turns do not add up (EXPLAIN ANALYZE's
    # per-stage peak_mem); tasks that overlap do
    pool = MemoryPool("1MB")
    q = pool.register_query("q1")
    for _ in range(3):                       # stage 1: three tasks one after another
        r = pool.reservation("HashJoin", "q1", stage=1)
        assert r.try_grow(1000)
        r.free()
    a, b = (pool.reservation("Sort", "q1", stage=2) for _ in range(2))
    assert a.try_grow(300) and b.try_grow(500)     # stage 2: two at once
    a.shrink(300)
    assert b.try_grow(100)
    assert pool.stage_peaks(q) == {1: 1000, 2: 800}
    b.free()
    assert q.peak == 1000


def test_a_tasks_spillers_go_with_its_context():
    # a worker's tasks of one query share the pool's entry for it, which
    # outlives each task: a finished task's spiller (and the buffers it
    # holds) must not stay in it
    from quiver.executor.context import ExecContext
    pool = MemoryPool("1MB")
    first = ExecContext(pool=pool, query_key="q")
    second = ExecContext(pool=pool, query_key="q")
    calls = []
    first.add_spiller(lambda n: calls.append(("first", n)))
    second.add_spiller(lambda n: calls.append(("second", n)))
    first.close()
    pool.reclaim("q", 10)
    assert calls == [("second", 10)]
    second.close()
    assert pool.query("q") is None


def test_set_limit_and_concurrent_reservations():
    pool = MemoryPool(10)
    pool.set_limit("1KB")
    assert pool.limit == 1024
    granted = []

    def grab():
        r = pool.reservation("t")
        for _ in range(100):
            if r.try_grow(8):
                granted.append(8)
    threads = [threading.Thread(target=grab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sum(granted) == pool.reserved <= 1024


def test_process_pool_is_one_object():
    assert process_pool() is process_pool()


def test_release_unused_memory_returns_and_keeps_data_intact():
    import pyarrow as pa
    from quiver.executor.memory import release_unused_memory
    kept = pa.array(range(100_000))
    big = pa.array(range(2_000_000))
    del big
    release_unused_memory()                  # callable any time, twice too
    release_unused_memory()
    assert kept[99_999].as_py() == 99_999
