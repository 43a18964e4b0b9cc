"""The DB-API 2.0 surface of CONTRACT.md, name by name: module globals, the
exception hierarchy, Connection and Cursor methods and attributes, result
value types, `?` parameters of every Python type, register() of a path, a
pyarrow.Table and a pandas DataFrame."""

from __future__ import annotations

import datetime
import decimal
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver


@pytest.fixture
def con():
    with quiver.connect() as c:
        yield c


@pytest.fixture
def ten(con):
    """A registered 10-row table t(x BIGINT, s VARCHAR)."""
    con.register("t", pa.table({"x": pa.array(range(10), pa.int64()),
                                "s": [f"v{i}" for i in range(10)]}))
    return con


# --- module -------------------------------------------------------------------

def test_module_globals():
    assert quiver.apilevel == "2.0"
    assert quiver.threadsafety == 1
    assert quiver.paramstyle == "qmark"
    assert callable(quiver.connect)


def test_exception_hierarchy():
    q = quiver
    assert issubclass(q.Warning, Exception)
    assert issubclass(q.Error, Exception)
    assert not issubclass(q.Warning, q.Error)
    assert issubclass(q.InterfaceError, q.Error)
    assert issubclass(q.DatabaseError, q.Error)
    assert not issubclass(q.InterfaceError, q.DatabaseError)
    for cls in (q.DataError, q.OperationalError, q.IntegrityError, q.InternalError,
                q.ProgrammingError, q.NotSupportedError):
        assert issubclass(cls, q.DatabaseError), cls
    names = {"Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
             "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
             "NotSupportedError"}
    assert names <= set(dir(quiver))
    assert names <= set(quiver.__all__)


def test_connection_exposes_exceptions_optional_extension_or_module(con):
    # PEP 249 lets the classes live on the module; they must at least be there
    for name in ("Error", "ProgrammingError", "InterfaceError"):
        assert getattr(quiver, name) is getattr(quiver.errors, name)


# --- connection ---------------------------------------------------------------

def test_connection_methods(con):
    cur = con.cursor()
    assert isinstance(cur, quiver.dbapi.Cursor)
    assert con.commit() is None          # a no-op
    with pytest.raises(quiver.NotSupportedError):
        con.rollback()
    assert con.execute("SELECT 1").fetchall() == [(1,)]


def test_connection_execute_returns_new_cursor(con):
    a = con.execute("SELECT 1")
    b = con.execute("SELECT 2")
    assert a is not b
    assert a.fetchall() == [(1,)] and b.fetchall() == [(2,)]


def test_connection_context_manager_closes():
    with quiver.connect() as c:
        cur = c.cursor()
        assert c.execute("SELECT 42").fetchone() == (42,)
    assert c.closed
    with pytest.raises(quiver.InterfaceError):
        c.cursor()
    with pytest.raises(quiver.InterfaceError):
        c.execute("SELECT 1")
    with pytest.raises(quiver.InterfaceError):
        cur.execute("SELECT 1")
    with pytest.raises(quiver.InterfaceError):
        c.commit()


def test_close_twice_is_harmless():
    c = quiver.connect()
    c.close()
    c.close()


def test_connect_rejects_unknown_options_and_targets():
    with pytest.raises(quiver.InterfaceError):
        quiver.connect(no_such_option=1)
    with pytest.raises(quiver.InterfaceError):
        quiver.connect("ftp://nowhere")


def test_closed_connection_rejects_register(con):
    con.close()
    with pytest.raises(quiver.InterfaceError):
        con.register("t", pa.table({"a": [1]}))


# --- cursor: execute / fetch ----------------------------------------------------

def test_execute_returns_cursor_itself(con):
    cur = con.cursor()
    assert cur.execute("SELECT 1") is cur
    assert cur.executemany("SELECT ?", [[1], [2]]) is cur


