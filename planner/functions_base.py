"""Shared pieces of the function signatures (planner/functions*.py):
the FunctionError class, explicit and implicit cast rules, and small
coercion helpers. Import the public names from planner/functions.py.
"""

from __future__ import annotations

import pyarrow as pa

from .. import datatypes as dt
from .expr import Cast, Expr, Literal


class FunctionError(Exception):
    """A function/operator cannot be applied; the binder turns it into a
    quiver BindError (a ProgrammingError) with the query position."""


# ---------------------------------------------------------------------------
# casts

def cast_allowed(src: pa.DataType, dst: pa.DataType) -> bool:
    """Whether an explicit CAST from `src` to `dst` is legal (it may still
    fail at run time on a value, e.g. CAST('abc' AS INT))."""
    src, dst = dt.normalize(src), dt.normalize(dst)
    if src == dst or pa.types.is_null(src):
        return True
    if dt.is_string(src) or dt.is_string(dst):
        return True
    num_or_bool = (lambda t: dt.is_numeric(t) or pa.types.is_boolean(t))
    if num_or_bool(src) and num_or_bool(dst):
        return True
    if dt.is_temporal(src) and dt.is_temporal(dst):
        return True
    return False


def cast_to(e: Expr, t: pa.DataType) -> Expr:
    """`e` as type `t`: unchanged when it already is, a typed NULL literal for
    an untyped NULL, else an `expr.Cast`."""
    if e.dtype == t:
        return e
    if isinstance(e, Literal):
        if e.value is None:
            return Literal(None, t)
        if (dt.is_integer(e.dtype) and type(e.value) is int
                and (dt.is_integer(t) or dt.is_floating(t))):
            return Literal(float(e.value) if dt.is_floating(t) else e.value, t)
    return Cast(e, t)


def implicit_ok(e: Expr, t: pa.DataType) -> bool:
    """Whether the binder may coerce `e` to `t` without being asked."""
    s = e.dtype
    if s == t or pa.types.is_null(s):
        return True
    if dt.is_integer(s) and (dt.is_integer(t) or dt.is_decimal(t) or dt.is_floating(t)):
        return True
    if dt.is_decimal(s) and (dt.is_decimal(t) or dt.is_floating(t)):
        return True
    if dt.is_floating(s) and dt.is_floating(t):
        return True
    if dt.is_string(s) and dt.is_string(t):
        return True
    if pa.types.is_date(s) and pa.types.is_timestamp(t):
        return True
    if dt.is_string(s) and isinstance(e, Literal) and cast_allowed(s, t):
        return True
    return False


def type_name(t: pa.DataType) -> str:
    return dt.sql_name(t)


def bad_types(op: str, args: list[Expr]) -> FunctionError:
    types = [type_name(a.dtype) for a in args]
    if len(types) == 2 and len(op) <= 2:
        return FunctionError(f"cannot apply {op} to {types[0]} and {types[1]}")
    return FunctionError(f"cannot apply {op} to ({', '.join(types)})")


def coerce(fn: str, args: list[Expr], targets: list[pa.DataType]) -> list[Expr]:
    out = []
    for a, t in zip(args, targets):
        if not implicit_ok(a, t):
            raise bad_types(fn, args)
        out.append(cast_to(a, t))
    return out


def arity(fn: str, args: list[Expr], lo: int, hi: int | None = None) -> None:
    hi = lo if hi is None else hi
    if not (lo <= len(args) <= hi):
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise FunctionError(f"{fn}() takes {want} arguments, got {len(args)}")


def supertype_of(label: str, args: list[Expr], values: bool = False) -> pa.DataType:
    """The common supertype of all arguments (NULL if all are untyped NULLs);
    `values`: the type of a result taken from one of them
    (datatypes.value_supertype), not of a comparison."""
    t: pa.DataType | None = dt.NULL
    combine = dt.value_supertype if values else dt.common_supertype
    for a in args:
        t = combine(t, dt.normalize(a.dtype))
        if t is None:
            raise bad_types(label, args)
    return t
