"""Hive key=value discovery: typing rules, NULL partitions, declared columns."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quiver.errors import ProgrammingError
from quiver.storage import hive
from quiver.storage.dataset import open_dataset
from quiver.storage.parquet import read_split


def _put(root, rel, values):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"v": pa.array(values, pa.int64())}), p)


def _read(ds):
    cols = ds.schema.names
    batches = [b for s in ds.splits() for b in read_split(s, cols, ds.schema)]
    return pa.Table.from_batches(batches, schema=ds.schema).sort_by("v")


def test_infer_type_rules():
    assert hive.infer_type(["1", "-20", None]) == pa.int64()
    assert hive.infer_type(["2024-01-31", "1999-12-01"]) == pa.date32()
    assert hive.infer_type(["1", "x"]) == pa.string()
    assert hive.infer_type(["2024-02-30"]) == pa.string()          # not a real date
    assert hive.infer_type(["99999999999999999999"]) == pa.string()  # beyond int64
    assert hive.infer_type(["1.5"]) == pa.string()
    assert hive.infer_type([None, None]) == pa.string()


def test_parse_path_unquotes_and_nulls():
    kv = hive.parse_path("/r/a=x%2Fy/b=__HIVE_DEFAULT_PARTITION__/c=/f.parquet", "/r")
    assert kv == [("a", "x/y"), ("b", None), ("c", None)]
    # folders above the root and the file name itself are not partitions
    assert hive.parse_path("/r=1/data/f=2.parquet", "/r=1/data") == []


def test_partition_columns_typed_and_appended(tmp_path):
    _put(tmp_path, "year=2020/day=2020-01-05/region=eu/f.parquet", [1, 2])
    _put(tmp_path, "year=2021/day=2021-03-01/region=us/f.parquet", [3])
    _put(tmp_path, "year=__HIVE_DEFAULT_PARTITION__/day=2021-03-02/region=__HIVE_DEFAULT_PARTITION__/f.parquet", [4])
    ds = open_dataset(str(tmp_path))
    assert ds.partition_columns == ["year", "day", "region"]
    assert ds.schema == pa.schema([("v", pa.int64()), ("year", pa.int64()),
                                   ("day", pa.date32()), ("region", pa.string())])
    t = _read(ds)
    assert t.to_pydict() == {
        "v": [1, 2, 3, 4],
        "year": [2020, 2020, 2021, None],
        "day": [datetime.date(2020, 1, 5)] * 2 + [datetime.date(2021, 3, 1), datetime.date(2021, 3, 2)],
        "region": ["eu", "eu", "us", None],
    }
    # partition statistics are the constant value
    f = next(f for f in ds.files if f.partition_dict["region"][1] == "us")
    s = f.file_stats("year")
    assert (s.min, s.max, s.null_count) == (2021, 2021, 0)
    f = next(f for f in ds.files if f.partition_dict["region"][1] is None)
    assert f.file_stats("region").null_count == 1


def test_mixed_values_fall_back_to_varchar(tmp_path):
    _put(tmp_path, "k=1/f.parquet", [1])
    _put(tmp_path, "k=abc/f.parquet", [2])
    ds = open_dataset(str(tmp_path))
    assert ds.schema.field("k").type == pa.string()
    assert _read(ds).column("k").to_pylist() == ["1", "abc"]


def test_hive_partitioning_false_and_declared(tmp_path):
    _put(tmp_path, "k=1/g=x/f.parquet", [1])
    _put(tmp_path, "k=2/g=y/f.parquet", [2])
    assert open_dataset(str(tmp_path), hive_partitioning=False).schema.names == ["v"]
    ds = open_dataset(str(tmp_path), partition_columns=[("g", pa.string()), ("k", pa.int32())])
    assert ds.schema == pa.schema([("v", pa.int64()), ("g", pa.string()), ("k", pa.int32())])
    assert _read(ds).column("k").to_pylist() == [1, 2]
    with pytest.raises(ProgrammingError, match="nope"):
        open_dataset(str(tmp_path), partition_columns=[("nope", pa.string())])


def test_inconsistent_folders_rejected(tmp_path):
    _put(tmp_path, "k=1/f.parquet", [1])
    _put(tmp_path, "j=2/f.parquet", [2])
    with pytest.raises(ProgrammingError, match="differ"):
        open_dataset(str(tmp_path))


def test_key_also_in_file_stays_file_column(tmp_path):
    p = tmp_path / "v=9" / "f.parquet"
    p.parent.mkdir()
    pq.write_table(pa.table({"v": [1, 2]}), p)
    ds = open_dataset(str(tmp_path))
    assert ds.schema.names == ["v"] and ds.partition_columns == []


def test_matches_duckdb_hive_reading(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    _put(tmp_path, "n=7/d=2023-05-01/s=hello/f.parquet", [1, 2])
    _put(tmp_path, "n=-3/d=2023-06-30/s=12x/f.parquet", [3])
    ds = open_dataset(str(tmp_path))
    ours = _read(ds)
    ref = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/**/*.parquet', hive_partitioning=true) "
                     "ORDER BY v").arrow()
    if hasattr(ref, "read_all"):
        ref = ref.read_all()
    # DuckDB lists partition keys alphabetically; Quiver keeps folder order
    assert ours.schema.names == ["v", "n", "d", "s"]
    ref = ref.select(ours.schema.names)
    assert ref.schema == ours.schema
    assert ref.to_pydict() == ours.to_pydict()