def test_fetchone_fetchmany_fetchall_and_arraysize(ten):
    cur = ten.cursor()
    assert cur.arraysize == 1
    cur.execute("SELECT x FROM t ORDER BY x")
    assert cur.fetchone() == (0,)
    assert cur.fetchmany() == [(1,)]              # arraysize rows
    cur.arraysize = 3
    assert cur.fetchmany() == [(2,), (3,), (4,)]
    assert cur.fetchmany(2) == [(5,), (6,)]
    assert cur.fetchall() == [(7,), (8,), (9,)]
    assert cur.fetchone() is None
    assert cur.fetchmany(5) == []
    assert cur.fetchall() == []


def test_rows_are_tuples(ten):
    rows = ten.execute("SELECT x, s FROM t ORDER BY x LIMIT 2").fetchall()
    assert rows == [(0, "v0"), (1, "v1")]
    assert all(type(r) is tuple for r in rows)


def test_iteration(ten):
    cur = ten.execute("SELECT x FROM t ORDER BY x")
    assert cur.fetchone() == (0,)
    assert [r[0] for r in cur] == list(range(1, 10))
    assert list(ten.execute("SELECT x FROM t WHERE x < 0")) == []


def test_cursor_context_manager(ten):
    with ten.cursor() as cur:
        cur.execute("SELECT count(*) FROM t")
        assert cur.fetchone() == (10,)
    with pytest.raises(quiver.InterfaceError):
        cur.execute("SELECT 1")
    with pytest.raises(quiver.InterfaceError):
        cur.fetchall()


def test_closed_cursor_is_interface_error(con):
    cur = con.execute("SELECT 1")
    cur.close()
    for call in (lambda: cur.execute("SELECT 1"), cur.fetchone, cur.fetchall,
                 lambda: cur.fetchmany(2), cur.fetch_arrow_table):
        with pytest.raises(quiver.InterfaceError):
            call()
    con.execute("SELECT 1")          # the connection is still fine


def test_fetch_without_result_set_is_interface_error(con):
    cur = con.cursor()
    for call in (cur.fetchone, cur.fetchall, lambda: cur.fetchmany(1),
                 cur.fetch_arrow_table):
        with pytest.raises(quiver.InterfaceError, match="result"):
            call()
    cur.execute("CREATE VIEW v AS SELECT 1 AS a")
    with pytest.raises(quiver.InterfaceError):
        cur.fetchall()


def test_description(ten):
    cur = ten.cursor()
    assert cur.description is None
    cur.execute("SELECT x, s, CAST(1.5 AS DECIMAL(4,2)) AS d, DATE '2020-01-01' AS dt, "
                "true AS b, 1.5e0 AS f FROM t LIMIT 1")
    desc = cur.description
    assert [d[0] for d in desc] == ["x", "s", "d", "dt", "b", "f"]
    assert all(isinstance(d, tuple) and len(d) == 7 for d in desc)
    types = [d[1] for d in desc]
    assert all(isinstance(t, pa.DataType) for t in types)
    assert types[0] == pa.int64()
    assert pa.types.is_string(types[1]) or pa.types.is_large_string(types[1])
    assert types[2] == pa.decimal128(4, 2)
    assert types[3] == pa.date32()
    assert types[4] == pa.bool_()
    assert types[5] == pa.float64()
    # a statement with no result set resets it
    cur.execute("CREATE VIEW vv AS SELECT 1 AS a")
    assert cur.description is None


def test_description_of_empty_result(ten):
    cur = ten.execute("SELECT x, s FROM t WHERE x > 100")
    assert [d[0] for d in cur.description] == ["x", "s"]
    assert cur.fetchall() == []


def test_rowcount(ten):
    cur = ten.cursor()
    assert cur.rowcount == -1
    cur.execute("SELECT x FROM t WHERE x < 4")
    assert cur.rowcount in (-1, 4)      # -1 until known
    cur.fetchall()
    assert cur.rowcount == 4            # known after a full fetch
    cur.execute("SELECT x FROM t WHERE x > 100")
    cur.fetchall()
    assert cur.rowcount == 0


