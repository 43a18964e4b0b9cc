"""Arithmetic operators: add, sub, mul, div, intdiv, mod, neg, and the
bitwise ones on integers (&, |, xor, ~, <<, >>).

Integers use the checked kernels (overflow raises DataError); a zero divisor
raises DataError for every numeric type (a NULL divisor gives NULL). DECIMAL
arithmetic is exact: when pyarrow's decimal128 result would need more than 38
digits the operands are widened to decimal256 and the result cast back to
the planner's type (a value that does not fit raises DataError). Operations
with a DATE/TIMESTAMP operand are in executor/functions/datetime.py.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from ...errors import DataError
from ... import datatypes as dt
from .registry import arrow_call, register
from . import datetime as dtf

_KERNELS = {"add": pc.add_checked, "sub": pc.subtract_checked,
            "mul": pc.multiply_checked, "div": pc.divide_checked,
            "intdiv": pc.divide_checked, "mod": pc.remainder_checked}


def _check_divisor(d) -> None:
    if isinstance(d, pa.Scalar):
        if d.is_valid and d.as_py() == 0:
            raise DataError("division by zero")
        return
    zero = pa.scalar(Decimal(0) if dt.is_decimal(d.type) else 0, d.type)
    if pc.any(pc.equal(d, zero)).as_py():
        raise DataError("division by zero")


def _decimal_op(fn: str, a, b, out: pa.DataType):
    from ..kernels.decimal_arith import decimal_binop   # numba: loaded when first needed
    fast = decimal_binop(fn, a, b, out)
    if fast is not None:
        return fast
    ta, tb = a.type, b.type
    whole = max(ta.precision - ta.scale, tb.precision - tb.scale)
    scale = max(ta.scale, tb.scale)
    if fn in ("add", "sub"):
        need = whole + scale + 1
    elif fn == "mul":
        need = ta.precision + tb.precision + 1
    else:  # mod: the result is never wider than the operands
        need = whole + scale
    if need > dt.MAX_DECIMAL_PRECISION:
        if fn == "mul" and need > 76:
            ta = pa.decimal256(min(ta.precision, 37), ta.scale)
            tb = pa.decimal256(min(tb.precision, 37), tb.scale)
        else:
            ta = pa.decimal256(ta.precision, ta.scale)
            tb = pa.decimal256(tb.precision, tb.scale)
        a, b = arrow_call(pc.cast, a, ta), arrow_call(pc.cast, b, tb)
    res = arrow_call(_KERNELS[fn], a, b)
    if res.type != out:
        try:
            res = pc.cast(res, out)
        except pa.ArrowInvalid:
            raise DataError(f"numeric overflow: result does not fit {dt.sql_name(out)}") from None
    return res


def _whole_intdiv(a, b, out: pa.DataType):
    """`//` of whole-number decimals (HUGEINT): truncated toward zero. The
    quotient is exact: Arrow divides with enough scale digits for it (the
    divisor's precision cut to the digits its values use), then the
    fraction is dropped."""
    biggest = (pc.abs(b) if isinstance(b, pa.Scalar) else pc.max(pc.abs(b))).as_py()
    digits = len(str(int(biggest))) if biggest is not None else 1
    if digits > 37:
        raise DataError("// by a divisor of more than 37 digits is not supported")
    a = arrow_call(pc.cast, a, pa.decimal256(a.type.precision, 0))
    b = arrow_call(pc.cast, b, pa.decimal256(digits, 0))
    q = pc.round(pc.divide(a, b), ndigits=0, round_mode="towards_zero")
    return pc.cast(q, out)


@register("add", "sub", "mul", "div", "intdiv", "mod")
def arith(call, args, n):
    a, b = args
    if dt.is_temporal(a.type) or dt.is_temporal(b.type):
        return dtf.temporal_arith(call, a, b, n)
    fn = call.fn
    if fn in ("div", "intdiv", "mod"):
        _check_divisor(b)
    if fn == "intdiv" and dt.is_decimal(call.dtype):
        return _whole_intdiv(a, b, call.dtype)
    if dt.is_decimal(call.dtype):
        return _decimal_op(fn, a, b, call.dtype)
    if dt.is_floating(call.dtype) and fn in ("add", "sub", "mul"):
        return {"add": pc.add, "sub": pc.subtract, "mul": pc.multiply}[fn](a, b)
    return arrow_call(_KERNELS[fn], a, b)


@register("neg")
def neg(call, args, n):
    (a,) = args
    if a.type == dt.INTERVAL:
        return dtf.negate_interval(a, n)
    if pa.types.is_unsigned_integer(a.type):
        # DuckDB keeps the unsigned type: only 0 negates without overflow
        if pc.any(pc.not_equal(a, pa.scalar(0, a.type))).as_py():
            raise DataError("overflow in negation of an unsigned integer")
        return a
    return arrow_call(pc.negate_checked, a)


_BITWISE = {"bitwise_and": pc.bit_wise_and, "bitwise_or": pc.bit_wise_or,
            "bitwise_xor": pc.bit_wise_xor}


@register(*_BITWISE)
def bitwise(call, args, n):
    return _BITWISE[call.fn](args[0], args[1])


@register("bitwise_not")
def bitwise_not(call, args, n):
    return pc.bit_wise_not(args[0])


@register("shift_left", "shift_right")
def shift(call, args, n):
    """DuckDB: a negative or too large shift amount is an error, and so is
    shifting a negative number left."""
    width = call.dtype.bit_width
    amount = args[1]
    bad = pc.or_(pc.less(amount, 0), pc.greater_equal(amount, width))
    if pc.any(bad).as_py():
        raise DataError(f"shift amount out of range (0 to {width - 1})")
    if call.fn == "shift_left":
        if pc.any(pc.less(args[0], 0)).as_py():
            raise DataError("cannot shift a negative number left")
        return arrow_call(pc.shift_left_checked, args[0], amount)
    return pc.shift_right(args[0], amount)
