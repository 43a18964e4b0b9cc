"""executor/eval.py semantics: result types, exact decimals, errors, lazy CASE
and AND/OR, IN with NULLs, filter_batch, evaluate_scalar, input normalization."""

import datetime as pydt
from decimal import Decimal

import pyarrow as pa
import pytest

from quiver.errors import DataError
from quiver.executor.eval import evaluate, evaluate_scalar, filter_batch
from quiver import datatypes as dt
from quiver.planner.expr import Case, Cast, Column, InList, Literal
from quiver.planner.functions import FunctionError, resolve_scalar as R

X = Column("x", dt.INT32)
S = Column("s", dt.STRING)
BATCH = pa.record_batch({
    "x": pa.array([0, 1, 2, None, -4], pa.int32()),
    "s": pa.array(["1", "2", "abc", None, "3"]),
})


def L(v, t=dt.INT32):
    return Literal(v, t)


def dec(v: str) -> Literal:
    d = Decimal(v)
    digits = len(d.as_tuple().digits)
    return Literal(d, dt.decimal(max(digits, -d.as_tuple().exponent), -d.as_tuple().exponent))


def test_decimal_sum_is_exact():
    e = R("add", [dec("0.06"), dec("0.01")])
    assert dt.is_decimal(e.dtype)
    assert evaluate_scalar(e) == Decimal("0.07")
    assert str(evaluate_scalar(e)) == "0.07"


def test_decimal_mul_type_and_value():
    a = Column("a", dt.decimal(15, 2))
    batch = pa.record_batch({"a": pa.array([Decimal("12345678901.23"), None], dt.decimal(15, 2))})
    e = R("mul", [a, a])
    out = evaluate(e, batch)
    assert out.type == dt.decimal(30, 4)
    assert out.to_pylist() == [Decimal("12345678901.23") ** 2, None]


def test_wide_decimal_mul_goes_through_decimal256():
    a = Column("a", dt.decimal(38, 10))
    batch = pa.record_batch({"a": pa.array([Decimal("1.5"), Decimal("-2.25")], dt.decimal(38, 10))})
    out = evaluate(R("mul", [a, a]), batch)
    assert out.type == dt.decimal(38, 20)
    assert out.to_pylist() == [Decimal("2.25"), Decimal("5.0625")]


def test_decimal_overflow_raises():
    a = Column("a", dt.decimal(38, 0))
    big = Decimal(10) ** 37 * 9
    batch = pa.record_batch({"a": pa.array([big], dt.decimal(38, 0))})
    with pytest.raises(DataError):
        evaluate(R("add", [a, a]), batch)


def test_true_division_and_integer_division():
    assert evaluate_scalar(R("div", [L(7), L(2)])) == 3.5
    assert evaluate_scalar(R("intdiv", [L(7), L(2)])) == 3
    assert evaluate_scalar(R("intdiv", [L(-7), L(2)])) == -3
    assert evaluate_scalar(R("mod", [L(-7), L(3)])) == -1


@pytest.mark.parametrize("fn", ["div", "intdiv", "mod"])
def test_division_by_zero_raises(fn):
    with pytest.raises(DataError, match="division by zero"):
        evaluate(R(fn, [L(1), X]), BATCH)
    with pytest.raises(DataError, match="division by zero"):
        evaluate_scalar(R(fn, [dec("1.5"), L(0)]))
    with pytest.raises(DataError, match="division by zero"):
        evaluate_scalar(R(fn, [L(1.5, dt.FLOAT64), L(0)]))


def test_null_divisor_gives_null():
    assert evaluate_scalar(R("div", [L(1), L(None, dt.NULL)])) is None
    batch = pa.record_batch({"x": pa.array([None, 2], pa.int32())})
    assert evaluate(R("div", [L(1), X]), batch).to_pylist() == [None, 0.5]


def test_integer_overflow_raises():
    big = Column("b", dt.INT64)
    batch = pa.record_batch({"b": pa.array([2**62], pa.int64())})
    with pytest.raises(DataError):
        evaluate(R("mul", [big, L(4)]), batch)


def test_failed_cast_names_value_and_type():
    with pytest.raises(DataError, match=r"'abc'.*INTEGER"):
        evaluate(Cast(S, dt.INT32), BATCH)
    with pytest.raises(DataError, match="abc"):
        evaluate_scalar(Cast(L("abc", dt.STRING), dt.INT32))
    with pytest.raises(DataError, match="DATE"):
        evaluate_scalar(Cast(L("2020-13-45", dt.STRING), dt.DATE))
    with pytest.raises(DataError, match="300"):
        evaluate_scalar(Cast(L(300), pa.int8()))


def test_try_cast_gives_null():
    assert evaluate(Cast(S, dt.INT32, safe=True), BATCH).to_pylist() == [1, 2, None, None, 3]
    assert evaluate_scalar(Cast(L("2020-02-30", dt.STRING), dt.DATE, safe=True)) is None
    assert evaluate_scalar(Cast(L(300), pa.int8(), safe=True)) is None


