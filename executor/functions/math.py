"""Math functions: abs, sign, floor, ceil, trunc, round, sqrt, cbrt, ln,
log10, log2, exp, power, the trigonometric ones (sin ... atan2, degrees,
radians, pi) and isnan/isinf/isfinite. round() rounds half away from zero for every type (DuckDB);
sqrt/ln/log of a value out of the domain raises DataError."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ... import datatypes as dt
from .registry import arrow_call, per_unique, as_array, register


@register("abs")
def abs_(call, args, n):
    return arrow_call(pc.abs_checked, args[0])


@register("sign")
def sign(call, args, n):
    return pc.sign(args[0]).cast(pa.int8())


@register("floor", "ceil")
def floor_ceil(call, args, n):
    (a,) = args
    if dt.is_integer(a.type):
        return a
    kernel = pc.floor if call.fn == "floor" else pc.ceil
    if dt.is_decimal(a.type):
        wide = a.cast(dt.decimal(min(a.type.precision + 1, 38), a.type.scale))
        return arrow_call(pc.cast, kernel(wide), call.dtype)
    return kernel(a)


def _round_one(values: pa.Array, digits: pa.Scalar, out: pa.DataType) -> pa.Array:
    if not digits.is_valid:
        return pa.nulls(len(values), out)
    nd = digits.as_py()
    if dt.is_integer(values.type) and nd >= 0:
        return values
    if dt.is_decimal(values.type):
        t = values.type
        values = values.cast(dt.decimal(min(t.precision + 1, 38), t.scale))
        nd = min(nd, t.scale)
    elif pa.types.is_floating(values.type):
        return _round_double(values, nd).cast(out)
    res = arrow_call(pc.round, values, nd, round_mode="half_towards_infinity")
    return arrow_call(pc.cast, res, out)


def _round_double(values: pa.Array, nd: int) -> pa.Array:
    """Round doubles half away from zero at the exact binary value, as DuckDB
    does: 2.675 is stored as 2.67499... and rounds to 2.67, although the
    scaled 2.675 * 100 is exactly 267.5 in floating point. Only such scaled
    ties need the exact rounding error of the scaling (TwoProduct)."""
    x = values.to_numpy(zero_copy_only=False).astype(np.float64)
    m = 10.0 ** abs(nd)
    with np.errstate(invalid="ignore", over="ignore"):
        if nd >= 0:
            y = x * m
            err = _product_error(x, m, y)            # x * m == y + err exactly
        else:
            y = x / m
            err = -_product_error(y, m, x)           # x / m - y, in units of m
        t = np.trunc(y)
        frac = np.abs(y - t)
        up = (frac > 0.5) | ((frac == 0.5) & (err * np.sign(y) >= 0))
        r = np.where(up, t + np.sign(y), t)
        r = r / m if nd >= 0 else r * m
        r = np.where(np.isfinite(r), r, x)
    return pa.array(r, pa.float64(), mask=values.is_null().to_numpy(zero_copy_only=False))


def _split(a):
    c = 134217729.0 * a                              # 2**27 + 1 (Veltkamp)
    hi = c - (c - a)
    return hi, a - hi


def _product_error(a, b, p):
    """a * b - p exactly when p = fl(a * b) (Dekker's TwoProduct); for p not
    the product, the sign of a * b - p."""
    ah, al = _split(a)
    bh, bl = _split(np.float64(b))
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


@register("round")
def round_(call, args, n):
    value, digits = args
    if isinstance(value, pa.Scalar):
        value = as_array(value, n)
    return per_unique(value, digits, n, lambda v, d: _round_one(v, d, call.dtype), call.dtype)


@register("trunc")
def trunc(call, args, n):
    """Toward zero (the integer part)."""
    (a,) = args
    if dt.is_integer(a.type):
        return a
    if dt.is_decimal(a.type):
        wide = a.cast(dt.decimal(min(a.type.precision + 1, 38), a.type.scale))
        return arrow_call(pc.cast, pc.round(wide, 0, round_mode="towards_zero"), call.dtype)
    return pc.trunc(a)


_TRIG = {"sin": pc.sin, "cos": pc.cos, "tan": pc.tan, "asin": pc.asin,
         "acos": pc.acos, "atan": pc.atan}    # asin(2) is NaN, as in DuckDB


@register(*_TRIG)
def trig(call, args, n):
    return arrow_call(_TRIG[call.fn], args[0])


@register("atan2")
def atan2(call, args, n):
    return pc.atan2(args[0], args[1])


@register("degrees", "radians")
def degrees_radians(call, args, n):
    factor = 180.0 / math.pi if call.fn == "degrees" else math.pi / 180.0
    return pc.multiply(args[0], pa.scalar(factor))


@register("pi")
def pi(call, args, n):
    return pa.scalar(math.pi)


@register("isnan", "isinf", "isfinite")
def float_class(call, args, n):
    kernel = {"isnan": pc.is_nan, "isinf": pc.is_inf, "isfinite": pc.is_finite}[call.fn]
    return kernel(args[0])


@register("sqrt")
def sqrt(call, args, n):
    return arrow_call(pc.sqrt_checked, args[0])


@register("cbrt")
def cbrt(call, args, n):
    a = args[0]
    root = pc.power(pc.abs(a), 1.0 / 3.0)
    return pc.multiply(pc.sign(a), root)


@register("ln")
def ln(call, args, n):
    return arrow_call(pc.ln_checked, args[0])


@register("log10")
def log10(call, args, n):
    return arrow_call(pc.log10_checked, args[0])


@register("log2")
def log2(call, args, n):
    return arrow_call(pc.log2_checked, args[0])


@register("exp")
def exp(call, args, n):
    return pc.exp(args[0])


@register("power")
def power(call, args, n):
    return arrow_call(pc.power_checked, *args)


@register("__sample_key")
def sample_key(call, args, n):
    """A number in [0, 1) per row, a hash of (seed, every value of the row):
    TABLESAMPLE / USING SAMPLE keep the rows whose key is below the fraction
    (or the n smallest), so a seed gives the same sample on any partitioning."""
    from ..kernels.hashing import hash_arrays
    h = hash_arrays([as_array(a, n) for a in args])
    return pa.array((h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53)),
                    type=pa.float64())
