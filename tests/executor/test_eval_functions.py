"""Each scalar function family evaluated by Quiver against DuckDB on the same
small random table with NULLs: `SELECT <sql> FROM t` in DuckDB versus the
hand-bound Expr evaluated by executor/eval.py."""

import datetime as pydt
import math
import random
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from quiver.executor.eval import evaluate
from quiver import datatypes as dt
from quiver.planner.expr import Case, Cast, Column, InList, Literal
from quiver.planner.functions import resolve_scalar as R

N = 300


def _table() -> pa.Table:
    rnd = random.Random(42)

    def maybe(v, p=0.15):
        return None if rnd.random() < p else v

    words = ["hello", "Hello World", "a%b", "ab_c", "  padded  ", "héllo wörld", "", "x",
             "lollipop", "a b c d", "ÄÖÜ", "a\\b"]
    base = pydt.datetime(1965, 1, 1)
    return pa.table({
        "i": pa.array([maybe(rnd.randint(-50, 50)) for _ in range(N)], pa.int32()),
        "j": pa.array([maybe(rnd.randint(-10**12, 10**12)) for _ in range(N)], pa.int64()),
        "nz": pa.array([maybe(rnd.choice([-7, -3, -1, 1, 2, 5, 9])) for _ in range(N)], pa.int32()),
        "f": pa.array([maybe(rnd.uniform(-1000, 1000)) for _ in range(N)], pa.float64()),
        "d": pa.array([maybe(Decimal(rnd.randint(-10**9, 10**9)) / 100) for _ in range(N)],
                      pa.decimal128(15, 2)),
        "e": pa.array([maybe(Decimal(rnd.choice([1, -1]) * rnd.randint(1, 99999)) / 1000)
                       for _ in range(N)], pa.decimal128(7, 3)),
        "s": pa.array([maybe(rnd.choice(words)) for _ in range(N)], pa.string()),
        "b": pa.array([maybe(rnd.random() < 0.5) for _ in range(N)], pa.bool_()),
        "dt": pa.array([maybe((base + pydt.timedelta(days=rnd.randint(0, 25000))).date())
                        for _ in range(N)], pa.date32()),
        "dt2": pa.array([maybe((base + pydt.timedelta(days=rnd.randint(0, 25000))).date())
                         for _ in range(N)], pa.date32()),
        "ts": pa.array([maybe(base + pydt.timedelta(seconds=rnd.randint(0, 2 * 10**9),
                                                    microseconds=rnd.randint(0, 10**6 - 1)))
                        for _ in range(N)], pa.timestamp("us")),
        "ts2": pa.array([maybe(base + pydt.timedelta(seconds=rnd.randint(0, 2 * 10**9)))
                         for _ in range(N)], pa.timestamp("us")),
    })


TABLE = _table()
BATCH = TABLE.combine_chunks().to_batches()[0]
C = {name: Column(name, dt.normalize(TABLE.schema.field(name).type)) for name in TABLE.column_names}
i, j, nz, f, d, e, s, b = (C[k] for k in "i j nz f d e s b".split())
D, D2, TS, TS2 = C["dt"], C["dt2"], C["ts"], C["ts2"]


def L(v, t=None):
    if t is None:
        t = {int: dt.INT32, str: dt.STRING, float: dt.FLOAT64, bool: dt.BOOL}[type(v)]
    return Literal(v, t)


_CON = duckdb.connect()
_CON.register("t", TABLE)


def _duck(sql: str) -> list:
    return [r[0] for r in _CON.execute(f"SELECT {sql} AS r FROM t").fetchall()]


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def check(sql: str, expr, duck_sql: str | None = None):
    got = evaluate(expr, BATCH)
    assert len(got) == N and got.type == expr.dtype
    want = _duck(duck_sql or sql)
    got = got.to_pylist()
    bad = [(k, got[k], want[k]) for k in range(N) if not _same(got[k], want[k])]
    assert not bad, f"{sql}: first mismatches (row, quiver, duckdb) {bad[:5]}"