def test_rowcount_of_ctas(tmp_path):
    with quiver.connect(warehouse=str(tmp_path)) as c:
        c.register("t", pa.table({"x": list(range(7))}))
        cur = c.execute("CREATE TABLE u AS SELECT x FROM t WHERE x > 1")
        assert cur.rowcount == 5
        assert cur.description is None
        assert c.execute("SELECT count(*) FROM u").fetchone() == (5,)


def test_executemany(ten):
    cur = ten.cursor()
    cur.executemany("SELECT x FROM t WHERE x = ?", [[1], [2], [3]])
    assert cur.fetchall() == [(3,)]     # the last statement's result


def test_fetch_arrow_table_and_record_batches(ten):
    cur = ten.execute("SELECT x, s FROM t ORDER BY x")
    cur.fetchone()
    rest = cur.fetch_arrow_table()
    assert isinstance(rest, pa.Table)
    assert rest.column("x").to_pylist() == list(range(1, 10))
    batches = list(ten.execute("SELECT x FROM t").fetch_record_batches())
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert sorted(v for b in batches for v in b.column(0).to_pylist()) == list(range(10))


def test_statement_after_error_on_same_cursor(ten):
    cur = ten.cursor()
    with pytest.raises(quiver.ProgrammingError):
        cur.execute("SELECT nope FROM t")
    assert cur.description is None
    with pytest.raises(quiver.InterfaceError):
        cur.fetchall()
    assert cur.execute("SELECT count(*) FROM t").fetchone() == (10,)


def test_execute_rejects_non_string(con):
    with pytest.raises(quiver.ProgrammingError):
        con.cursor().execute(42)


# --- value types ------------------------------------------------------------------

def test_result_python_types(con):
    row = con.execute(
        "SELECT 1, 2147483648, 1.5e0, CAST('12.345' AS DECIMAL(10,3)), 'txt', "
        "DATE '2021-02-03', TIMESTAMP '2021-02-03 04:05:06', true, NULL").fetchone()
    assert row == (1, 2147483648, 1.5, decimal.Decimal("12.345"), "txt",
                   datetime.date(2021, 2, 3), datetime.datetime(2021, 2, 3, 4, 5, 6),
                   True, None)
    types = [int, int, float, decimal.Decimal, str, datetime.date, datetime.datetime,
             bool, type(None)]
    assert [type(v) for v in row] == types


def test_decimal_results_are_exact(con):
    (v,) = con.execute("SELECT 0.1 + 0.2").fetchone()
    assert v == decimal.Decimal("0.3") and isinstance(v, decimal.Decimal)


@pytest.mark.parametrize("value, expected_type", [
    (42, int), (-(2 ** 40), int), (2.5, float), (decimal.Decimal("12.34"), decimal.Decimal),
    ("héllo", str), (datetime.date(2020, 2, 29), datetime.date),
    (datetime.datetime(2020, 2, 29, 12, 30, 1), datetime.datetime), (True, bool),
    (False, bool)])
def test_parameter_round_trip(con, value, expected_type):
    (got,) = con.execute("SELECT ?", [value]).fetchone()
    assert got == value
    assert type(got) is expected_type


def test_null_parameter(con):
    assert con.execute("SELECT ?", [None]).fetchone() == (None,)
    assert con.execute("SELECT ? IS NULL", [None]).fetchone() == (True,)
    assert con.execute("SELECT coalesce(?, 5)", [None]).fetchone() == (5,)


