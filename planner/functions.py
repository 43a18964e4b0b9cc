"""Function and operator signatures: which calls are legal and what they return.

Shared by the binder (which resolves every call once, inserting `expr.Cast`
nodes for implicit coercions), the optimizer and the evaluator (which trusts
the types fixed here). DuckDB is the model for result types:

    add(decimal(15,2), int32)  -> add(decimal(15,2), Cast(int32 -> decimal(10,0)))
                                  : decimal(17,2)
    div(int32, int32)          -> div(Cast(float64), Cast(float64)) : float64
    eq(date32, 'x' literal)    -> eq(date32, Cast('x' -> date32)) : bool

This module owns scalar calls; aggregates and window functions live in
planner/functions_agg.py and are re-exported here. The evaluator's
implementations are in executor/functions/.

Calls are normalized on the way: aliases get one name (substr -> substring,
strpos -> position, char_length -> length, datediff -> date_diff,
date_part -> extract) and year(x)/month(x)/... become extract('year', x).
Argument order of `position`/`strpos` is (string, substring), as strpos.
"""

from __future__ import annotations

from typing import Callable

import pyarrow as pa

from .. import datatypes as dt
from .expr import Call, Expr, Literal


from .functions_base import (  # noqa: F401  (public API re-export)
    FunctionError, arity as _arity, bad_types as _bad, cast_allowed, cast_to,
    coerce as _coerce, implicit_ok as _implicit_ok, supertype_of,
    type_name as _name,
)


# ---------------------------------------------------------------------------
# arithmetic

_OP_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "intdiv": "//",
              "mod": "%", "neg": "-", "eq": "=", "ne": "<>", "lt": "<",
              "le": "<=", "gt": ">", "ge": ">=", "concat": "||"}


def _num_or_null(t: pa.DataType) -> bool:
    return dt.is_numeric(t) or pa.types.is_null(t)


def _null_as(a: Expr, other: pa.DataType) -> pa.DataType:
    """The type an untyped NULL operand takes next to `other`."""
    if pa.types.is_null(a.dtype):
        return other if not pa.types.is_null(other) else dt.INT32
    return a.dtype