ARITH = [
    ("i + j", lambda: R("add", [i, j])),
    ("i - 7", lambda: R("sub", [i, L(7)])),
    ("i * 3", lambda: R("mul", [i, L(3)])),
    ("d + e", lambda: R("add", [d, e])),
    ("d - e", lambda: R("sub", [d, e])),
    ("d * e", lambda: R("mul", [d, e])),
    ("d * i", lambda: R("mul", [d, i])),
    ("d / e", lambda: R("div", [d, e])),
    ("i / nz", lambda: R("div", [i, nz])),
    ("i // nz", lambda: R("intdiv", [i, nz])),
    ("i % nz", lambda: R("mod", [i, nz])),
    ("d % e", lambda: R("mod", [d, e])),
    ("f % nz", lambda: R("mod", [f, nz])),
    ("-d", lambda: R("neg", [d])),
    ("f * d", lambda: R("mul", [f, d])),
    ("f / nz", lambda: R("div", [f, nz])),
    ("d + 0.01", lambda: R("add", [d, L(Decimal("0.01"), dt.decimal(3, 2))])),
    ("i + NULL", lambda: R("add", [i, L(None, dt.NULL)])),
]

COMPARE = [
    ("i < j", lambda: R("lt", [i, j])),
    ("d >= e", lambda: R("ge", [d, e])),
    ("d = i", lambda: R("eq", [d, i])),
    ("s < 'hello'", lambda: R("lt", [s, L("hello")])),
    ("dt > DATE '2000-01-01'", lambda: R("gt", [D, L("2000-01-01")])),
    ("dt <> dt2", lambda: R("ne", [D, D2])),
    ("ts <= dt", lambda: R("le", [TS, D])),
    ("b AND i > 0", lambda: R("and", [b, R("gt", [i, L(0)])])),
    ("b OR i > 0", lambda: R("or", [b, R("gt", [i, L(0)])])),
    ("NOT b", lambda: R("not", [b])),
    ("i IS NULL", lambda: R("is_null", [i])),
    ("s IS NOT NULL", lambda: R("is_not_null", [s])),
    ("i IS DISTINCT FROM nz", lambda: R("is_distinct_from", [i, nz])),
    ("i IS NOT DISTINCT FROM nz", lambda: R("is_not_distinct_from", [i, nz])),
    ("s LIKE 'a%'", lambda: R("like", [s, L("a%")])),
    ("s LIKE '%l_o%'", lambda: R("like", [s, L("%l_o%")])),
    ("s LIKE 'a\\b'", lambda: R("like", [s, L("a\\b")])),
    ("s LIKE 'a!%b' ESCAPE '!'", lambda: R("like", [s, L("a!%b"), L("!")])),
    ("s LIKE 'ab!_%' ESCAPE '!'", lambda: R("like", [s, L("ab!_%"), L("!")])),
    ("s ILIKE '%HEL%'", lambda: R("ilike", [s, L("%HEL%")])),
    ("NOT (s LIKE '%o%')", lambda: R("not", [R("like", [s, L("%o%")])])),
]

