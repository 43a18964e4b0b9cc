"""CREATE EXTERNAL TABLE t (col type, ...): the table has exactly the
declared columns, read as the declared types; a column missing from the
files or a type the file's values cannot be read as fails at CREATE."""

import datetime
import decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.storage.catalog import Catalog


@pytest.fixture
def folder(tmp_path):
    pq.write_table(pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "price": pa.array([decimal.Decimal("1.50"), None, decimal.Decimal("3.25")],
                          pa.decimal128(10, 2)),
        "day": pa.array([datetime.date(2020, 1, d) for d in (1, 2, 3)], pa.date32()),
        "note": pa.array(["a", "b", None]),
    }), tmp_path / "t.parquet")
    return str(tmp_path)


def test_only_declared_columns_with_declared_types(folder):
    con = quiver.connect()
    con.execute(f"CREATE EXTERNAL TABLE t (price DOUBLE, id INTEGER) STORED AS PARQUET "
                f"LOCATION '{folder}'")
    cur = con.execute("SELECT * FROM t WHERE id >= 2 ORDER BY id")
    assert [d[0] for d in cur.description] == ["price", "id"]
    assert [d[1] for d in cur.description] == [pa.float64(), pa.int32()]
    assert cur.fetchall() == [(None, 2), (3.25, 3)]
    assert con.execute("DESCRIBE t").fetchall()[1][:2] == ("id", "INTEGER")


def test_unknown_column_or_impossible_type_fails_at_create(folder):
    con = quiver.connect()
    with pytest.raises(quiver.ProgrammingError, match="'missing'"):
        con.execute(f"CREATE EXTERNAL TABLE t (missing INT) STORED AS PARQUET LOCATION '{folder}'")
    with pytest.raises(quiver.ProgrammingError, match="cannot be read as INTEGER"):
        con.execute(f"CREATE EXTERNAL TABLE t (day INTEGER) STORED AS PARQUET LOCATION '{folder}'")
    assert con.execute("SELECT 1").fetchall() == [(1,)]


def test_declared_columns_survive_the_catalog_file(folder):
    con = quiver.connect()
    con.execute(f"CREATE EXTERNAL TABLE t (note VARCHAR) STORED AS PARQUET LOCATION '{folder}'")
    restored = Catalog.from_json(con.session.catalog.to_json())
    from quiver.session import Session
    again = quiver.dbapi.Connection(Session(catalog=restored))
    assert again.execute("SELECT * FROM t ORDER BY note").fetchall() == [("a",), ("b",), (None,)]