def decimal_result(fn: str, a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """Result type of add/sub/mul/mod on two exact types (int or decimal)."""
    da, db = dt.as_decimal(a), dt.as_decimal(b)
    p1, s1, p2, s2 = da.precision, da.scale, db.precision, db.scale
    if fn in ("add", "sub"):
        scale = max(s1, s2)
        return dt.decimal(max(p1 - s1, p2 - s2) + scale + 1, scale)
    if fn == "mul":
        if s1 + s2 > dt.MAX_DECIMAL_PRECISION:
            raise FunctionError(
                f"cannot apply * to {_name(a)} and {_name(b)}: scale exceeds 38")
        return dt.decimal(p1 + p2, s1 + s2)
    if fn == "mod":
        scale = max(s1, s2)
        return dt.decimal(max(p1 - s1, p2 - s2) + scale, scale)
    raise ValueError(fn)


def _whole(t: pa.DataType) -> bool:
    return dt.is_integer(t) or (dt.is_decimal(t) and t.scale == 0)


def _arith(fn: str, args: list[Expr]) -> Expr:
    _arity(fn, args, 2)
    a, b = args
    ta, tb = _null_as(a, b.dtype), _null_as(b, a.dtype)
    temporal = _temporal_arith(fn, a, b, ta, tb)
    if temporal is not None:
        return temporal
    if not (dt.is_numeric(ta) and dt.is_numeric(tb)):
        raise FunctionError(
            f"cannot apply {_OP_SYMBOL[fn]} to {_name(a.dtype)} and {_name(b.dtype)}")
    if fn == "intdiv" and _whole(ta) and _whole(tb) and not (dt.is_integer(ta)
                                                              and dt.is_integer(tb)):
        # a whole-number DECIMAL is our HUGEINT (sum of BIGINT): `//` divides
        # it as an integer, truncating toward zero, as DuckDB does for HUGEINT
        out = dt.decimal(dt.as_decimal(ta).precision, 0)
        return Call(fn, (cast_to(a, dt.as_decimal(ta)), cast_to(b, dt.as_decimal(tb))), out)
    if fn == "div" or (fn == "intdiv" and not (dt.is_integer(ta) and dt.is_integer(tb))):
        # DuckDB: `/` is always DOUBLE; `//` on non-integers is plain division
        x, y = cast_to(a, dt.FLOAT64), cast_to(b, dt.FLOAT64)
        return Call("div", (x, y), dt.FLOAT64)
    if dt.is_floating(ta) or dt.is_floating(tb):
        x, y = cast_to(a, dt.FLOAT64), cast_to(b, dt.FLOAT64)
        return Call(fn, (x, y), dt.FLOAT64)
    if dt.is_integer(ta) and dt.is_integer(tb):
        t = dt.common_supertype(ta, tb)
        if dt.is_integer(t):
            return Call(fn, (cast_to(a, t), cast_to(b, t)), t)
        # UBIGINT with a signed type: a constant >= 0 takes the unsigned type
        # (as in DuckDB), else the values meet as DECIMAL(20, 0)
        for x, y in ((a, b), (b, a)):
            if isinstance(y, Literal) and isinstance(y.value, int) and y.value >= 0 \
                    and pa.types.is_unsigned_integer(x.dtype):
                u = x.dtype
                return Call(fn, (cast_to(a, u), cast_to(b, u)), u)
        if fn == "intdiv":
            from ..errors import NotSupportedError
            raise NotSupportedError(f"// of {_name(a.dtype)} and {_name(b.dtype)} "
                                    f"is not supported")
    # exact decimal arithmetic; an integer operand becomes decimal(digits, 0)
    out = decimal_result(fn, ta, tb)
    return Call(fn, (cast_to(a, dt.as_decimal(ta)), cast_to(b, dt.as_decimal(tb))), out)


def _temporal_arith(fn: str, a: Expr, b: Expr, ta: pa.DataType,
                    tb: pa.DataType) -> Expr | None:
    """date/timestamp +/- interval or integer days, date - date; None if
    neither operand is temporal or an interval."""
    is_iv = lambda t: t == dt.INTERVAL  # noqa: E731
    if not (dt.is_temporal(ta) or dt.is_temporal(tb) or is_iv(ta) or is_iv(tb)):
        return None
    if fn == "add" and (is_iv(ta) or dt.is_integer(ta)) and dt.is_temporal(tb):
        a, b, ta, tb = b, a, tb, ta   # interval + date == date + interval
    if fn in ("add", "sub") and dt.is_temporal(ta):
        if is_iv(tb):
            # date +/- interval is a TIMESTAMP, as in DuckDB and PostgreSQL;
            # the optimizer's unwrap_cast_in_comparison turns a comparison of
            # a DATE column with such a constant back into a DATE comparison
            t = ta if pa.types.is_timestamp(ta) else dt.TIMESTAMP
            return Call(fn, (cast_to(a, t), cast_to(b, dt.INTERVAL)), t)
        if pa.types.is_date(ta) and dt.is_integer(tb):
            return Call(fn, (a, cast_to(b, dt.INT64)), dt.DATE)
        if fn == "sub" and pa.types.is_date(ta) and pa.types.is_date(tb):
            return Call("sub", (a, cast_to(b, dt.DATE)), dt.INT64)
    raise FunctionError(
        f"cannot apply {_OP_SYMBOL[fn]} to {_name(a.dtype)} and {_name(b.dtype)}")


def _neg(fn: str, args: list[Expr]) -> Expr:
    _arity(fn, args, 1)
    (a,) = args
    t = _null_as(a, dt.INT32)
    if not (dt.is_numeric(t) or t == dt.INTERVAL):
        raise FunctionError(f"cannot apply - to {_name(a.dtype)}")
    return Call("neg", (cast_to(a, t),), t)


_BIT_SYMBOL = {"bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "xor",
               "shift_left": "<<", "shift_right": ">>", "bitwise_not": "~"}


def _bitwise(fn: str, args: list[Expr]) -> Expr:
    """&, |, xor, ~ on integers (their common type); << and >> keep the
    type of the shifted value (DuckDB)."""
    _arity(fn, args, 1 if fn == "bitwise_not" else 2)
    types = [_null_as(a, dt.INT32) if len(args) == 1 else _null_as(a, args[1 - i].dtype)
             for i, a in enumerate(args)]
    if not all(dt.is_integer(t) for t in types):
        raise _bad(_BIT_SYMBOL[fn], args)
    if fn == "bitwise_not":
        return Call(fn, (cast_to(args[0], types[0]),), types[0])
    if fn in ("shift_left", "shift_right"):
        t = types[0]
    else:
        t = dt.common_supertype(*types)
    return Call(fn, (cast_to(args[0], t), cast_to(args[1], t)), t)


# ---------------------------------------------------------------------------
# comparison and logic

def _compare(fn: str, args: list[Expr]) -> Expr:
    _arity(fn, args, 2)
    t = supertype_of(_OP_SYMBOL.get(fn, fn), args)
    if pa.types.is_null(t):
        t = dt.INT32
    return Call(fn, tuple(cast_to(a, t) for a in args), dt.BOOL)


def _logic(fn: str, args: list[Expr]) -> Expr:
    if fn == "not":
        _arity(fn, args, 1)
    elif len(args) < 2:
        raise FunctionError(f"{fn} takes at least 2 arguments")
    for a in args:
        if not (pa.types.is_boolean(a.dtype) or pa.types.is_null(a.dtype)):
            raise FunctionError(f"cannot apply {fn.upper()} to {_name(a.dtype)}")
    return Call(fn, tuple(cast_to(a, dt.BOOL) for a in args), dt.BOOL)


def _null_test(fn: str, args: list[Expr]) -> Expr:
    _arity(fn, args, 1)
    return Call(fn, tuple(args), dt.BOOL)


def _like(fn: str, args: list[Expr]) -> Expr:
    _arity(fn, args, 2, 3)
    targets = [dt.STRING] * len(args)
    args = _coerce(fn.upper(), args, targets)
    if len(args) == 3:
        esc = args[2]
        if not isinstance(esc, Literal):
            raise FunctionError("the ESCAPE character must be a constant")
        if esc.value is not None and len(esc.value) != 1:
            raise FunctionError("the ESCAPE string must be a single character")
    return Call(fn, tuple(args), dt.BOOL)


# ---------------------------------------------------------------------------
# registry

Resolver = Callable[[str, list[Expr]], Expr]
_SCALARS: dict[str, Resolver] = {}


def _register(*names: str) -> Callable[[Resolver], Resolver]:
    def deco(f: Resolver) -> Resolver:
        for n in names:
            _SCALARS[n] = f
        return f
    return deco


for _n in ("add", "sub", "mul", "div", "intdiv", "mod"):
    _SCALARS[_n] = _arith
_SCALARS["neg"] = _neg
for _n in _BIT_SYMBOL:
    _SCALARS[_n] = _bitwise
for _n in ("eq", "ne", "lt", "le", "gt", "ge", "is_distinct_from",
           "is_not_distinct_from"):
    _SCALARS[_n] = _compare
for _n in ("and", "or", "not"):
    _SCALARS[_n] = _logic
_SCALARS["is_null"] = _null_test
_SCALARS["is_not_null"] = _null_test
_SCALARS["like"] = _like
_SCALARS["ilike"] = _like

# the remaining scalar functions (math, strings, dates, conditionals)
from . import functions_scalar as _fs  # noqa: E402

_fs.register_all(_SCALARS)

from . import functions_list as _fl  # noqa: E402

_fl.register_all(_SCALARS)

ALIASES = {
    "substr": "substring", "strpos": "position", "instr": "position",
    "char_length": "length", "character_length": "length", "len": "length",
    "datediff": "date_diff", "date_part": "extract", "datepart": "extract",
    "ceiling": "ceil", "pow": "power", "ucase": "upper", "lcase": "lower",
    "log": "log10", "regexp_like": "regexp_matches", "prefix": "starts_with",
    "suffix": "ends_with", "strlen": "length", "is_nan": "isnan", "is_inf": "isinf",
    "is_finite": "isfinite",
}


def resolve_scalar(name: str, args: list[Expr]) -> Expr:
    """Type-check a scalar call, insert coercions, and return the typed Expr."""
    name = name.lower()
    name = ALIASES.get(name, name)
    resolver = _SCALARS.get(name)
    if resolver is None:
        from .functions_agg import is_aggregate, is_window_function
        if is_aggregate(name) or is_window_function(name):
            raise FunctionError(f"{name} is not a scalar function")
        raise FunctionError(f"unknown function {name}")
    return resolver(name, list(args))


def scalar_names() -> frozenset[str]:
    """Every scalar function/operator name `resolve_scalar` accepts (after aliases)."""
    return frozenset(_SCALARS)


from .functions_agg import (  # noqa: E402,F401  (public API re-export)
    is_aggregate, is_window_function, resolve_aggregate, resolve_window,
)
