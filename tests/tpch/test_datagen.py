"""tpch.datagen: folder layout, parts, column types, row counts, scale factor."""

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quiver.tpch import datagen
from quiver.tpch.scale import detect_scale_factor, parquet_row_count

ROWS_SF001 = {"lineitem": 60175, "orders": 15000, "partsupp": 8000, "part": 2000,
              "customer": 1500, "supplier": 100, "nation": 25, "region": 5}


def _schema(folder: Path) -> pa.Schema:
    return pq.ParquetFile(sorted(folder.glob("*.parquet"))[0]).schema_arrow


def test_layout_parts_and_row_counts(sf001_data):
    root = Path(sf001_data)
    assert sorted(p.name for p in root.iterdir()) == sorted(datagen.TABLES)
    for table in datagen.LARGE_TABLES:
        assert sorted(p.name for p in (root / table).iterdir()) == [
            f"{table}.1.parquet", f"{table}.2.parquet"]
    for table in datagen.SMALL_TABLES:
        assert [p.name for p in (root / table).iterdir()] == [f"{table}.1.parquet"]
    for table, rows in ROWS_SF001.items():
        assert parquet_row_count(str(root / table)) == rows, table
    assert detect_scale_factor(sf001_data) == 0.01


def test_spec_column_types(sf001_data):
    root = Path(sf001_data)
    li = _schema(root / "lineitem")
    for col in ("l_quantity", "l_extendedprice", "l_discount", "l_tax"):
        assert li.field(col).type == pa.decimal128(15, 2)
    for col in ("l_shipdate", "l_commitdate", "l_receiptdate"):
        assert li.field(col).type == pa.date32()
    assert pa.types.is_integer(li.field("l_orderkey").type)
    # text is written as string_view by tpchgen-cli 4.x (the scan normalizes it)
    assert li.field("l_returnflag").type in (pa.string(), pa.large_string(),
                                             pa.string_view())
    orders = _schema(root / "orders")
    assert orders.field("o_totalprice").type == pa.decimal128(15, 2)
    assert orders.field("o_orderdate").type == pa.date32()
    assert _schema(root / "customer").field("c_acctbal").type == pa.decimal128(15, 2)
    assert _schema(root / "partsupp").field("ps_supplycost").type == pa.decimal128(15, 2)


@pytest.mark.skipif(shutil.which("tpchgen-cli") is None, reason="no tpchgen-cli")
def test_regenerating_with_fewer_parts_removes_stale_parts(tmp_path):
    datagen.generate(0.01, str(tmp_path), parts=3)
    assert len(list((tmp_path / "orders").glob("*.parquet"))) == 3
    keep = tmp_path / "orders" / "notes.txt"
    keep.write_text("mine")
    datagen.generate(0.01, str(tmp_path), parts=1)
    assert [p.name for p in (tmp_path / "orders").glob("*.parquet")] == ["orders.1.parquet"]
    assert keep.read_text() == "mine"
    assert parquet_row_count(str(tmp_path / "orders")) == 15000


def test_missing_tool_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(datagen.shutil, "which", lambda name: None)
    monkeypatch.setattr(datagen.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(datagen.DatagenError, match=r"pip install quiver-sql\[tpch\]"):
        datagen.generate(0.01, str(tmp_path / "out"))


def test_bad_arguments(tmp_path):
    with pytest.raises(datagen.DatagenError, match="scale factor"):
        datagen.generate(0, str(tmp_path))
    with pytest.raises(datagen.DatagenError, match="parts"):
        datagen.generate(0.01, str(tmp_path), parts=0)


def test_table_dirs_accepts_single_files(tmp_path):
    pq.write_table(pa.table({"n_nationkey": [1]}), tmp_path / "nation.parquet")
    (tmp_path / "region").mkdir()
    pq.write_table(pa.table({"r_regionkey": [1]}), tmp_path / "region" / "x.parquet")
    (tmp_path / "orders").mkdir()  # empty folder: not a table
    found = datagen.table_dirs(str(tmp_path))
    assert found == {"nation": str(tmp_path / "nation.parquet"),
                     "region": str(tmp_path / "region")}
    assert detect_scale_factor(str(tmp_path)) is None
