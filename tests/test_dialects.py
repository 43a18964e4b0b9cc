"""The `dialect=` connection option: queries written for Spark, Trino,
PostgreSQL, BigQuery, MySQL, Snowflake, SQLite, ... are transpiled to the
default (DuckDB) dialect and give DuckDB's answers on the same data."""

from __future__ import annotations

import datetime
import decimal

import duckdb
import pyarrow as pa
import pytest

import quiver

TABLE = pa.table({
    "id": pa.array(range(12), pa.int64()),
    "grp": ["a", "b", "c"] * 4,
    "amount": pa.array([decimal.Decimal(f"{i}.25") for i in range(12)], pa.decimal128(10, 2)),
    "x": pa.array([None if i % 5 == 0 else i * 1.5 for i in range(12)]),
    "name": [f"Name {i}" if i % 4 else None for i in range(12)],
    "day": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=9 * i)
                     for i in range(12)], pa.date32()),
})


def quiver_rows(dialect, sql, params=None):
    with quiver.connect(dialect=dialect) as con:
        con.register("sales", TABLE)
        return con.execute(sql, params).fetchall()


def duckdb_rows(sql):
    con = duckdb.connect()
    con.register("sales", TABLE)
    return con.execute(sql).fetchall()


# (dialect, query in that dialect, the same query in DuckDB's dialect)
CASES = [
    ("spark", "SELECT `grp`, count(*) AS n FROM `sales` GROUP BY `grp` ORDER BY `grp`",
     "SELECT grp, count(*) AS n FROM sales GROUP BY grp ORDER BY grp"),
    ("spark", "SELECT id, nvl(x, -1) FROM sales WHERE id < 6 ORDER BY id",
     "SELECT id, coalesce(x, -1) FROM sales WHERE id < 6 ORDER BY id"),
    ("spark", "SELECT id, date_add(day, 3), datediff(day, DATE '2024-01-01') FROM sales "
              "ORDER BY id",
     # sqlglot writes Spark's date_add as `day + INTERVAL 3 DAY`: a TIMESTAMP in DuckDB
     "SELECT id, day + INTERVAL 3 DAY, day - DATE '2024-01-01' FROM sales ORDER BY id"),
    ("spark", "SELECT grp, sum(amount) FROM sales GROUP BY grp HAVING sum(amount) > 10 "
              "ORDER BY grp LIMIT 2",
     "SELECT grp, sum(amount) FROM sales GROUP BY grp HAVING sum(amount) > 10 "
     "ORDER BY grp LIMIT 2"),
    ("spark", "SELECT id, if(id % 2 = 0, 'even', 'odd'), concat_ws('-', grp, 'z') FROM sales "
              "ORDER BY id",
     "SELECT id, CASE WHEN id % 2 = 0 THEN 'even' ELSE 'odd' END, grp || '-z' FROM sales "
     "ORDER BY id"),
    ("trino", "SELECT grp, approx_distinct(id), arbitrary(grp) FROM sales GROUP BY grp "
              "ORDER BY grp",
     "SELECT grp, count(DISTINCT id), grp FROM sales GROUP BY grp ORDER BY grp"),
    ("trino", "SELECT id, date_diff('day', DATE '2024-01-01', day), "
              "date_trunc('month', day) FROM sales ORDER BY id",
     "SELECT id, date_diff('day', DATE '2024-01-01', day), date_trunc('month', day) "
     "FROM sales ORDER BY id"),
    ("trino", "SELECT id, CAST(amount AS VARCHAR), strpos(name, '1') FROM sales ORDER BY id",
     "SELECT id, CAST(amount AS VARCHAR), strpos(name, '1') FROM sales ORDER BY id"),
    ("postgres", "SELECT id::text, amount::numeric(12,1), name ILIKE 'name 1%' FROM sales "
                 "ORDER BY id",
     "SELECT CAST(id AS VARCHAR), CAST(amount AS DECIMAL(12,1)), name ILIKE 'name 1%' "
     "FROM sales ORDER BY id"),
    ("postgres", "SELECT grp, string_agg(name, ',') IS NULL, count(name) FROM sales "
                 "GROUP BY grp ORDER BY grp",
     "SELECT grp, string_agg(name, ',') IS NULL, count(name) FROM sales GROUP BY grp "
     "ORDER BY grp"),
    ("postgres", "SELECT id, EXTRACT(DOW FROM day), day + INTERVAL '1 day' FROM sales "
                 "ORDER BY id LIMIT 4 OFFSET 2",
     "SELECT id, extract(dow FROM day), day + INTERVAL 1 DAY FROM sales ORDER BY id "
     "LIMIT 4 OFFSET 2"),
    ("bigquery", "SELECT grp, COUNTIF(x > 5), SAFE_DIVIDE(SUM(id), 0) FROM sales "
                 "GROUP BY grp ORDER BY grp",
     "SELECT grp, count(*) FILTER (WHERE x > 5), NULL FROM sales GROUP BY grp ORDER BY grp"),
    ("bigquery", "SELECT id, IFNULL(name, 'none'), DATE_ADD(day, INTERVAL 1 MONTH) "
                 "FROM sales ORDER BY id",
     "SELECT id, coalesce(name, 'none'), day + INTERVAL 1 MONTH FROM sales ORDER BY id"),
    ("mysql", "SELECT `grp`, COUNT(*) FROM sales WHERE id BETWEEN 2 AND 9 GROUP BY `grp` "
              "ORDER BY `grp` DESC",
     "SELECT grp, count(*) FROM sales WHERE id BETWEEN 2 AND 9 GROUP BY grp ORDER BY grp DESC"),
    ("mysql", "SELECT id, IFNULL(x, 0), SUBSTRING(name, 2, 3) FROM sales ORDER BY id LIMIT 3, 4",
     "SELECT id, coalesce(x, 0), substring(name, 2, 3) FROM sales ORDER BY id LIMIT 4 OFFSET 3"),
    ("snowflake", "SELECT grp, IFF(SUM(id) > 20, 'big', 'small'), ZEROIFNULL(MAX(x)) "
                  "FROM sales GROUP BY grp ORDER BY grp",
     "SELECT grp, CASE WHEN sum(id) > 20 THEN 'big' ELSE 'small' END, coalesce(max(x), 0) "
     "FROM sales GROUP BY grp ORDER BY grp"),
    ("sqlite", "SELECT id, x IS NULL, upper(grp) FROM sales WHERE id IN (1, 5, 10) ORDER BY id",
     "SELECT id, x IS NULL, upper(grp) FROM sales WHERE id IN (1, 5, 10) ORDER BY id"),
    ("tsql", "SELECT TOP 3 id, grp FROM sales ORDER BY id DESC",
     "SELECT id, grp FROM sales ORDER BY id DESC LIMIT 3"),
    ("duckdb", "SELECT grp, sum(id) FROM sales GROUP BY ALL ORDER BY ALL",
     "SELECT grp, sum(id) FROM sales GROUP BY grp ORDER BY grp"),
]


