"""Every bad input of CONTRACT.md's semantics table raises the right
quiver.Error subclass with a message naming the problem (and `line L,
column C` where it has a place); after each error the same connection
answers the next query. A hypothesis test feeds random and mutated SQL to
cursor.execute: only quiver.Error subclasses may come out."""

from __future__ import annotations

import os
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quiver


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("errs")
    pq.write_table(pa.table({"id": pa.array(range(20), pa.int64()),
                             "k": pa.array([i % 4 for i in range(20)], pa.int64()),
                             "s": [f"w{i % 5}" for i in range(20)],
                             "m": pa.array([None] + list(range(19)), pa.int32())}),
                   root / "t.parquet")
    c = quiver.connect()
    c.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{root}'")
    yield c
    c.close()


def _still_answers(con):
    assert con.execute("SELECT count(*) FROM t").fetchone() == (20,)


POSITION = re.compile(r"line (\d+), column (\d+)")

# (sql, class, message fragments, (line, column) or None)
CASES = [
    # division / modulo by zero
    ("SELECT 1 / 0", quiver.DataError, ["division by zero"], None),
    ("SELECT 7 // 0", quiver.DataError, ["division by zero"], None),
    ("SELECT 7 % 0", quiver.DataError, ["division by zero"], None),
    ("SELECT id / (k - k) FROM t", quiver.DataError, ["division by zero"], None),
    ("SELECT CAST(id AS DECIMAL(5,2)) / 0.0 FROM t", quiver.DataError, ["division by zero"],
     None),
    # scalar subquery with more than one row
    ("SELECT (SELECT id FROM t)", quiver.DataError, ["more than one row"], None),
    ("SELECT id FROM t WHERE k = (SELECT k FROM t)", quiver.DataError,
     ["more than one row"], None),
    # failed CAST of a value
    ("SELECT CAST('abc' AS INT)", quiver.DataError, ["abc", "INT"], None),
    ("SELECT CAST(s AS BIGINT) FROM t", quiver.DataError, ["w0", "BIGINT"], None),
    ("SELECT CAST('2021-02-30' AS DATE)", quiver.DataError, ["2021-02-30", "DATE"], None),
    ("SELECT CAST(1000 AS TINYINT)", quiver.DataError, ["1000"], None),
    # types that cannot be coerced, at bind time
    ("SELECT 'abc' + 1", quiver.ProgrammingError, ["+"], (1, 8)),
    ("SELECT id\n  + s FROM t", quiver.ProgrammingError, ["+", "VARCHAR"], None),
    ("SELECT sum(s) FROM t", quiver.ProgrammingError, ["sum", "VARCHAR"], None),
    ("SELECT id FROM t WHERE s", quiver.ProgrammingError, ["BOOLEAN"], None),
    # unknown function / type / table / column
    ("SELECT frobnicate(1)", quiver.ProgrammingError, ["frobnicate"], (1, 8)),
    ("SELECT CAST(1 AS WIDGET)", quiver.ProgrammingError, ["WIDGET"], None),
    ("SELECT * FROM nowhere", quiver.ProgrammingError, ["nowhere"], (1, 15)),
    ("SELECT id,\n       bogus\nFROM t", quiver.ProgrammingError, ["bogus"], (2, 8)),
    ("SELECT t.bogus FROM t", quiver.ProgrammingError, ["bogus"], (1, 8)),
    ("SELECT x.id FROM t", quiver.ProgrammingError, ["x"], None),
    # ambiguity, grouping
    ("SELECT k FROM t a JOIN t b ON a.id = b.id", quiver.ProgrammingError,
     ["ambiguous", "k"], (1, 8)),
    ("SELECT id, count(*) FROM t GROUP BY k", quiver.ProgrammingError, ["id"], (1, 8)),
    # syntax
    ("SELEC 1", quiver.ProgrammingError, ["syntax"], "any"),
    ("SELECT 1 +", quiver.ProgrammingError, [], None),
    ("SELECT * FROM t WHERE id = = 1", quiver.ProgrammingError, [], None),
    ("SELECT (1", quiver.ProgrammingError, [], None),
    ("", quiver.ProgrammingError, [], None),
    # DDL
    ("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/tmp'", quiver.ProgrammingError,
     ["t"], None),
    ("DROP TABLE no_such_table", quiver.ProgrammingError, ["no_such_table"], None),
    ("DROP VIEW t", quiver.ProgrammingError, ["t"], None),
    # bad constants and patterns
    ("SELECT INTERVAL 'abc' DAY", quiver.ProgrammingError, ["interval", "abc"], (1, 17)),
    ("SELECT regexp_matches(s, '(') FROM t", quiver.DataError, ["regular expression"], None),
    ("SELECT regexp_replace(s, '(', 'x') FROM t", quiver.DataError, ["regular expression"],
     None),
    # a value Python cannot hold (Arrow can: fetch_arrow_table)
    ("SELECT DATE '9999-12-31' + 1", quiver.DataError, ["fetch_arrow_table"], None),
    # unsupported features
    ("INSERT OR REPLACE INTO t VALUES (1, 2, 'x', 3)", quiver.NotSupportedError,
     ["INSERT OR REPLACE"], None),
    ("COPY t FROM 'x.csv'", quiver.NotSupportedError, ["COPY ... FROM"], None),
    ("DELETE FROM t", quiver.NotSupportedError, [], None),
    ("CREATE SCHEMA s", quiver.NotSupportedError, ["SCHEMA"], None),
    ("SELECT * FROM t, LATERAL (SELECT 1) l", quiver.NotSupportedError, ["LATERAL"], None),
    ("SELECT * FROM t a ASOF JOIN t b ON a.id >= b.id", quiver.NotSupportedError, ["ASOF"],
     None),
    ("SELECT * FROM t a POSITIONAL JOIN t b", quiver.NotSupportedError, ["POSITIONAL"], None),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
     "SELECT * FROM r", quiver.NotSupportedError, ["RECURSIVE"], None),
]


