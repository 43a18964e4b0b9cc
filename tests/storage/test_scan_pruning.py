"""planner.scan_pruning.prune_files: Hive partitions and file statistics."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from quiver import datatypes as dt
from quiver.planner.expr import Call, Column, InList, Literal
from quiver.executor.eval import evaluate
from quiver.planner.scan_pruning import prune_files as _prune_files


def prune_files(ds, filters, cof):
    return _prune_files(ds, filters, cof, evaluate)
from quiver.storage.dataset import open_dataset


def _cmp(fn, a, b):
    return Call(fn, (a, b), dt.BOOL)


def _dataset(tmp_path):
    for year in (2020, 2021, 2022):
        for region in ("eu", "us"):
            d = tmp_path / f"year={year}" / f"region={region}"
            d.mkdir(parents=True)
            base = (year - 2020) * 1000
            pq.write_table(pa.table({"v": pa.array(range(base, base + 10), pa.int64())}),
                           d / "f.parquet")
    return open_dataset(str(tmp_path))


def _parts(files):
    return sorted((f.partition_dict["year"][1], f.partition_dict["region"][1]) for f in files)


def test_partition_pruning(tmp_path, evaluator):
    ds = _dataset(tmp_path)
    year, region = Column("year#1", dt.INT64), Column("region#2", dt.STRING)
    cof = {"v#0": "v", "year#1": "year", "region#2": "region"}
    files = prune_files(ds, [_cmp("ge", year, Literal(2021, dt.INT64)),
                             _cmp("eq", region, Literal("us", dt.STRING))], cof)
    assert _parts(files) == [("2021", "us"), ("2022", "us")]
    # OR across partition columns (only the evaluator path handles it exactly)
    either = Call("or", (_cmp("eq", year, Literal(2020, dt.INT64)),
                         _cmp("eq", region, Literal("eu", dt.STRING))), dt.BOOL)
    assert _parts(prune_files(ds, [either], cof)) == [
        ("2020", "eu"), ("2020", "us"), ("2021", "eu"), ("2022", "eu")]
    # IN list
    files = prune_files(ds, [InList(year, (Literal(2020, dt.INT64), Literal(2022, dt.INT64)))], cof)
    assert _parts(files) == [("2020", "eu"), ("2020", "us"), ("2022", "eu"), ("2022", "us")]


def test_file_statistics_pruning(tmp_path, evaluator):
    ds = _dataset(tmp_path)
    v = Column("v#0", dt.INT64)
    cof = {"v#0": "v", "year#1": "year"}
    files = prune_files(ds, [_cmp("lt", v, Literal(1005, dt.INT64)),
                             _cmp("gt", v, Literal(3, dt.INT64))], cof)
    assert _parts(files) == [("2020", "eu"), ("2020", "us"), ("2021", "eu"), ("2021", "us")]
    # no filters, or filters on unknown fields: everything
    assert len(prune_files(ds, [], cof)) == 6
    assert len(prune_files(ds, [_cmp("eq", Column("z", dt.INT64), Literal(1, dt.INT64))], cof)) == 6


def test_null_partitions_and_dates(tmp_path, evaluator):
    for i, d in enumerate(["2024-01-01", "2024-02-01", "__HIVE_DEFAULT_PARTITION__"]):
        p = tmp_path / f"day={d}"
        p.mkdir()
        pq.write_table(pa.table({"v": [i]}), p / "f.parquet")
    ds = open_dataset(str(tmp_path))
    day = Column("day#1", dt.DATE)
    cof = {"v#0": "v", "day#1": "day"}
    files = prune_files(ds, [_cmp("gt", day, Literal(datetime.date(2024, 1, 15), dt.DATE))], cof)
    assert [f.partition_dict["day"][1] for f in files] == ["2024-02-01"]
    files = prune_files(ds, [Call("is_null", (day,), dt.BOOL)], cof)
    assert [f.partition_dict["day"][1] for f in files] == [None]
