"""Signatures of the named scalar functions: conditionals, math, strings and
dates (operators are in planner/functions.py). Each resolver checks arity and
argument types, wraps coercions in `expr.Cast`, and returns a typed `Call`.

    round(decimal(15,4) col, 2)   -> Call("round", (col, Literal(2)), decimal(15,2))
    year(d)                       -> Call("extract", (Literal('year'), d), int64)
    substr(s, 2)                  -> Call("substring", (s, Cast(2 -> int64)), string)

`register_all(table)` adds every resolver to planner/functions.py's registry.
"""

from __future__ import annotations

import pyarrow as pa

from .. import datatypes as dt
from .expr import Call, Expr, Literal
from .functions_base import (
    FunctionError, arity, bad_types, cast_allowed, cast_to, coerce, implicit_ok,
    supertype_of, type_name,
)

S, I64, F64, B = dt.STRING, dt.INT64, dt.FLOAT64, dt.BOOL

# name -> (parameter types, optional-tail count, result type)
_FIXED: dict[str, tuple[tuple[pa.DataType, ...], int, pa.DataType]] = {
    "upper": ((S,), 0, S),
    "lower": ((S,), 0, S),
    "reverse": ((S,), 0, S),
    "length": ((S,), 0, I64),
    "substring": ((S, I64, I64), 1, S),
    "trim": ((S, S), 1, S),
    "ltrim": ((S, S), 1, S),
    "rtrim": ((S, S), 1, S),
    "position": ((S, S), 0, I64),
    "replace": ((S, S, S), 0, S),
    "starts_with": ((S, S), 0, B),
    "ends_with": ((S, S), 0, B),
    "contains": ((S, S), 0, B),
    "left": ((S, I64), 0, S),
    "right": ((S, I64), 0, S),
    "lpad": ((S, I64, S), 1, S),
    "rpad": ((S, I64, S), 1, S),
    "split_part": ((S, S, I64), 0, S),
    "regexp_matches": ((S, S), 0, B),
    "regexp_replace": ((S, S, S, S), 1, S),
    "regexp_extract": ((S, S, I64), 1, S),
    "repeat": ((S, I64), 0, S),
    "ascii": ((S,), 0, dt.INT32),
    "sin": ((F64,), 0, F64),
    "cos": ((F64,), 0, F64),
    "tan": ((F64,), 0, F64),
    "asin": ((F64,), 0, F64),
    "acos": ((F64,), 0, F64),
    "atan": ((F64,), 0, F64),
    "atan2": ((F64, F64), 0, F64),
    "degrees": ((F64,), 0, F64),
    "radians": ((F64,), 0, F64),
    "pi": ((), 0, F64),
    "dayname": ((dt.DATE,), 0, S),
    "monthname": ((dt.DATE,), 0, S),
    "last_day": ((dt.DATE,), 0, dt.DATE),
    "isnan": ((F64,), 0, B),
    "isinf": ((F64,), 0, B),
    "isfinite": ((F64,), 0, B),
    "sqrt": ((F64,), 0, F64),
    "cbrt": ((F64,), 0, F64),
    "ln": ((F64,), 0, F64),
    "log10": ((F64,), 0, F64),
    "log2": ((F64,), 0, F64),
    "exp": ((F64,), 0, F64),
    "power": ((F64, F64), 0, F64),
    "make_date": ((I64, I64, I64), 0, dt.DATE),
    "strptime": ((S, S), 0, dt.TIMESTAMP),
    "current_date": ((), 0, dt.DATE),
}

# arguments that must be constants (the kernels take a scalar)
_CONSTANT_ARGS = {"regexp_matches": (1,), "regexp_replace": (1, 2, 3),
                  "regexp_extract": (1, 2),
                  "strptime": (1,), "trim": (1,), "ltrim": (1,), "rtrim": (1,)}


def _fixed(fn: str, args: list[Expr]) -> Expr:
    params, optional, result = _FIXED[fn]
    arity(fn, args, len(params) - optional, len(params))
    out = coerce(fn, args, list(params[:len(args)]))
    for i in _CONSTANT_ARGS.get(fn, ()):
        if i < len(out) and not isinstance(out[i], Literal):
            raise FunctionError(f"argument {i + 1} of {fn}() must be a constant")
    return Call(fn, tuple(out), result)