@pytest.mark.parametrize("sql, cls, fragments, where", CASES,
                         ids=[c[0][:40] for c in CASES])
def test_bad_input_raises_the_contract_class(con, sql, cls, fragments, where):
    with pytest.raises(cls) as info:
        con.execute(sql).fetchall()
    msg = str(info.value)
    for f in fragments:
        assert f.lower() in msg.lower(), (f, msg)
    if where is not None:
        m = POSITION.search(msg)
        assert m, msg
        if where != "any":
            assert (int(m.group(1)), int(m.group(2))) == where, msg
    _still_answers(con)


def test_try_cast_gives_null_instead(con):
    assert con.execute("SELECT TRY_CAST('abc' AS INT), TRY_CAST(s AS INT) FROM t LIMIT 1"
                       ).fetchone() == (None, None)


def test_create_external_table_on_empty_location_names_it(con, tmp_path):
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    with pytest.raises(quiver.ProgrammingError, match="nothing_here"):
        con.execute(f"CREATE EXTERNAL TABLE e STORED AS PARQUET LOCATION '{empty}'")
    with pytest.raises(quiver.ProgrammingError, match="no_such_dir"):
        con.execute(f"CREATE EXTERNAL TABLE e STORED AS PARQUET LOCATION '{tmp_path}/no_such_dir'")
    _still_answers(con)


def test_positions_name_the_offending_text(con):
    with pytest.raises(quiver.ProgrammingError) as info:
        con.execute("SELECT id FROM t\nWHERE missing_col > 1")
    msg = str(info.value)
    assert "missing_col" in msg and "line 2, column 7" in msg
    # the offending line is quoted back
    assert "WHERE missing_col > 1" in msg


def test_errors_inside_views_and_ctes(con):
    with pytest.raises(quiver.ProgrammingError, match="nope"):
        con.execute("WITH c AS (SELECT nope FROM t) SELECT * FROM c")
    with pytest.raises(quiver.ProgrammingError):
        con.execute("CREATE VIEW bad AS SELECT nope FROM t")
    with pytest.raises(quiver.ProgrammingError):
        con.execute("SELECT * FROM bad")
    _still_answers(con)