STRINGS = [
    ("upper(s)", lambda: R("upper", [s])),
    ("lower(s)", lambda: R("lower", [s])),
    ("length(s)", lambda: R("length", [s])),
    ("reverse(s)", lambda: R("reverse", [s])),
    ("substring(s, 2, 3)", lambda: R("substring", [s, L(2), L(3)])),
    ("substring(s, 3)", lambda: R("substr", [s, L(3)])),
    ("substring(s, 0, 2)", lambda: R("substring", [s, L(0), L(2)])),
    ("substring(s, -3)", lambda: R("substring", [s, L(-3)])),
    ("substring(s, -3, 2)", lambda: R("substring", [s, L(-3), L(2)])),
    ("substring(s, 2, abs(i) % 4)",
     lambda: R("substring", [s, L(2), R("mod", [R("abs", [i]), L(4)])])),
    ("trim(s)", lambda: R("trim", [s])),
    ("ltrim(s)", lambda: R("ltrim", [s])),
    ("rtrim(s, 'd ')", lambda: R("rtrim", [s, L("d ")])),
    ("strpos(s, 'l')", lambda: R("strpos", [s, L("l")])),
    ("position('ö' IN s)", lambda: R("position", [s, L("ö")])),
    ("replace(s, 'l', 'LL')", lambda: R("replace", [s, L("l"), L("LL")])),
    ("starts_with(s, 'he')", lambda: R("starts_with", [s, L("he")])),
    ("ends_with(s, 'd')", lambda: R("ends_with", [s, L("d")])),
    ("contains(s, 'll')", lambda: R("contains", [s, L("ll")])),
    ("s || '-' || i", lambda: R("concat", [R("concat", [s, L("-")]), i])),
    ("left(s, 2)", lambda: R("left", [s, L(2)])),
    ("right(s, 3)", lambda: R("right", [s, L(3)])),
    ("lpad(s, 7, '*')", lambda: R("lpad", [s, L(7), L("*")])),
    ("rpad(s, 4, '.')", lambda: R("rpad", [s, L(4), L(".")])),
    ("split_part(s, ' ', 2)", lambda: R("split_part", [s, L(" "), L(2)])),
    ("split_part(s, ' ', -1)", lambda: R("split_part", [s, L(" "), L(-1)])),
    ("regexp_matches(s, 'l+o')", lambda: R("regexp_matches", [s, L("l+o")])),
    ("regexp_replace(s, 'l', 'L')", lambda: R("regexp_replace", [s, L("l"), L("L")])),
]

MATH = [
    ("abs(i)", lambda: R("abs", [i])),
    ("abs(d)", lambda: R("abs", [d])),
    ("sign(f)", lambda: R("sign", [f])),
    ("floor(d)", lambda: R("floor", [d])),
    ("ceil(e)", lambda: R("ceil", [e])),
    ("floor(f)", lambda: R("floor", [f])),
    ("round(d, 1)", lambda: R("round", [d, L(1)])),
    ("round(e, 2)", lambda: R("round", [e, L(2)])),
    ("round(e)", lambda: R("round", [e])),
    ("round(f, 1)", lambda: R("round", [f, L(1)])),
    ("round(f)", lambda: R("round", [f])),
    ("round(i, -1)", lambda: R("round", [i, L(-1)])),
    ("sqrt(abs(f))", lambda: R("sqrt", [R("abs", [f])])),
    ("ln(abs(f) + 1)", lambda: R("ln", [R("add", [R("abs", [f]), L(1)])])),
    ("log10(abs(d) + 1)", lambda: R("log10", [R("add", [R("abs", [d]), L(1)])])),
    ("exp(f / 1000)", lambda: R("exp", [R("div", [f, L(1000)])])),
    ("power(f, 2)", lambda: R("power", [f, L(2)])),
    ("coalesce(i, nz, -1)", lambda: R("coalesce", [i, nz, L(-1)])),
    ("coalesce(d, e)", lambda: R("coalesce", [d, e])),
    ("nullif(i, 0)", lambda: R("nullif", [i, L(0)])),
    ("greatest(i, nz)", lambda: R("greatest", [i, nz])),
    ("least(d, e)", lambda: R("least", [d, e])),
    ("greatest(s, 'm')", lambda: R("greatest", [s, L("m")])),
]

DATES = [(f"extract({p} FROM dt)", (lambda p=p: R("extract", [L(p), D])))
         for p in ("year", "quarter", "month", "day", "dow", "isodow", "doy", "week", "epoch")]
DATES += [(f"extract({p} FROM ts)", (lambda p=p: R("date_part", [L(p), TS])))
          for p in ("hour", "minute", "second", "millisecond", "microsecond", "epoch", "year")]
