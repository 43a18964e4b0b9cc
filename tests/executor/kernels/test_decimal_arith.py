"""The int64 fast path of DECIMAL add/sub/mul against Python's Decimal."""

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor.kernels.decimal_arith import decimal_binop
from quiver.planner.functions import decimal_result


def _arr(rng, n, p, s, nulls=True):
    vals = rng.integers(-10 ** min(p, 9), 10 ** min(p, 9), n)
    out = [None if nulls and i % 7 == 3 else Decimal(int(v)).scaleb(-s) for i, v in enumerate(vals)]
    return pa.array(out, pa.decimal128(p, s))


def _expect(fn, a, b):
    if a is None or b is None:
        return None
    return {"add": a + b, "sub": a - b, "mul": a * b}[fn]


@pytest.mark.parametrize("fn", ["add", "sub", "mul"])
@pytest.mark.parametrize("ta,tb", [((15, 2), (15, 2)), ((15, 2), (16, 4)), ((31, 4), (16, 2)),
                                   ((38, 3), (10, 0))])
def test_matches_decimal(fn, ta, tb):
    rng = np.random.default_rng(1)
    a = _arr(rng, 300, *ta)
    b = _arr(rng, 300, *tb)
    out = decimal_result(fn, a.type, b.type)
    got = decimal_binop(fn, a, b, out)
    assert got is not None and got.type == out
    want = [_expect(fn, x, y) for x, y in zip(a.to_pylist(), b.to_pylist())]
    assert got.to_pylist() == want


@pytest.mark.parametrize("fn", ["add", "sub", "mul"])
def test_scalar_operands(fn):
    rng = np.random.default_rng(2)
    a = _arr(rng, 50, 15, 2)
    one = pa.scalar(Decimal("1.00"), pa.decimal128(15, 2))
    out = decimal_result(fn, one.type, a.type)
    got = decimal_binop(fn, one, a, out)
    assert got.to_pylist() == [_expect(fn, Decimal("1.00"), y) for y in a.to_pylist()]
    got = decimal_binop(fn, a, one, out)
    assert got.to_pylist() == [_expect(fn, y, Decimal("1.00")) for y in a.to_pylist()]
    assert decimal_binop(fn, a, pa.scalar(None, pa.decimal128(15, 2)), out) is None


def test_overflow_and_wide_values_fall_back():
    big = pa.array([Decimal(10 ** 17)], pa.decimal128(18, 0))
    assert decimal_binop("mul", big, big, decimal_result("mul", big.type, big.type)) is None
    wide = pa.array([Decimal(10 ** 30)], pa.decimal128(38, 0))
    assert decimal_binop("add", wide, big, decimal_result("add", wide.type, big.type)) is None


def test_sliced_input():
    rng = np.random.default_rng(3)
    a = _arr(rng, 100, 15, 2).slice(13, 40)
    b = _arr(rng, 100, 15, 2).slice(50, 40)
    got = decimal_binop("mul", a, b, pa.decimal128(30, 4))
    assert got.to_pylist() == [_expect("mul", x, y) for x, y in zip(a.to_pylist(), b.to_pylist())]


def test_large_magnitudes_in_different_rows_use_the_checked_loop():
    # max|a| * max|b| is beyond int64, but no single product is
    a = pa.array([Decimal(10 ** 10), Decimal(1), None], pa.decimal128(18, 0))
    b = pa.array([Decimal(1), Decimal(10 ** 10), Decimal(5)], pa.decimal128(18, 0))
    got = decimal_binop("mul", a, b, decimal_result("mul", a.type, b.type))
    assert got.to_pylist() == [Decimal(10 ** 10), Decimal(10 ** 10), None]
