"""read_split: row-group splits, projection, normalization, zero columns."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from quiver.storage.splits import Split
from quiver.storage.dataset import open_dataset
from quiver.storage.parquet import ReadCounters, read_split


def _big(tmp_path, n=1000, group=100):
    t = pa.table({"a": pa.array(range(n), pa.int64()),
                  "b": pa.array([i * 0.5 for i in range(n)]),
                  "c": pa.array([f"s{i % 7}" for i in range(n)])})
    pq.write_table(t, tmp_path / "big.parquet", row_group_size=group)
    return t


def test_row_group_splits_cover_file_once(tmp_path):
    t = _big(tmp_path)
    ds = open_dataset(str(tmp_path / "big.parquet"))
    assert ds.files[0].num_row_groups == 10
    assert ds.files[0].row_group_rows == [100] * 10
    whole = ds.splits()
    assert len(whole) == 1 and whole[0].row_groups is None and whole[0].rows == 1000
    target = sum(ds.files[0].row_group_bytes[:3])
    cut = ds.splits(target_bytes=target)
    assert len(cut) > 1
    groups = [g for s in cut for g in s.row_groups]
    assert groups == list(range(10))
    assert sum(s.rows for s in cut) == 1000
    read = pa.Table.from_batches([b for s in cut for b in read_split(s, ["a", "b", "c"], ds.schema)])
    assert read.equals(t)
    # max_splits coarsens the cut
    assert len(ds.splits(target_bytes=1, max_splits=3)) <= 3
    assert len(ds.splits(target_bytes=1)) == 10


def test_projection_reads_only_requested_columns(tmp_path, monkeypatch):
    _big(tmp_path)
    ds = open_dataset(str(tmp_path / "big.parquet"))
    seen = []
    orig = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("columns"))
        return orig(self, *args, **kwargs)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    (b,) = list(read_split(ds.splits()[0], ["c", "a"], ds.schema, batch_size=5000))
    assert seen == [["c", "a"]]
    assert b.schema.names == ["c", "a"] and b.num_rows == 1000


def test_zero_columns_carry_row_count(tmp_path):
    _big(tmp_path)
    ds = open_dataset(str(tmp_path / "big.parquet"))
    batches = list(read_split(ds.splits()[0], [], ds.schema, batch_size=300))
    assert all(b.num_columns == 0 for b in batches)
    assert sum(b.num_rows for b in batches) == 1000


def test_row_group_filter_and_counters(tmp_path):
    _big(tmp_path)
    ds = open_dataset(str(tmp_path / "big.parquet"))
    counters = ReadCounters()

    def keep(rg):
        s = rg.stats("a")
        return s.max >= 750          # groups holding a >= 750
    rows = sum(b.num_rows for b in read_split(ds.splits()[0], ["a"], ds.schema,
                                              row_group_filter=keep, counters=counters))
    assert rows == 300
    assert (counters.row_groups_read, counters.row_groups_skipped, counters.rows_read) == (3, 7, 300)


def test_normalizes_types(tmp_path):
    t = pa.table({
        "ls": pa.array(["x", "y", None], pa.large_string()),
        "dict": pa.array(["p", "q", "p"]).dictionary_encode(),
        "ts": pa.array([0, 1, 2], pa.timestamp("ns")),
        "lb": pa.array([b"1", b"2", b"3"], pa.large_binary()),
    })
    pq.write_table(t, tmp_path / "n.parquet")
    ds = open_dataset(str(tmp_path / "n.parquet"))
    assert ds.schema == pa.schema([("ls", pa.string()), ("dict", pa.string()),
                                   ("ts", pa.timestamp("us")), ("lb", pa.binary())])
    (b,) = list(read_split(ds.splits()[0], ds.schema.names, ds.schema))
    assert b.schema == ds.schema
    assert b.column("ls").to_pylist() == ["x", "y", None]
    assert b.column("dict").to_pylist() == ["p", "q", "p"]


def test_statistics_decoded(tmp_path):
    import datetime
    import decimal
    t = pa.table({"d": pa.array([decimal.Decimal("1.50"), None, decimal.Decimal("-2.25")],
                                pa.decimal128(10, 2)),
                  "dt": pa.array([datetime.date(2020, 1, 2), datetime.date(2019, 5, 6), None]),
                  "s": ["b", "a", "c"], "n": pa.array([None, None, None], pa.int32())})
    pq.write_table(t, tmp_path / "s.parquet")
    f = open_dataset(str(tmp_path / "s.parquet")).files[0]
    s = f.file_stats("d")
    assert (s.min, s.max, s.null_count, s.num_rows) == (decimal.Decimal("-2.25"), decimal.Decimal("1.50"), 1, 3)
    assert (f.file_stats("dt").min, f.file_stats("dt").max) == (datetime.date(2019, 5, 6), datetime.date(2020, 1, 2))
    assert (f.file_stats("s").min, f.file_stats("s").max) == ("a", "c")
    n = f.file_stats("n")
    assert not n.has_min_max and n.null_count == 3
    assert f.file_stats("missing") is None
    assert f.column_stats("s") is f.column_stats("s")    # cached


def test_split_with_explicit_row_groups(tmp_path):
    _big(tmp_path)
    ds = open_dataset(str(tmp_path / "big.parquet"))
    sp = Split(ds.files[0].path, (2, 5), rows=200)
    got = pa.Table.from_batches(list(read_split(sp, ["a"], ds.schema)))
    assert got.column("a").to_pylist() == list(range(200, 300)) + list(range(500, 600))


def test_nanosecond_bounds_match_values_read(tmp_path):
    raw = pa.array([1500, -1500, 10**12 + 999, None], pa.timestamp("ns"))
    pq.write_table(pa.table({"t": raw}), tmp_path / "ts.parquet")
    ds = open_dataset(str(tmp_path / "ts.parquet"))
    (b,) = list(read_split(ds.splits()[0], ["t"], ds.schema))
    s = ds.files[0].file_stats("t")
    import pyarrow.compute as pc
    mm = pc.min_max(b.column(0))
    assert (s.min, s.max, s.null_count) == (mm["min"].as_py(), mm["max"].as_py(), 1)
