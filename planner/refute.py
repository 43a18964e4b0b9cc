"""Statistics refutation: can min/max/null counts prove a filter is TRUE for
no row? Shared by file pruning at planning (planner/scan_pruning.py) and
row-group pruning in the scan operator (executor/operators/scan.py).

Owns: `refuted(expr, stats_of) -> bool`. It understands Column cmp Literal
(eq, ne, lt, le, gt, ge, either side, under order-preserving casts between
exact numeric types), InList with literal values, is_null / is_not_null,
constant FALSE or NULL, and AND / OR of those; anything else is kept (False).
`stats_of(name)` gives a column's storage.parquet.ColumnStats (or None).
"""

from __future__ import annotations

from typing import Callable

import pyarrow as pa

from .. import datatypes as dt
from ..storage.parquet import ColumnStats
from .expr import Call, Cast, Column, Expr, InList, Literal

_FLIP = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}

StatsOf = Callable[[str], "ColumnStats | None"]


def _exact_numeric(t: pa.DataType) -> bool:
    return dt.is_integer(t) or dt.is_decimal(t)


def _column_of(e: Expr) -> Column | None:
    """The column under order-preserving casts between exact numeric types."""
    while isinstance(e, Cast) and _exact_numeric(e.dtype) and _exact_numeric(e.arg.dtype):
        e = e.arg
    return e if isinstance(e, Column) else None


def _all_null(s: ColumnStats) -> bool:
    return s.null_count is not None and s.null_count == s.num_rows


def _cmp_refuted(s: ColumnStats | None, op: str, v, dtype: pa.DataType) -> bool:
    """True if `column op v` is TRUE for no row described by `s`."""
    if s is None:
        return False
    if v is None or _all_null(s):
        return True          # comparisons with NULL are never TRUE
    if not s.has_min_max:
        return False
    if dt.is_floating(dtype) and op in ("gt", "ge", "ne"):
        return False         # NaN is left out of Parquet bounds
    lo, hi = s.min, s.max
    try:
        if op == "eq":
            return bool(v < lo or v > hi)
        if op == "ne":
            return bool(lo == hi and lo == v)
        if op == "lt":
            return bool(lo >= v)
        if op == "le":
            return bool(lo > v)
        if op == "gt":
            return bool(hi <= v)
        if op == "ge":
            return bool(hi < v)
    except TypeError:        # bounds and literal not comparable: keep
        return False
    return False


def refuted(expr: Expr, stats_of: StatsOf) -> bool:
    """True if statistics prove `expr` is TRUE for no row (so the rows can be
    skipped). `stats_of(name)` gives the stats of a column by field name."""
    if isinstance(expr, Literal):
        return expr.value is None or expr.value is False
    if isinstance(expr, InList):
        col = _column_of(expr.arg)
        if expr.negated or col is None or not all(isinstance(v, Literal) for v in expr.values):
            return False
        s = stats_of(col.name)
        return all(_cmp_refuted(s, "eq", v.value, col.dtype) for v in expr.values)
    if not isinstance(expr, Call):
        return False
    if expr.fn == "and":
        return any(refuted(a, stats_of) for a in expr.args)
    if expr.fn == "or":
        return all(refuted(a, stats_of) for a in expr.args)
    if expr.fn in ("is_null", "is_not_null") and len(expr.args) == 1:
        col = _column_of(expr.args[0])
        s = stats_of(col.name) if col is not None else None
        if s is None or s.null_count is None:
            return False
        return s.null_count == 0 if expr.fn == "is_null" else s.null_count == s.num_rows
    if expr.fn in _FLIP and len(expr.args) == 2:
        a, b = expr.args
        col, op, lit = _column_of(a), expr.fn, b
        if col is None or not isinstance(b, Literal):
            col, op, lit = _column_of(b), _FLIP[expr.fn], a
            if col is None or not isinstance(a, Literal):
                return False
        return _cmp_refuted(stats_of(col.name), op, lit.value, col.dtype)
    return False
