"""read_split decodes moderate row groups whole and slices them to the batch
size; the footer of a local file is parsed once while the file is unchanged;
a row group's statistics are decoded for that group alone."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq

from quiver.storage import footer_cache, parquet
from quiver.storage.dataset import open_dataset
from quiver.storage.parquet import ParquetFileInfo, RowGroupStats, read_split


def _write(path, n=1000, group=300):
    t = pa.table({"a": pa.array(range(n), pa.int64()),
                  "s": pa.array([f"v{i % 3}" for i in range(n)]),
                  "c": pa.array([f"comment {i}" for i in range(n)])})
    pq.write_table(t, path, row_group_size=group)
    return t


def test_whole_groups_are_sliced_to_the_batch_size(tmp_path):
    t = _write(tmp_path / "f.parquet")
    ds = open_dataset(str(tmp_path))
    meta = pq.read_metadata(tmp_path / "f.parquet")
    assert parquet._read_whole_groups(meta, [0, 1, 2, 3], ["a", "c"], 128)
    assert not parquet._read_whole_groups(meta, [0], ["a"], 512)
    batches = [b for s in ds.splits() for b in read_split(s, ["a", "s", "c"], ds.schema,
                                                          batch_size=128)]
    assert max(b.num_rows for b in batches) <= 128
    assert pa.Table.from_batches(batches).equals(t)
    # a low-cardinality string read as a dictionary, whole groups of uneven size
    pq.write_table(t, tmp_path / "f.parquet", row_group_size=170)
    ds = open_dataset(str(tmp_path))
    batches = [b for s in ds.splits() for b in read_split(s, ["s", "a"], ds.schema,
                                                          batch_size=128, keep_dictionary=True)]
    assert pa.types.is_dictionary(batches[0].schema.field("s").type)
    assert max(b.num_rows for b in batches) <= 128
    assert pa.Table.from_batches(batches).column("a").equals(t.column("a"))
    assert sum((b.column(0).cast(pa.string()).to_pylist() for b in batches), []) == \
        t.column("s").to_pylist()


def test_large_groups_are_read_in_batches(tmp_path, monkeypatch):
    _write(tmp_path / "f.parquet")
    meta = pq.read_metadata(tmp_path / "f.parquet")
    monkeypatch.setattr(parquet, "_WHOLE_GROUP_BYTES", 100)
    assert not parquet._read_whole_groups(meta, [0, 1], ["c"], 128)


def test_footer_is_reparsed_when_the_file_changes(tmp_path):
    path = str(tmp_path / "f.parquet")
    _write(path, n=100)
    first = footer_cache.local_footer(path)
    assert footer_cache.local_footer(path) is first
    _write(path, n=250, group=50)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    again = footer_cache.local_footer(path)
    assert again.num_rows == 250 and again.num_row_groups == 5
    ds = open_dataset(str(tmp_path))
    assert sum(b.num_rows for s in ds.splits() for b in read_split(s, ["a"], ds.schema)) == 250


def test_group_stats_decode_one_group(tmp_path):
    _write(tmp_path / "f.parquet")
    meta = pq.read_metadata(tmp_path / "f.parquet")
    info = ParquetFileInfo(str(tmp_path / "f.parquet"), 0, meta, (("p", "int64", "7"),))
    st = RowGroupStats(info, 2).stats("a")
    assert (st.min, st.max, st.num_rows) == (600, 899, 300)
    assert "a" not in info._stats        # the other groups were not decoded
    assert RowGroupStats(info, 1).stats("p").min == 7
    assert RowGroupStats(info, 1).stats("missing") is None
    whole = ParquetFileInfo(str(tmp_path / "f.parquet"), 0, meta).column_stats("a")
    assert [RowGroupStats(info, g).stats("a") for g in range(4)] == whole
