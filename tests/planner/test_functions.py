"""Type resolution of planner/functions.py: result types follow DuckDB."""

import re

import duckdb
import pyarrow as pa
import pytest

from quiver import datatypes as dt
from quiver.planner import functions as F
from quiver.planner.expr import AggCall, Call, Cast, Column, Literal

D152 = Column("a", dt.decimal(15, 2))
I32 = Column("i", dt.INT32)
I64 = Column("j", dt.INT64)
F64 = Column("f", dt.FLOAT64)
DATE = Column("d", dt.DATE)
STR = Column("s", dt.STRING)


def _duck_type(sql: str) -> str:
    return duckdb.connect().execute(f"SELECT typeof({sql})").fetchall()[0][0]


@pytest.mark.parametrize("fn,args,duck", [
    ("add", [D152, I32], "1.00::DECIMAL(15,2) + 1::INTEGER"),
    ("sub", [D152, Column("b", dt.decimal(3, 0))], "1::DECIMAL(15,2) - 1::DECIMAL(3,0)"),
    ("add", [I32, Column("b", dt.decimal(3, 1))], "1::INTEGER + 1::DECIMAL(3,1)"),
    ("mod", [Column("b", dt.decimal(4, 1)), I32], "1::DECIMAL(4,1) % 2::INTEGER"),
    ("div", [I32, I32], "7::INTEGER / 2::INTEGER"),
    ("div", [D152, D152], "7::DECIMAL(15,2) / 2::DECIMAL(15,2)"),
    ("intdiv", [I32, I32], "7::INTEGER // 2::INTEGER"),
    ("add", [I32, I64], "1::INTEGER + 1::BIGINT"),
    ("mul", [I32, F64], "1::INTEGER * 1::DOUBLE"),
    ("sub", [DATE, DATE], "DATE '2020-01-01' - DATE '2019-01-01'"),
    ("add", [DATE, I32], "DATE '2020-01-01' + 1"),
])
def test_arithmetic_types_match_duckdb(fn, args, duck):
    got = F.resolve_scalar(fn, args).dtype
    assert dt.sql_name(got) == _duck_type(duck)


def test_decimal_mul_uses_full_precision():
    e = F.resolve_scalar("mul", [D152, D152])
    assert e.dtype == dt.decimal(30, 4)
    big = Column("x", dt.decimal(38, 10))
    assert F.resolve_scalar("mul", [big, big]).dtype == dt.decimal(38, 20)


def test_int_operand_of_decimal_is_cast():
    e = F.resolve_scalar("add", [D152, I32])
    assert e.args[1] == Cast(I32, dt.decimal(10, 0))
    assert e.dtype == dt.decimal(16, 2)


def test_string_literal_vs_date_is_cast_to_date():
    e = F.resolve_scalar("eq", [DATE, Literal("1995-01-01", dt.STRING)])
    assert e == Call("eq", (DATE, Cast(Literal("1995-01-01", dt.STRING), dt.DATE)), dt.BOOL)


def test_null_literal_takes_other_type():
    e = F.resolve_scalar("add", [I64, Literal(None, dt.NULL)])
    assert e.dtype == dt.INT64 and e.args[1] == Literal(None, dt.INT64)


def test_date_interval():
    iv = Literal((0, 90, 0), dt.INTERVAL)
    # DuckDB and PostgreSQL: date +/- interval is a TIMESTAMP
    assert F.resolve_scalar("sub", [DATE, iv]).dtype == dt.TIMESTAMP
    assert F.resolve_scalar("add", [iv, DATE]).args[0] == Cast(DATE, dt.TIMESTAMP)
    ts = Column("t", dt.TIMESTAMP)
    assert F.resolve_scalar("add", [ts, iv]).dtype == dt.TIMESTAMP
    assert F.resolve_scalar("add", [DATE, Literal((0, 0, 5), dt.INTERVAL)]).dtype == dt.TIMESTAMP