@pytest.mark.parametrize("dialect, sql, duck_sql", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_dialect_gives_duckdb_answer(dialect, sql, duck_sql):
    assert quiver_rows(dialect, sql) == duckdb_rows(duck_sql)


def test_dialect_with_parameters():
    rows = quiver_rows("spark", "SELECT id FROM sales WHERE id > ? AND grp = ? ORDER BY id",
                       [4, "a"])
    assert rows == [(6,), (9,)]


def test_dialect_ddl_and_views():
    with quiver.connect(dialect="spark") as con:
        con.register("sales", TABLE)
        con.execute("CREATE VIEW `big` AS SELECT * FROM `sales` WHERE `id` > 8")
        assert con.execute("SELECT count(*) FROM big").fetchone() == (3,)
        assert ("big",) in con.execute("SHOW TABLES").fetchall()
        con.execute("DROP VIEW big")


def test_dialect_errors_are_quiver_errors():
    with quiver.connect(dialect="postgres") as con:
        con.register("sales", TABLE)
        with pytest.raises(quiver.ProgrammingError, match="nope"):
            con.execute("SELECT nope FROM sales")
        with pytest.raises(quiver.ProgrammingError):
            con.execute("SELECT FROM WHERE")
        assert con.execute("SELECT count(*) FROM sales").fetchone() == (12,)


def test_unknown_dialect_is_rejected():
    with pytest.raises(quiver.Error, match="klingon"):
        with quiver.connect(dialect="klingon") as con:
            con.execute("SELECT 1")


def test_default_dialect_is_duckdb():
    with quiver.connect() as con:
        # DuckDB spellings: // integer division, list-free GROUP BY ALL, ::casts
        assert con.execute("SELECT 7 // 2, '5'::INT + 1").fetchone() == (3, 6)