def test_parameters_in_expressions(ten):
    cur = ten.execute("SELECT count(*) FROM t WHERE x > ? AND s <> ?", [3, "v5"])
    assert cur.fetchone() == (5,)
    assert ten.execute("SELECT ? + 1, ? * 2", (41, 1.5)).fetchone() == (42, 3.0)
    assert ten.execute("SELECT ? + 0.5", [decimal.Decimal("1.25")]).fetchone() == (
        decimal.Decimal("1.75"),)
    assert ten.execute("SELECT ? + INTERVAL '1' DAY", [datetime.date(2020, 12, 31)]
                       ).fetchone() == (datetime.datetime(2021, 1, 1),)
    assert ten.execute("SELECT x FROM t WHERE x IN (?, ?) ORDER BY x", [2, 7]).fetchall() == [
        (2,), (7,)]


def test_wrong_parameter_count(con):
    with pytest.raises(quiver.ProgrammingError):
        con.execute("SELECT ?, ?", [1])
    assert con.execute("SELECT 1").fetchone() == (1,)


# --- register -------------------------------------------------------------------------

def test_register_pyarrow_table(con):
    con.register("pt", pa.table({"a": [1, 2, 3], "b": ["x", None, "z"]}))
    assert con.execute("SELECT sum(a), count(b) FROM pt").fetchone() == (6, 2)


def test_register_record_batch(con):
    con.register("rb", pa.record_batch({"a": [5, 6]}))
    assert con.execute("SELECT sum(a) FROM rb").fetchone() == (11,)


def test_register_pandas_dataframe(con):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, None], "c": ["p", "q", "r"]},
                      index=[10, 20, 30])
    con.register("df", df)
    assert con.execute("SELECT sum(a), sum(b), max(c) FROM df").fetchone() == (6, 2.0, "r")
    assert [d[0] for d in con.execute("SELECT * FROM df").description] == ["a", "b", "c"]


def test_register_path_file_folder_and_glob(con, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(3):
        pq.write_table(pa.table({"a": [i, i + 10]}), folder / f"p{i}.parquet")
    con.register("one", str(folder / "p1.parquet"))
    con.register("all", str(folder))
    con.register("globbed", str(folder / "p[01].parquet"))
    assert con.execute("SELECT sum(a) FROM one").fetchone() == (12,)
    assert con.execute('SELECT count(*), sum(a) FROM "all"').fetchone() == (6, 36)
    assert con.execute("SELECT count(*) FROM globbed").fetchone() == (4,)
    con.register("uri", "file://" + os.fspath(folder))
    assert con.execute("SELECT count(*) FROM uri").fetchone() == (6,)


def test_register_replaces_and_shows(con):
    con.register("r", pa.table({"a": [1]}))
    con.register("r", pa.table({"a": [1, 2]}))
    assert con.execute("SELECT count(*) FROM r").fetchone() == (2,)
    assert ("r",) in con.execute("SHOW TABLES").fetchall()


def test_register_rejects_other_objects(con):
    with pytest.raises(quiver.ProgrammingError):
        con.register("bad", [1, 2, 3])
    with pytest.raises(quiver.Error):
        con.register("missing", "/no/such/place/at/all")
    assert con.execute("SELECT 1").fetchone() == (1,)


# --- statements through the API -----------------------------------------------------------

def test_ddl_statements_return_no_result_set(con, tmp_path):
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "f.parquet")
    cur = con.cursor()
    for sql in (f"CREATE EXTERNAL TABLE e STORED AS PARQUET LOCATION '{tmp_path}'",
                "CREATE VIEW ve AS SELECT a FROM e", "DROP VIEW ve", "DROP TABLE e"):
        assert cur.execute(sql) is cur
        assert cur.description is None
        with pytest.raises(quiver.InterfaceError):
            cur.fetchone()


def test_explain_has_a_result(con):
    rows = con.execute("EXPLAIN SELECT 1").fetchall()
    assert rows and all(isinstance(v, str) for r in rows for v in r)


def test_multiple_connections_are_independent():
    with quiver.connect() as a, quiver.connect() as b:
        a.register("only_a", pa.table({"x": [1]}))
        assert a.execute("SELECT count(*) FROM only_a").fetchone() == (1,)
        with pytest.raises(quiver.ProgrammingError):
            b.execute("SELECT * FROM only_a")
