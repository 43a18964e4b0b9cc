"""compare_with_scalar gives what Arrow's comparison gives for decimal128
columns against a constant of the same type, NULLs included."""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from quiver.executor.kernels.decimal_compare import compare_with_scalar

OPS = {"eq": pc.equal, "ne": pc.not_equal, "lt": pc.less, "le": pc.less_equal,
       "gt": pc.greater, "ge": pc.greater_equal}


def _column(rng, n, t):
    big = min(10 ** (t.precision - 1), 2 ** 62)
    widen = 10 ** max(0, t.precision - 19)        # wide types: values past 64 bits
    values = [decimal.Decimal(int(v) * widen).scaleb(-t.scale)
              for v in rng.integers(-big, big, n, dtype=np.int64)]
    values[:4] = [decimal.Decimal(0), decimal.Decimal(1).scaleb(-t.scale),
                  decimal.Decimal(-1).scaleb(-t.scale), decimal.Decimal(5)]
    return pa.array(values, t, mask=rng.random(n) < 0.1)


@pytest.mark.parametrize("t", [pa.decimal128(15, 2), pa.decimal128(38, 10), pa.decimal128(5, 0)])
def test_same_as_arrow(t):
    rng = np.random.default_rng(t.precision)
    col = _column(rng, 10_000, t)
    for const in [col[0], col[1], col[2], col[3], col[17], pa.scalar(decimal.Decimal(0), t)]:
        if not const.is_valid:
            continue
        for op, fn in OPS.items():
            got = compare_with_scalar(op, col, const)
            assert got.equals(fn(col, const)), (op, const)
            assert compare_with_scalar(op, const, col).equals(fn(const, col)), (op, const)
            sliced = col.slice(123, 5000)
            assert compare_with_scalar(op, sliced, const).equals(fn(sliced, const))


def test_wide_values_compare_on_both_words():
    t = pa.decimal128(38, 0)
    col = pa.array([decimal.Decimal(2**70), decimal.Decimal(-2**70), decimal.Decimal(2**64 - 1)]
                   * 2000, t)
    const = pa.scalar(decimal.Decimal(2**64), t)
    assert compare_with_scalar("lt", col, const).equals(pc.less(col, const))


def test_leaves_other_cases_to_arrow():
    t = pa.decimal128(15, 2)
    col = pa.array([decimal.Decimal("1.00")] * 5000, t)
    assert compare_with_scalar("lt", col, pa.scalar(decimal.Decimal("1.0"), pa.decimal128(3, 1))) is None
    assert compare_with_scalar("lt", col, pa.scalar(None, t)) is None
    assert compare_with_scalar("lt", col, col) is None
    assert compare_with_scalar("lt", col.slice(0, 10), pa.scalar(decimal.Decimal("1.00"), t)) is None


def test_constants_with_more_than_28_digits():
    t = pa.decimal128(38, 2)
    near = decimal.Decimal("123456789012345678901234567890123.45")
    col = pa.array([near, near + decimal.Decimal("0.01"), near - decimal.Decimal("0.01")] * 2000, t)
    const = pa.scalar(near, t)
    for op, fn in OPS.items():
        assert compare_with_scalar(op, col, const).equals(fn(col, const)), op