def test_cast_rounds_like_duckdb():
    # DOUBLE -> integer rounds ties to even (DuckDB: CAST(2.5e0 AS INT) = 2),
    # DECIMAL -> integer rounds ties away from zero (CAST(2.5 AS INT) = 3)
    assert evaluate_scalar(Cast(L(2.5, dt.FLOAT64), dt.INT32)) == 2
    assert evaluate_scalar(Cast(L(3.5, dt.FLOAT64), dt.INT32)) == 4
    assert evaluate_scalar(Cast(L(-2.5, dt.FLOAT64), dt.INT32)) == -2
    assert evaluate_scalar(Cast(dec("2.5"), dt.INT32)) == 3
    assert evaluate_scalar(Cast(dec("-2.5"), dt.INT32)) == -3
    assert evaluate_scalar(Cast(dec("1.25"), dt.decimal(5, 1))) == Decimal("1.3")
    assert evaluate_scalar(Cast(L(" 12 ", dt.STRING), dt.INT32)) == 12


def test_case_is_lazy():
    e = Case((R("eq", [X, L(0)]),), (L(0.0, dt.FLOAT64),), R("div", [L(1), X]), dt.FLOAT64)
    assert evaluate(e, BATCH).to_pylist() == [0.0, 1.0, 0.5, None, -0.25]
    cast = Case((R("eq", [S, L("abc", dt.STRING)]),), (L(-1),), Cast(S, dt.INT32), dt.INT32)
    assert evaluate(cast, BATCH).to_pylist() == [1, 2, -1, None, 3]


def test_and_or_do_not_evaluate_decided_rows():
    guard = R("ne", [X, L(0)])
    risky = R("gt", [R("div", [L(1), X]), L(0.4, dt.FLOAT64)])
    assert evaluate(R("and", [guard, risky]), BATCH).to_pylist() == [False, True, True, None, False]
    assert filter_batch(BATCH, R("and", [guard, risky])).column(0).to_pylist() == [1, 2]
    either = R("or", [R("eq", [X, L(0)]), risky])
    assert evaluate(either, BATCH).to_pylist() == [True, True, True, None, False]


def test_three_valued_logic():
    t, f, n = L(True, dt.BOOL), L(False, dt.BOOL), L(None, dt.NULL)
    assert evaluate_scalar(R("and", [n, f])) is False
    assert evaluate_scalar(R("and", [n, t])) is None
    assert evaluate_scalar(R("or", [n, t])) is True
    assert evaluate_scalar(R("or", [n, f])) is None
    assert evaluate_scalar(R("not", [n])) is None


def test_in_list_null_semantics():
    e = InList(X, (L(1), L(None, dt.NULL)))
    assert evaluate(e, BATCH).to_pylist() == [None, True, None, None, None]
    assert evaluate(InList(X, (L(1), L(None, dt.NULL)), True), BATCH).to_pylist() == \
        [None, False, None, None, None]
    assert evaluate(InList(X, (L(1), L(2))), BATCH).to_pylist() == [False, True, True, None, False]


def test_filter_batch_drops_null_and_false():
    out = filter_batch(BATCH, R("gt", [X, L(0)]))
    assert out.schema == BATCH.schema
    assert out.column(0).to_pylist() == [1, 2]
    assert filter_batch(BATCH, L(False, dt.BOOL)).num_rows == 0
    assert filter_batch(BATCH, L(True, dt.BOOL)).num_rows == 5
    assert filter_batch(BATCH, None) is BATCH


def test_literal_broadcast_and_type():
    out = evaluate(dec("2.50"), BATCH)
    assert out.type == dt.decimal(3, 2) and out.to_pylist() == [Decimal("2.50")] * 5
    assert evaluate(Literal(None, dt.STRING), BATCH).to_pylist() == [None] * 5
    assert evaluate(Literal("1995-03-15", dt.DATE), BATCH)[0].as_py() == pydt.date(1995, 3, 15)


def test_large_string_and_string_view_inputs():
    for t in (pa.large_string(), pa.string_view()):
        batch = pa.record_batch({"s": pa.array(["ab", None], t)})
        out = evaluate(R("upper", [S]), batch)
        assert out.type == pa.string() and out.to_pylist() == ["AB", None]


def test_evaluate_scalar_values():
    assert evaluate_scalar(R("sub", [Literal(pydt.date(2020, 3, 31), dt.DATE),
                                     Literal((1, 0, 0), dt.INTERVAL)])) == pydt.datetime(2020, 2, 29)
    assert evaluate_scalar(R("neg", [Literal((1, 2, 3), dt.INTERVAL)])) == (-1, -2, -3)
    assert evaluate_scalar(R("round", [L(-2.5, dt.FLOAT64)])) == -3.0
    assert evaluate_scalar(R("round", [dec("2.345"), L(2)])) == Decimal("2.35")
    assert evaluate_scalar(R("like", [L("a_b", dt.STRING), L("a!_b", dt.STRING),
                                      L("!", dt.STRING)])) is True
    assert evaluate_scalar(R("like", [L("axb", dt.STRING), L("a!_b", dt.STRING),
                                      L("!", dt.STRING)])) is False
    assert evaluate_scalar(R("substring", [L("hello", dt.STRING), L(2), L(3)])) == "ell"
    assert evaluate_scalar(R("current_date", [])) == pydt.date.today()


def test_bind_time_errors():
    with pytest.raises(FunctionError, match="unknown function"):
        R("frobnicate", [X])
    with pytest.raises(FunctionError, match="cannot apply"):
        R("add", [S, X])
    with pytest.raises(FunctionError):
        R("lower", [X])