@pytest.mark.parametrize("name,args,duck", [
    ("round", [Column("b", dt.decimal(5, 3)), Literal(2, dt.INT32)], "round(1::DECIMAL(5,3), 2)"),
    ("round", [Column("b", dt.decimal(5, 3))], "round(1::DECIMAL(5,3))"),
    ("floor", [Column("b", dt.decimal(5, 3))], "floor(1::DECIMAL(5,3))"),
    ("sign", [F64], "sign(1.5::DOUBLE)"),
    ("abs", [I32], "abs(1::INTEGER)"),
    ("length", [STR], "length('abc')"),
    ("strpos", [STR, STR], "strpos('abc', 'b')"),
    ("year", [DATE], "year(DATE '2020-01-01')"),
    ("date_part", [Literal("epoch", dt.STRING), DATE], "date_part('epoch', DATE '2020-01-01')"),
    ("date_trunc", [Literal("month", dt.STRING), DATE], "date_trunc('month', DATE '2020-01-01')"),
    ("datediff", [Literal("day", dt.STRING), DATE, DATE], "datediff('day', DATE '2020-01-01', DATE '2020-01-01')"),
    ("coalesce", [I32, I64], "coalesce(1::INTEGER, 2::BIGINT)"),
    ("sqrt", [I32], "sqrt(4::INTEGER)"),
])
def test_function_types_match_duckdb(name, args, duck):
    assert dt.sql_name(F.resolve_scalar(name, args).dtype) == _duck_type(duck)


def test_aliases_normalize():
    assert F.resolve_scalar("substr", [STR, Literal(1, dt.INT32)]).fn == "substring"
    assert F.resolve_scalar("year", [DATE]).fn == "extract"
    assert F.resolve_scalar("YEAR", [DATE]).args[0] == Literal("year", dt.STRING)


@pytest.mark.parametrize("name,args,msg", [
    ("foo", [I32], "unknown function foo"),
    ("add", [STR, I32], "cannot apply + to VARCHAR and INTEGER"),
    ("upper", [I32], "upper"),
    ("and", [I32, I32], "AND"),
    ("substring", [STR], "arguments"),
    ("extract", [Literal("fortnight", dt.STRING), DATE], "fortnight"),
    ("sum", [I32], "not a scalar"),
    ("eq", [DATE, I32], "="),
])
def test_errors(name, args, msg):
    with pytest.raises(F.FunctionError, match=re.escape(msg)):
        F.resolve_scalar(name, args)


def test_aggregates():
    assert F.resolve_aggregate("sum", [D152]).dtype == dt.decimal(38, 2)
    assert F.resolve_aggregate("sum", [I32]).dtype == dt.INT64
    assert F.resolve_aggregate("avg", [D152]).dtype == dt.FLOAT64
    assert F.resolve_aggregate("count", []) == AggCall("count_star", (), dt.INT64)
    assert F.resolve_aggregate("stddev", [F64]).fn == "stddev_samp"
    assert F.resolve_aggregate("any_value", [STR]).fn == "first"
    assert F.resolve_aggregate("max", [STR]).dtype == dt.STRING
    with pytest.raises(F.FunctionError):
        F.resolve_aggregate("sum", [STR])
    with pytest.raises(F.FunctionError):
        F.resolve_aggregate("nope", [STR])
    assert F.is_aggregate("COUNT") and not F.is_aggregate("rank")
    assert F.is_window_function("rank") and not F.is_window_function("sum")


def test_windows():
    assert F.resolve_window("rank", [], [], [], None).dtype == dt.INT64
    assert F.resolve_window("cume_dist", [], [], [], None).dtype == dt.FLOAT64
    w = F.resolve_window("lag", [I32, Literal(2, dt.INT32), Literal(0, dt.INT32)], [], [], None)
    assert w.dtype == dt.INT32 and w.args[1] == Literal(2, dt.INT64)
    assert F.resolve_window("count", [], [], [], None).fn == "count_star"


def test_cast_allowed():
    assert F.cast_allowed(dt.STRING, dt.DATE)
    assert F.cast_allowed(dt.INT32, dt.decimal(10, 2))
    assert F.cast_allowed(dt.DATE, dt.TIMESTAMP)
    assert not F.cast_allowed(dt.DATE, dt.INT32)
    assert not F.cast_allowed(dt.BOOL, dt.DATE)