# --- conditionals -------------------------------------------------------------

def _variadic_super(fn: str, args: list[Expr]) -> Expr:
    if not args:
        raise FunctionError(f"{fn}() takes at least 1 argument")
    if fn == "nullif":
        arity(fn, args, 2)
    t = supertype_of(fn, args, values=True)
    return Call(fn, tuple(cast_to(a, t) for a in args), t)


def _concat(fn: str, args: list[Expr]) -> Expr:
    """`||` and concat(): every argument is cast to VARCHAR; a NULL argument
    makes the result NULL (SQL `||` semantics)."""
    if not args:
        raise FunctionError("concat() takes at least 1 argument")
    for a in args:
        if not cast_allowed(a.dtype, S):
            raise bad_types("||", args)
    return Call("concat", tuple(cast_to(a, S) for a in args), S)


def _concat_ws(fn: str, args: list[Expr]) -> Expr:
    """concat_ws(sep, a, ...): NULL arguments are skipped (a NULL separator
    gives NULL); SQL concat(a, ...) is concat_ws('', a, ...) (DuckDB)."""
    if len(args) < 2:
        raise FunctionError("concat_ws() takes a separator and at least 1 argument")
    for a in args:
        if not cast_allowed(a.dtype, S):
            raise bad_types(fn, args)
    return Call("concat_ws", tuple(cast_to(a, S) for a in args), S)


def _typeof(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 1)
    t = args[0].dtype
    return Literal("NULL" if pa.types.is_null(t) else type_name(t), S)


# --- math -----------------------------------------------------------------------

def _numeric_arg(fn: str, a: Expr) -> Expr:
    if pa.types.is_null(a.dtype):
        return cast_to(a, dt.INT32)
    if not dt.is_numeric(a.dtype):
        raise FunctionError(f"cannot apply {fn} to {type_name(a.dtype)}")
    return a


def _same_numeric(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 1)
    a = _numeric_arg(fn, args[0])
    return Call(fn, (a,), a.dtype)


def _sign(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 1)
    return Call(fn, (_numeric_arg(fn, args[0]),), pa.int8())


def _floor_ceil(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 1)
    a = _numeric_arg(fn, args[0])
    t = a.dtype
    if dt.is_decimal(t):
        t = dt.decimal(t.precision, 0)
    elif dt.is_floating(t):
        t = F64
        a = cast_to(a, F64)
    return Call(fn, (a,), t)


def _round(fn: str, args: list[Expr]) -> Expr:
    """round(x[, n]): decimals keep precision with scale min(s, max(n, 0))
    (n must be a constant); doubles stay DOUBLE; integers keep their type."""
    arity(fn, args, 1, 2)
    a = _numeric_arg(fn, args[0])
    digits = args[1] if len(args) == 2 else Literal(0, dt.INT32)
    if not (dt.is_integer(digits.dtype) or pa.types.is_null(digits.dtype)):
        raise FunctionError(f"round() digits must be an integer, not {type_name(digits.dtype)}")
    digits = cast_to(digits, dt.INT32)
    t = a.dtype
    if dt.is_decimal(t):
        if not isinstance(digits, Literal) or digits.value is None:
            raise FunctionError("round() of a DECIMAL needs constant digits")
        t = dt.decimal(t.precision, min(t.scale, max(int(digits.value), 0)))
    elif dt.is_floating(t):
        t = F64
        a = cast_to(a, F64)
    return Call("round", (a, digits), t)


# --- dates ------------------------------------------------------------------------

EXTRACT_PARTS = frozenset({
    "year", "quarter", "month", "week", "day", "dow", "isodow", "doy", "hour",
    "minute", "second", "millisecond", "microsecond", "epoch"})
TRUNC_PARTS = frozenset({"year", "quarter", "month", "week", "day", "hour",
                         "minute", "second"})
DIFF_PARTS = frozenset({"year", "quarter", "month", "week", "day", "hour",
                        "minute", "second", "millisecond", "microsecond"})
_PART_ALIASES = {"dayofweek": "dow", "weekday": "dow", "dayofyear": "doy",
                 "dayofmonth": "day", "yy": "year", "yyyy": "year", "mm": "month",
                 "dd": "day", "d": "day", "hh": "hour", "mi": "minute",
                 "ss": "second", "ms": "millisecond", "us": "microsecond",
                 "qtr": "quarter", "weekofyear": "week", "days": "day",
                 "years": "year", "months": "month", "hours": "hour",
                 "minutes": "minute", "seconds": "second", "weeks": "week",
                 "quarters": "quarter"}