def test_data_error_in_a_later_stage_does_not_poison_the_connection(con):
    with pytest.raises(quiver.DataError):
        con.execute("SELECT k, sum(id) / (count(*) - 5) FROM t GROUP BY k").fetchall()
    _still_answers(con)


def test_many_errors_in_a_row(con):
    for sql, cls, _, _ in CASES * 2:
        with pytest.raises(cls):
            con.execute(sql).fetchall()
    _still_answers(con)


# --- fuzzing ----------------------------------------------------------------------

SEEDS = [
    "SELECT id, k FROM t WHERE id > 3 ORDER BY id",
    "SELECT k, count(*), sum(m) FROM t GROUP BY k HAVING count(*) > 1",
    "SELECT a.id, b.s FROM t a JOIN t b ON a.k = b.k WHERE a.id < 5",
    "SELECT CASE WHEN m > 3 THEN 'x' ELSE s END FROM t",
    "SELECT id FROM t WHERE s LIKE 'w%' AND id IN (1, 2, 3)",
    "WITH c AS (SELECT k FROM t) SELECT count(*) FROM c",
    "SELECT upper(s) || 'x', CAST(id AS VARCHAR) FROM t",
    "SELECT row_number() OVER (PARTITION BY k ORDER BY id) FROM t",
    "SELECT id FROM t WHERE k NOT IN (SELECT k FROM t WHERE id > 10)",
    "SELECT id FROM t UNION SELECT m FROM t",
    "SELECT DATE '2020-01-01' + INTERVAL '1' DAY",
    "SELECT sum(id) / count(*), 1.5 * 2, 7 // 2 FROM t",
]
TOKENS = ["SELECT", "FROM", "WHERE", "t", "id", "k", "s", "m", "(", ")", ",", "*", "+",
          "-", "/", "%", "=", "<", "'x'", "1", "0", "NULL", "AND", "OR", "NOT", "GROUP BY",
          "ORDER BY", "JOIN", "ON", "CAST(", "AS", "INT", "CASE", "WHEN", "THEN", "END",
          "count(", "sum(", "OVER (", "?", ";", "UNION", "LIMIT", "IN", "EXISTS", "\n", "''",
          "1e999", "9223372036854775808", "\"", "`", "::", "[", "]", "{", "}"]


def _mutate(draw_seed: str, ops) -> str:
    text = draw_seed
    for kind, pos, token in ops:
        i = pos % (len(text) + 1)
        if kind == 0:
            text = text[:i] + " " + token + " " + text[i:]
        elif kind == 1:
            text = text[:i] + text[i + 1 + pos % 7:]
        else:
            j = text.find(" ", i)
            text = text[:i] + token + (text[j:] if j >= 0 else "")
    return text


def _run(con, sql):
    """Run one statement: a user error is fine; InternalError (the wrapper
    around an unexpected Python exception inside the engine) is not."""
    try:
        cur = con.execute(sql)
        if cur.description is not None:
            cur.fetchall()
    except quiver.InternalError as e:
        raise AssertionError(f"engine bug for {sql!r}: {e}") from e
    except quiver.Error:
        pass


FUZZ_EXAMPLES = int(os.environ.get("QUIVER_FUZZ_EXAMPLES", "60"))   # raise it to hunt bugs
_FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


@_FUZZ
@given(seed=st.sampled_from(SEEDS),
       ops=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 400), st.sampled_from(TOKENS)),
                    min_size=1, max_size=4))
def test_mutated_sql_only_raises_quiver_errors(con, seed, ops):
    _run(con, _mutate(seed, ops))


@_FUZZ
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map(" ".join))
def test_token_soup_only_raises_quiver_errors(con, sql):
    _run(con, sql)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_random_text_only_raises_quiver_errors(con, sql):
    _run(con, sql)


def test_fuzzing_left_the_connection_usable(con):
    _still_answers(con)
