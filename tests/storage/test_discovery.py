"""open_dataset over files, folders, globs, lists and memory://; errors."""

from __future__ import annotations

import uuid

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quiver.errors import ProgrammingError
from quiver.storage.dataset import open_dataset
from quiver.storage.parquet import read_split


def _write(path, start, n=10, **extra):
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = {"a": pa.array(range(start, start + n), pa.int64()),
            "s": pa.array([f"v{i}" for i in range(start, start + n)])}
    cols.update(extra)
    pq.write_table(pa.table(cols), path)


def _read_all(ds, columns=None):
    columns = list(ds.schema.names) if columns is None else columns
    batches = [b for s in ds.splits() for b in read_split(s, columns, ds.schema, ds.protocol,
                                                          ds.storage_options)]
    return pa.Table.from_batches(batches, schema=pa.schema([ds.schema.field(c) for c in columns]))


def test_single_file(tmp_path):
    _write(tmp_path / "one.parquet", 0)
    ds = open_dataset(str(tmp_path / "one.parquet"))
    assert ds.schema.names == ["a", "s"] and ds.partition_columns == []
    assert ds.num_rows == 10 and len(ds.files) == 1
    assert ds.total_bytes == (tmp_path / "one.parquet").stat().st_size
    assert ds.protocol == "file"
    assert _read_all(ds).column("a").to_pylist() == list(range(10))


def test_folder_recursive_skips_hidden_and_markers(tmp_path):
    _write(tmp_path / "d" / "p1.parquet", 0)
    _write(tmp_path / "d" / "sub" / "p2.parquet", 10)
    (tmp_path / "d" / "_SUCCESS").write_bytes(b"")
    (tmp_path / "d" / ".p1.parquet.crc").write_bytes(b"junk")
    (tmp_path / "d" / "p1.parquet.crc").write_bytes(b"junk")
    (tmp_path / "d" / "README.md").write_text("not parquet")
    _write(tmp_path / "d" / ".hidden" / "x.parquet", 100)
    _write(tmp_path / "d" / "_temporary" / "x.parquet", 200)
    ds = open_dataset(str(tmp_path / "d"))
    assert len(ds.files) == 2
    assert sorted(_read_all(ds).column("a").to_pylist()) == list(range(20))


def test_file_uri_glob_and_list(tmp_path):
    for i in range(3):
        _write(tmp_path / f"part{i}.parquet", i * 10)
    ds = open_dataset(f"file://{tmp_path}/part*.parquet")
    assert ds.num_rows == 30 and len(ds.files) == 3
    ds2 = open_dataset([str(tmp_path / "part0.parquet"), str(tmp_path / "part2.parquet")])
    assert sorted(_read_all(ds2).column("a").to_pylist()) == list(range(10)) + list(range(20, 30))
    # a file listed twice is read once
    ds3 = open_dataset([str(tmp_path / "part0.parquet"), f"{tmp_path}/part0*"])
    assert ds3.num_rows == 10


def test_glob_matching_folders(tmp_path):
    _write(tmp_path / "t" / "x=1" / "f.parquet", 0)
    _write(tmp_path / "t" / "x=2" / "f.parquet", 10)
    ds = open_dataset(f"{tmp_path}/t/*")
    assert ds.partition_columns == ["x"] and ds.num_rows == 20


def test_memory_filesystem():
    root = f"memory://quiver-test-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    for i, key in enumerate(["k=a", "k=b"]):
        with fs.open(f"{root}/{key}/data.parquet", "wb") as f:
            pq.write_table(pa.table({"a": [i, i + 10]}), f)
    try:
        ds = open_dataset(root + "/")
        assert ds.protocol == "memory"
        assert ds.schema == pa.schema([("a", pa.int64()), ("k", pa.string())])
        t = _read_all(ds).sort_by("a")
        assert t.to_pydict() == {"a": [0, 1, 10, 11], "k": ["a", "b", "a", "b"]}
    finally:
        fs.rm(root, recursive=True)


def test_empty_location_names_it(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProgrammingError, match="empty"):
        open_dataset(str(tmp_path / "empty"))
    with pytest.raises(ProgrammingError, match="nothing-here"):
        open_dataset(str(tmp_path / "nothing-here"))
    with pytest.raises(ProgrammingError, match=r"\*\.parquet"):
        open_dataset(f"{tmp_path}/*.parquet")


def test_not_parquet_names_file(tmp_path):
    (tmp_path / "bad.parquet").write_text("hello")
    with pytest.raises(ProgrammingError, match="bad.parquet"):
        open_dataset(str(tmp_path / "bad.parquet"))


def test_schema_unification(tmp_path):
    (tmp_path / "u").mkdir()
    pq.write_table(pa.table({"a": pa.array([1, 2], pa.int32()),
                             "s": pa.array(["x", "y"], pa.large_string())}),
                   tmp_path / "u" / "a.parquet")
    pq.write_table(pa.table({"a": pa.array([3], pa.int64()), "extra": [1.5]}),
                   tmp_path / "u" / "b.parquet")
    ds = open_dataset(str(tmp_path / "u"))
    assert ds.schema == pa.schema([("a", pa.int64()), ("s", pa.string()), ("extra", pa.float64())])
    t = _read_all(ds).sort_by("a")
    assert t.to_pydict() == {"a": [1, 2, 3], "s": ["x", "y", None], "extra": [None, None, 1.5]}


def test_schema_conflict_names_file(tmp_path):
    (tmp_path / "c").mkdir()
    pq.write_table(pa.table({"a": [1]}), tmp_path / "c" / "a.parquet")
    pq.write_table(pa.table({"a": ["text"]}), tmp_path / "c" / "b.parquet")
    with pytest.raises(ProgrammingError, match="b.parquet"):
        open_dataset(str(tmp_path / "c"))


def test_folder_of_extensionless_files(tmp_path):
    (tmp_path / "h").mkdir()
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "h" / "000000_0")
    ds = open_dataset(str(tmp_path / "h"))
    assert ds.num_rows == 2