_PART_FUNCS = {"year": "year", "quarter": "quarter", "month": "month",
               "week": "week", "weekofyear": "week", "day": "day",
               "dayofmonth": "day", "dayofweek": "dow", "dayofyear": "doy",
               "hour": "hour", "minute": "minute", "second": "second",
               "isodow": "isodow", "epoch": "epoch"}


def _part(fn: str, e: Expr, allowed: frozenset[str]) -> Literal:
    if not (isinstance(e, Literal) and isinstance(e.value, str)):
        raise FunctionError(f"the first argument of {fn}() must be a constant part name")
    p = e.value.strip().lower()
    p = _PART_ALIASES.get(p, p)
    if p not in allowed:
        raise FunctionError(f"{fn}() does not support the part '{e.value}'")
    return Literal(p, S)


def _temporal_arg(fn: str, a: Expr) -> Expr:
    if dt.is_temporal(a.dtype):
        return a
    if implicit_ok(a, dt.TIMESTAMP):   # NULL, or a string literal
        if isinstance(a, Literal) and isinstance(a.value, str) and len(a.value.strip()) <= 10:
            return cast_to(a, dt.DATE)
        return cast_to(a, dt.TIMESTAMP)
    raise FunctionError(f"cannot apply {fn} to {type_name(a.dtype)}")


def _extract(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 2)
    part = _part(fn, args[0], EXTRACT_PARTS)
    value = _temporal_arg(fn, args[1])
    if pa.types.is_date(value.dtype) and part.value in ("hour", "minute", "second",
                                                        "millisecond", "microsecond"):
        value = cast_to(value, dt.TIMESTAMP)
    return Call("extract", (part, value), F64 if part.value == "epoch" else I64)


def _part_function(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 1)
    return _extract("extract", [Literal(_PART_FUNCS[fn], S), args[0]])


def _date_trunc(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 2)
    part = _part(fn, args[0], TRUNC_PARTS)
    value = _temporal_arg(fn, args[1])
    t = value.dtype if pa.types.is_timestamp(value.dtype) else dt.TIMESTAMP
    return Call("date_trunc", (part, cast_to(value, t)), t)


def _date_diff(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 3)
    part = _part(fn, args[0], DIFF_PARTS)
    a, b = _temporal_arg(fn, args[1]), _temporal_arg(fn, args[2])
    t = dt.DATE if (pa.types.is_date(a.dtype) and pa.types.is_date(b.dtype)) else dt.TIMESTAMP
    if part.value in ("hour", "minute", "second", "millisecond", "microsecond"):
        t = dt.TIMESTAMP
    return Call("date_diff", (part, cast_to(a, t), cast_to(b, t)), I64)


def _strftime(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 2)
    value = _temporal_arg(fn, args[0])
    (fmt,) = coerce(fn, [args[1]], [S])
    if not isinstance(fmt, Literal):
        raise FunctionError("the format of strftime() must be a constant")
    return Call("strftime", (value, fmt), S)


def _sample_key(fn: str, args: list[Expr]) -> Expr:
    """__sample_key(seed, col, ...): see executor/functions/math.py."""
    if not args:
        raise FunctionError(f"{fn}() takes at least 1 argument")
    return Call(fn, tuple(args), F64)


def register_all(table: dict) -> None:
    for name in _FIXED:
        table[name] = _fixed
    for name in ("coalesce", "nullif", "greatest", "least"):
        table[name] = _variadic_super
    table["concat"] = _concat
    table["concat_ws"] = _concat_ws
    table["typeof"] = _typeof
    table["__sample_key"] = _sample_key
    table["abs"] = _same_numeric
    table["sign"] = _sign
    table["floor"] = _floor_ceil
    table["ceil"] = _floor_ceil
    table["trunc"] = _floor_ceil
    table["round"] = _round
    table["extract"] = _extract
    for name in _PART_FUNCS:
        table[name] = _part_function
    table["date_trunc"] = _date_trunc
    table["date_diff"] = _date_diff
    table["strftime"] = _strftime