DATES += [
    ("year(dt)", lambda: R("year", [D])),
    ("dayofweek(dt)", lambda: R("dayofweek", [D])),
    ("date_trunc('month', dt)", lambda: R("date_trunc", [L("month"), D])),
    ("date_trunc('quarter', dt)", lambda: R("date_trunc", [L("quarter"), D])),
    ("date_trunc('week', ts)", lambda: R("date_trunc", [L("week"), TS])),
    ("date_trunc('hour', ts)", lambda: R("date_trunc", [L("hour"), TS])),
    ("date_trunc('year', ts)", lambda: R("date_trunc", [L("year"), TS])),
] + [(f"date_diff('{p}', dt, dt2)", (lambda p=p: R("date_diff", [L(p), D, D2])))
     for p in ("day", "week", "month", "quarter", "year")] + [
    (f"date_diff('{p}', ts, ts2)", (lambda p=p: R("datediff", [L(p), TS, TS2])))
    for p in ("hour", "minute", "second", "day", "month", "year")] + [
    ("dt + 5", lambda: R("add", [D, L(5)])),
    ("dt - i", lambda: R("sub", [D, i])),
    ("dt - dt2", lambda: R("sub", [D, D2])),
    ("CAST(dt + INTERVAL 1 MONTH AS DATE)", lambda: Cast(R("add", [D, L((1, 0, 0), dt.INTERVAL)]), dt.DATE)),
    ("CAST(dt - INTERVAL 90 DAY AS DATE)", lambda: Cast(R("sub", [D, L((0, 90, 0), dt.INTERVAL)]), dt.DATE)),
    ("CAST(dt + INTERVAL 13 MONTH + INTERVAL 3 DAY AS DATE)",
     lambda: Cast(R("add", [D, L((13, 3, 0), dt.INTERVAL)]), dt.DATE)),
    ("CAST(INTERVAL 1 YEAR + dt AS DATE)", lambda: Cast(R("add", [L((12, 0, 0), dt.INTERVAL), D]), dt.DATE)),
    ("ts + INTERVAL '1 month 2 days 3 hours'",
     lambda: R("add", [TS, L((1, 2, 3 * 3600 * 10**9), dt.INTERVAL)])),
    ("ts - INTERVAL 5 MONTH", lambda: R("sub", [TS, L((5, 0, 0), dt.INTERVAL)])),
    ("dt + INTERVAL 3 HOUR", lambda: R("add", [D, L((0, 0, 3 * 3600 * 10**9), dt.INTERVAL)])),
    ("make_date(2000 + i, abs(nz), 28)",
     lambda: R("make_date", [R("add", [L(2000), i]), R("abs", [nz]), L(28)])),
    ("strftime(dt, '%Y/%m/%d')", lambda: R("strftime", [D, L("%Y/%m/%d")])),
    ("strftime(ts, '%Y-%m-%d %H:%M')", lambda: R("strftime", [TS, L("%Y-%m-%d %H:%M")])),
]

CONTROL = [
    ("CASE WHEN i > 0 THEN 'pos' WHEN i < 0 THEN 'neg' ELSE 'zero' END",
     lambda: Case((R("gt", [i, L(0)]), R("lt", [i, L(0)])), (L("pos"), L("neg")),
                  L("zero"), dt.STRING)),
    ("CASE WHEN i > 0 THEN d END",
     lambda: Case((R("gt", [i, L(0)]),), (d,), None, d.dtype)),
    ("CASE WHEN i = 0 THEN 0 ELSE 100 / i END",
     lambda: Case((R("eq", [i, L(0)]),), (L(0.0),), R("div", [L(100), i]), dt.FLOAT64)),
    ("i IN (1, 2, 3)", lambda: InList(i, (L(1), L(2), L(3)))),
    ("i IN (1, 2, NULL)", lambda: InList(i, (L(1), L(2), L(None, dt.NULL)))),
    ("i NOT IN (1, 2, NULL)", lambda: InList(i, (L(1), L(2), L(None, dt.NULL)), True)),
    ("s NOT IN ('hello', 'x')", lambda: InList(s, (L("hello"), L("x")), True)),
    ("i IN (nz, 3)", lambda: InList(i, (nz, L(3)))),
]

