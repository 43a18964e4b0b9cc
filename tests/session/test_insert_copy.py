"""INSERT INTO an external Parquet table's folder (plain and Hive-partitioned)
and into a registered in-memory table, and COPY ... TO CSV / JSON: the rows
read back (by DuckDB, the oracle, for the files Quiver wrote) are the rows
DuckDB gives for the same statements."""

import datetime
import decimal
import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver


@pytest.fixture
def data(tmp_path):
    table = pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "price": pa.array([decimal.Decimal("1.50"), None, decimal.Decimal("-3.25"),
                           decimal.Decimal("0.01")], pa.decimal128(10, 2)),
        "day": pa.array([datetime.date(2020, 1, d) for d in (1, 2, 3, 4)], pa.date32()),
        "note": pa.array(['a "quoted", word', "b\nnew line", None, "ü\\"]),
        "ok": pa.array([True, False, None, True]),
        "x": pa.array([0.5, None, 1e20, -2.0]),
    })
    os.makedirs(tmp_path / "flat")
    pq.write_table(table, tmp_path / "flat" / "part-0.parquet")
    for k in (1, 2):
        os.makedirs(tmp_path / "parted" / f"k={k}")
        pq.write_table(table.select(["id", "note"]).slice(k - 1, 2),
                       tmp_path / "parted" / f"k={k}" / "part-0.parquet")
    return tmp_path


def test_insert_into_external_folder_appends_files(data):
    con = quiver.connect()
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/flat'")
    cur = con.execute("INSERT INTO t SELECT id + 10, price * 2, day, note, ok, x FROM t")
    assert cur.rowcount == 4 and cur.description is None
    cur = con.execute("INSERT INTO t (id, note) VALUES (100, 'v'), (101, NULL)")
    assert cur.rowcount == 2
    got = con.execute("SELECT * FROM t ORDER BY id").fetchall()
    assert len(os.listdir(data / "flat")) == 3

    d = duckdb.connect()
    d.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{data}/flat/part-0.parquet')")
    d.execute("INSERT INTO t SELECT id + 10, price * 2, day, note, ok, x FROM t")
    d.execute("INSERT INTO t (id, note) VALUES (100, 'v'), (101, NULL)")
    assert got == d.execute("SELECT * FROM t ORDER BY id").fetchall()
    # a new connection over the same folder sees the appended rows
    again = quiver.connect()
    again.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/flat'")
    assert again.execute("SELECT count(*) FROM t").fetchall() == [(10,)]


def test_insert_into_hive_partitioned_folder(data):
    con = quiver.connect()
    con.execute(f"CREATE EXTERNAL TABLE p STORED AS PARQUET LOCATION '{data}/parted'")
    assert con.execute("INSERT INTO p VALUES (7, 'seven', 2), (8, 'eight', 3), "
                       "(9, NULL, NULL)").rowcount == 3
    assert sorted(os.listdir(data / "parted")) == [
        "k=1", "k=2", "k=3", "k=__HIVE_DEFAULT_PARTITION__"]
    got = con.execute("SELECT k, count(*), sum(id) FROM p GROUP BY k ORDER BY k").fetchall()
    assert got == [(1, 2, 3), (2, 3, 12), (3, 1, 8), (None, 1, 9)]


def test_insert_into_registered_table():
    con = quiver.connect()
    con.register("m", pa.table({"a": pa.array([1, 2], pa.int32()), "b": ["x", "y"]}))
    assert con.execute("INSERT INTO m VALUES (3, 'z')").rowcount == 1
    assert con.execute("SELECT * FROM m ORDER BY a").fetchall() == [
        (1, "x"), (2, "y"), (3, "z")]


def test_insert_refusals(data):
    con = quiver.connect()
    con.execute(f"CREATE EXTERNAL TABLE one STORED AS PARQUET LOCATION "
                f"'{data}/flat/part-0.parquet'")
    with pytest.raises(quiver.NotSupportedError, match="single file"):
        con.execute("INSERT INTO one SELECT * FROM one")
    con.execute("CREATE VIEW v AS SELECT 1 AS a")
    with pytest.raises(quiver.ProgrammingError, match="view"):
        con.execute("INSERT INTO v VALUES (2)")
    with pytest.raises(quiver.NotSupportedError, match="INSERT OR REPLACE"):
        con.execute("INSERT OR REPLACE INTO one SELECT * FROM one")
    # the connection stays usable
    assert con.execute("SELECT count(*) FROM one").fetchall() == [(4,)]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_copy_to_csv_and_json_reads_back_as_duckdb_writes(data, fmt):
    con = quiver.connect()
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/flat'")
    query = "SELECT id, price, day, note, ok, x FROM t"
    cur = con.execute(f"COPY ({query}) TO '{data}/q.{fmt}' (FORMAT {fmt})")
    assert cur.rowcount == 4
    d = duckdb.connect()
    d.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{data}/flat/*.parquet')")
    d.execute(f"COPY ({query}) TO '{data}/d.{fmt}' (FORMAT {fmt})")
    reader = "read_csv" if fmt == "csv" else "read_json"
    ours = d.execute(f"SELECT * FROM {reader}('{data}/q.{fmt}') ORDER BY id").fetchall()
    theirs = d.execute(f"SELECT * FROM {reader}('{data}/d.{fmt}') ORDER BY id").fetchall()
    assert ours == theirs


def test_copy_partitioned_json_and_overwrite_rules(data):
    con = quiver.connect()
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/flat'")
    out = data / "by_ok"
    con.execute(f"COPY (SELECT id, ok FROM t) TO '{out}' (FORMAT json, PARTITION_BY (ok))")
    assert sorted(os.listdir(out)) == ["ok=__HIVE_DEFAULT_PARTITION__", "ok=false", "ok=true"]
    with pytest.raises(quiver.ProgrammingError, match="not empty"):
        con.execute(f"COPY (SELECT id, ok FROM t) TO '{out}' (FORMAT json, PARTITION_BY (ok))")
    con.execute(f"COPY (SELECT id, ok FROM t) TO '{out}' "
                f"(FORMAT json, PARTITION_BY (ok), OVERWRITE_OR_IGNORE)")
    d = duckdb.connect()
    rows = d.execute(f"SELECT count(*), sum(id) FROM read_json('{out}/*/*.json')").fetchall()
    assert rows == [(8, 20)]
    con.execute(f"COPY (SELECT id, ok FROM t) TO '{out}' (FORMAT json, PARTITION_BY (ok), "
                f"OVERWRITE)")
    rows = d.execute(f"SELECT count(*), sum(id) FROM read_json('{out}/*/*.json')").fetchall()
    assert rows == [(4, 10)]
