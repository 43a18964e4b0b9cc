"""Rule: compare a column in its own type instead of casting every row.

    CAST(l_shipdate AS TIMESTAMP) < TIMESTAMP '1995-01-01 00:00:00'
 -> l_shipdate < DATE '1995-01-01'

    CAST(o_shippriority AS BIGINT) = 5   ->   o_shippriority = 5 (INTEGER)

`date + interval` is a TIMESTAMP (as in DuckDB), so TPC-H's date ranges
bind to casts of DATE columns; comparing in the column's type avoids a cast
per row and lets the scan prune row groups by their DATE statistics.

Rewrites only when it is exact: a DATE column against a TIMESTAMP constant
(midnight for =, <>; any time for ranges, where `d < ts` becomes `d <=
date(ts)` when ts is past midnight), and an integer column widened to a
larger integer type against a constant that fits the column's type.
Runs after fold_constants, which turns the constant side into a Literal.
"""

from __future__ import annotations

import datetime

import pyarrow as pa

from ... import datatypes as dt
from ..expr import Call, Cast, Column, Expr, Literal
from ..logical import LogicalPlan
from ..tree import map_expressions, transform_up

_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}
_INT_RANGE = {8: 2 ** 7, 16: 2 ** 15, 32: 2 ** 31, 64: 2 ** 63}


def unwrap_cast_in_comparison(plan: LogicalPlan, ctx) -> LogicalPlan:
    def rewrite_node(node):
        return map_expressions(node, unwrap_expression)
    return transform_up(plan, rewrite_node)[0]


def unwrap_expression(e: Expr) -> Expr:
    def fn(x):
        if isinstance(x, Call) and x.fn in _FLIP and len(x.args) == 2:
            return _unwrap(x)
        return x
    return transform_up(e, fn)[0]


def _unwrap(call: Call) -> Expr:
    a, b = call.args
    fn = call.fn
    if isinstance(b, Cast) and isinstance(a, Literal):
        a, b, fn = b, a, _FLIP[fn]
    if not (isinstance(a, Cast) and not a.safe and isinstance(b, Literal)
            and b.value is not None):
        return call
    src = a.arg
    if not isinstance(src, Column):
        return call
    if pa.types.is_date(src.dtype) and pa.types.is_timestamp(a.dtype) and a.dtype.tz is None:
        return _unwrap_date(fn, src, b.value) or call
    if (dt.is_integer(src.dtype) and dt.is_integer(a.dtype) and isinstance(b.value, int)
            and not isinstance(b.value, bool)):
        bound = _INT_RANGE[src.dtype.bit_width]
        signed = pa.types.is_signed_integer(src.dtype)
        lo, hi = (-bound, bound - 1) if signed else (0, 2 * bound - 1)
        if lo <= b.value <= hi:
            return Call(fn, (src, Literal(b.value, src.dtype)), call.dtype)
    return call


def _unwrap_date(fn: str, col: Column, ts) -> Expr | None:
    if not isinstance(ts, datetime.datetime):
        return None
    day = ts.date()
    midnight = ts == datetime.datetime.combine(day, datetime.time())
    if midnight:
        return Call(fn, (col, Literal(day, dt.DATE)), dt.BOOL)
    # ts is inside `day`: dates up to `day` are before ts, later ones after
    if fn in ("lt", "le"):
        return Call("le", (col, Literal(day, dt.DATE)), dt.BOOL)
    if fn in ("gt", "ge"):
        return Call("gt", (col, Literal(day, dt.DATE)), dt.BOOL)
    return None
