"""write_table round trips and the catalog's JSON persistence."""

from __future__ import annotations

import datetime
import uuid

import fsspec
import pyarrow as pa
import pytest

from quiver.errors import ProgrammingError
from quiver.storage.catalog import Catalog, TableEntry, ViewEntry
from quiver.storage.dataset import Dataset, open_dataset
from quiver.storage.memory import MemoryTable
from quiver.storage.parquet import read_split
from quiver.storage.writer import write_table


def _read(ds):
    batches = [b for s in ds.splits() for b in read_split(s, ds.schema.names, ds.schema,
                                                          ds.protocol, ds.storage_options)]
    return pa.Table.from_batches(batches, schema=ds.schema)


def _table():
    return pa.table({
        "id": pa.array(range(12), pa.int64()),
        "region": pa.array(["eu", "us", None, "a/b"] * 3),
        "day": pa.array([datetime.date(2024, 1, 1 + i % 2) for i in range(12)]),
        "x": pa.array([i * 1.5 for i in range(12)]),
    })


def test_round_trip_with_partitions(tmp_path):
    loc = str(tmp_path / "out")
    assert write_table(_table(), loc, partition_by=["region", "day"]) == loc
    ds = open_dataset(loc)
    assert ds.partition_columns == ["region", "day"]
    assert ds.schema == pa.schema([("id", pa.int64()), ("x", pa.float64()),
                                   ("region", pa.string()), ("day", pa.date32())])
    got = _read(ds).sort_by("id").select(["id", "region", "day", "x"])
    assert got.equals(_table())
    # overwrite replaces, not appends
    write_table(_table().slice(0, 4), loc, partition_by=["region"])
    assert open_dataset(loc).num_rows == 4
    with pytest.raises(ProgrammingError, match="already exists"):
        write_table(_table(), loc, mode="error")


def test_round_trip_unpartitioned_batches_and_empty(tmp_path):
    t = _table()
    loc = str(tmp_path / "plain")
    write_table(t.to_batches(max_chunksize=5), loc)
    assert _read(open_dataset(loc)).sort_by("id").equals(t)
    empty = str(tmp_path / "empty")
    write_table(t.slice(0, 0), empty, partition_by=["region"])
    ds = open_dataset(empty)
    assert ds.num_rows == 0 and set(ds.schema.names) == set(t.schema.names)
    with pytest.raises(ProgrammingError, match="nope"):
        write_table(t, str(tmp_path / "bad"), partition_by=["nope"])


def test_write_to_memory_filesystem():
    loc = f"memory://quiver-writer-{uuid.uuid4().hex}/t"
    try:
        write_table(_table(), loc, partition_by=["day"])
        ds = open_dataset(loc)
        assert ds.protocol == "memory" and ds.num_rows == 12
        assert ds.schema.field("day").type == pa.date32()
    finally:
        fsspec.filesystem("memory").rm(loc.replace("memory://", "/").rsplit("/", 1)[0], recursive=True)


def test_catalog_register_lookup_drop(tmp_path):
    write_table(_table(), str(tmp_path / "t"), partition_by=["day"])
    cat = Catalog()
    e = cat.register_dataset("Sales", str(tmp_path / "t"))
    assert isinstance(e, TableEntry) and isinstance(e.source, Dataset)
    assert cat.lookup("SALES") is e and "sales" in cat
    assert cat.lookup("nope") is None
    with pytest.raises(ProgrammingError, match="already exists"):
        cat.register_dataset("sales", str(tmp_path / "t"))
    cat.register_table("Mem", _table())
    assert isinstance(cat.lookup("mem").source, MemoryTable)
    assert cat.lookup("mem").source.num_rows == 12
    cat.register_view("V", "SELECT 1")
    assert isinstance(cat.lookup("v"), ViewEntry)
    assert cat.entries() == [("mem", "table"), ("sales", "table"), ("v", "view")]
    assert cat.list() == ["mem", "sales", "v"]
    assert list(cat.memory_tables()) == ["mem"] and cat.memory_tables()["mem"].num_rows == 12
    with pytest.raises(ProgrammingError, match="is a view"):
        cat.drop("v", "table")
    assert cat.drop("v", "view") is True
    assert cat.drop("v", "view", if_exists=True) is False
    with pytest.raises(ProgrammingError, match="does not exist"):
        cat.drop("v", "view")
    with pytest.raises(ProgrammingError, match="no Parquet files"):
        cat.register_dataset("ghost", str(tmp_path / "ghost"))
    assert cat.lookup("ghost") is None


def test_catalog_json_round_trip(tmp_path):
    write_table(_table(), str(tmp_path / "t"), partition_by=["region"])
    cat = Catalog()
    cat.register_dataset("t", str(tmp_path / "t"),
                         partition_columns=[("region", pa.string())])
    cat.register_dataset("t2", [str(tmp_path / "t")], hive_partitioning=False)
    cat.register_table("mem", _table())
    cat.register_view("v", "SELECT id FROM t")
    # a Dataset opened by the caller keeps its open options
    cat.register_dataset("t3", open_dataset(str(tmp_path / "t"), hive_partitioning=False))
    assert Catalog.from_json(cat.to_json()).lookup("t3").source.partition_columns == []
    cat.drop("t3")
    text = cat.to_json()
    back = Catalog.from_json(text)
    assert back.entries() == [("t", "table"), ("t2", "table"), ("v", "view")]
    assert back.memory_tables() == {}
    assert back.lookup("v").sql == "SELECT id FROM t"
    assert back.lookup("t").source.schema == cat.lookup("t").source.schema
    assert back.lookup("t2").source.partition_columns == []
    assert back.lookup("t2").location == [str(tmp_path / "t")]
    assert Catalog.from_json(back.to_json()).to_json() == text


def test_catalog_keeps_absolute_local_locations(tmp_path, monkeypatch):
    write_table(_table(), str(tmp_path / "rel"))
    monkeypatch.chdir(tmp_path)
    cat = Catalog()
    cat.register_dataset("r", "rel")
    text = cat.to_json()
    monkeypatch.chdir("/")
    assert Catalog.from_json(text).lookup("r").source.num_rows == 12
