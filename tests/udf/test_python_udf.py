"""Python UDFs by import name: embedded and on a local[2] cluster (whose
workers import the function from their own environment), errors named."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

import quiver

HERE = os.path.dirname(os.path.abspath(__file__))


def _data(con):
    con.register("items", pa.table({"name": ["Red Apple", "Green Pear", None],
                                    "price": [1.5, 2.0, 4.0], "rate": [0.1, 0.2, None]}))


def _check(con):
    con.create_function("add_tax", "quiver_test_udfs:add_tax", "DOUBLE")
    con.execute("CREATE FUNCTION slug RETURNS VARCHAR LANGUAGE PYTHON "
                "AS 'quiver_test_udfs:slug'")
    rows = con.execute("SELECT slug(name) AS s, add_tax(price, rate) AS p FROM items "
                       "WHERE add_tax(price, rate) > 1 ORDER BY p").fetchall()
    assert rows == [("red-apple", pytest.approx(1.65)), ("green-pear", pytest.approx(2.4))]
    # the declared type is the column's type
    cur = con.execute("SELECT add_tax(price, rate) AS p FROM items")
    assert cur.description[0][1] == pa.float64()


def test_udf_embedded():
    with quiver.connect() as con:
        _data(con)
        _check(con)


def test_udf_errors_are_named_and_the_connection_lives_on():
    with quiver.connect() as con:
        _data(con)
        con.create_function("nowhere", "no_such_module_xyz:f", "BIGINT")
        with pytest.raises(quiver.ProgrammingError, match="nowhere.*no_such_module_xyz"):
            con.execute("SELECT nowhere(price) FROM items").fetchall()
        con.create_function("short", "quiver_test_udfs:wrong_length", "BIGINT")
        with pytest.raises(quiver.DataError, match="returned 1 values for 3 rows"):
            con.execute("SELECT short(price) FROM items").fetchall()
        con.create_function("boom", "quiver_test_udfs:fails", "BIGINT")
        with pytest.raises(quiver.DataError, match="ValueError: bad input"):
            con.execute("SELECT boom(price) FROM items").fetchall()
        with pytest.raises(quiver.ProgrammingError, match="built-in"):
            con.create_function("upper", "quiver_test_udfs:slug", "VARCHAR")
        with pytest.raises(quiver.ProgrammingError, match="module:function"):
            con.execute("CREATE FUNCTION f RETURNS INT LANGUAGE PYTHON AS 'not a name'")
        with pytest.raises(quiver.NotSupportedError, match="LANGUAGE PYTHON"):
            con.execute("CREATE FUNCTION f RETURNS INT AS 'm:f'")
        con.execute("DROP FUNCTION boom")
        with pytest.raises(quiver.ProgrammingError, match="boom"):
            con.execute("SELECT boom(price) FROM items").fetchall()
        assert con.execute("SELECT count(*) FROM items").fetchall() == [(3,)]


def test_udf_on_local_cluster(monkeypatch):
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", HERE + (os.pathsep + path if path else ""))
    with quiver.connect("local[2]", worker_slots=1) as con:
        _data(con)
        _check(con)
        con.create_function("nowhere", "no_such_module_xyz:f", "BIGINT")
        with pytest.raises(quiver.ProgrammingError, match="no_such_module_xyz"):
            con.execute("SELECT nowhere(price) FROM items").fetchall()
        assert con.execute("SELECT count(*) FROM items").fetchall() == [(3,)]