CASTS = [
    ("CAST(i AS VARCHAR)", lambda: Cast(i, dt.STRING)),
    ("CAST(d AS VARCHAR)", lambda: Cast(d, dt.STRING)),
    ("CAST(dt AS VARCHAR)", lambda: Cast(D, dt.STRING)),
    ("CAST(d AS INTEGER)", lambda: Cast(d, dt.INT64)),
    ("CAST(f AS INTEGER)", lambda: Cast(f, dt.INT32)),
    ("CAST(e AS DECIMAL(10,1))", lambda: Cast(e, dt.decimal(10, 1))),
    ("CAST(i AS DECIMAL(12,2))", lambda: Cast(i, dt.decimal(12, 2))),
    ("CAST(d AS DOUBLE)", lambda: Cast(d, dt.FLOAT64)),
    ("CAST(dt AS TIMESTAMP)", lambda: Cast(D, dt.TIMESTAMP)),
    ("CAST(ts AS DATE)", lambda: Cast(TS, dt.DATE)),
    ("CAST(b AS INTEGER)", lambda: Cast(b, dt.INT32)),
    ("TRY_CAST(s AS INTEGER)", lambda: Cast(s, dt.INT32, safe=True)),
    ("TRY_CAST(CAST(i AS VARCHAR) || 'x' AS INTEGER)",
     lambda: Cast(R("concat", [Cast(i, dt.STRING), L("x")]), dt.INT32, safe=True)),
    ("CAST(CAST(j AS VARCHAR) AS BIGINT)", lambda: Cast(Cast(j, dt.STRING), dt.INT64)),
    ("CAST(CAST(d AS VARCHAR) AS DECIMAL(15,2))", lambda: Cast(Cast(d, dt.STRING), dt.decimal(15, 2))),
    ("CAST(CAST(dt AS VARCHAR) AS DATE)", lambda: Cast(Cast(D, dt.STRING), dt.DATE)),
    ("TRY_CAST(CAST(j AS VARCHAR) AS INTEGER)", lambda: Cast(Cast(j, dt.STRING), dt.INT32, safe=True)),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize("sql,build", ARITH, ids=_ids(ARITH))
def test_arithmetic(sql, build):
    check(sql, build())


@pytest.mark.parametrize("sql,build", COMPARE, ids=_ids(COMPARE))
def test_comparison_and_logic(sql, build):
    check(sql, build())


@pytest.mark.parametrize("sql,build", STRINGS, ids=_ids(STRINGS))
def test_strings(sql, build):
    check(sql, build())


@pytest.mark.parametrize("sql,build", MATH, ids=_ids(MATH))
def test_math_and_conditional(sql, build):
    check(sql, build())


@pytest.mark.parametrize("sql,build", DATES, ids=_ids(DATES))
def test_dates(sql, build):
    check(sql, build())


@pytest.mark.parametrize("sql,build", CONTROL, ids=_ids(CONTROL))
def test_case_and_in(sql, build):
    check(sql, build())


@pytest.mark.parametrize("sql,build", CASTS, ids=_ids(CASTS))
def test_casts(sql, build):
    check(sql, build())


ALL = ARITH + COMPARE + STRINGS + MATH + DATES + CONTROL + CASTS


@pytest.mark.parametrize("sql,build", ALL, ids=_ids(ALL))
def test_constant_expressions_match_columns(sql, build):
    """Constant folding path: the same expression with the columns replaced by
    literals of one row gives that row's value through evaluate_scalar."""
    from quiver.executor.eval import evaluate_scalar
    from quiver.planner.tree import transform_up

    expr = build()
    full = evaluate(expr, BATCH).to_pylist()
    for row in (0, 1, 2, 7, 11):
        def lit(node, row=row):
            if isinstance(node, Column):
                return Literal(BATCH.column(node.name)[row].as_py(), node.dtype)
            return node
        const, _ = transform_up(expr, lit)
        try:
            got = evaluate_scalar(const)
        except Exception as exc:   # noqa: BLE001 - report which row broke
            raise AssertionError(f"{sql} row {row}: {exc!r}") from exc
        assert _same(got, full[row]), f"{sql} row {row}: {got!r} != {full[row]!r}"
