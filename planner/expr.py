"""Bound expressions: the one expression language of logical and physical plans.

Every expression knows its Arrow type (`dtype`). A column is referred to by
its plan-unique internal name (the binder makes names unique per query, e.g.
`l_orderkey#3`), so rules can move expressions between plan nodes without
renumbering, and an operator finds a column in a batch by name.

Example: `l_quantity * 2 > 10` binds to

    Call("gt", (Call("mul", (Column("l_quantity#1", decimal(15,2)),
                             Literal(2, int32)), decimal(26,2)),
                Literal(10, int32)), bool)

Function names in `Call` are the registry names of planner/functions.py
(operators too: add, sub, mul, div, intdiv, mod, neg, eq, ne, lt, le, gt, ge,
and, or, not, is_null, is_not_null, like, ilike, ...).

This module is plan vocabulary: the executor and the cluster import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

from .. import datatypes as dt

# Functions whose value changes from call to call: never moved, folded or
# shared between expressions.
VOLATILE_FUNCTIONS = frozenset({"random", "rand", "uuid", "gen_random_uuid",
                                "now", "current_timestamp"})


class Expr:
    """Base of all expression nodes."""

    __slots__ = ()
    _children: ClassVar[tuple[str, ...]] = ()

    @property
    def type(self) -> pa.DataType:
        return self.dtype  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Column(Expr):
    name: str            # plan-unique internal name
    dtype: pa.DataType
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class Literal(Expr):
    value: Any           # Python value: int, float, Decimal, str, date, datetime, bool, None,
    dtype: pa.DataType   # or (months, days, nanos) for an INTERVAL


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """A scalar function or operator application."""
    fn: str
    args: tuple[Expr, ...]
    dtype: pa.DataType
    _children: ClassVar = ("args",)


@dataclass(frozen=True, slots=True)
class UnnestCall(Expr):
    """`unnest(list)` in a select list: one output row per element. The
    binder turns it into a logical Unnest node; it is never evaluated."""
    arg: Expr
    dtype: pa.DataType      # the element type
    _children: ClassVar = ("arg",)


@dataclass(frozen=True, slots=True)
class PythonCall(Expr):
    """A Python UDF (CREATE FUNCTION ... LANGUAGE PYTHON): `target` is its
    import name 'module:function', imported by each process that evaluates
    it; `name` is the SQL name, for messages."""
    name: str
    target: str
    args: tuple[Expr, ...]
    dtype: pa.DataType
    _children: ClassVar = ("args",)


@dataclass(frozen=True, slots=True)
class Cast(Expr):
    arg: Expr
    dtype: pa.DataType
    safe: bool = False   # TRY_CAST: a failed cast gives NULL instead of DataError
    _children: ClassVar = ("arg",)


@dataclass(frozen=True, slots=True)
class Case(Expr):
    """CASE WHEN c1 THEN v1 ... ELSE e END (a simple CASE is bound to this form)."""
    conditions: tuple[Expr, ...]
    results: tuple[Expr, ...]
    default: Expr | None
    dtype: pa.DataType
    _children: ClassVar = ("conditions", "results", "default")


@dataclass(frozen=True, slots=True)
class InList(Expr):
    arg: Expr
    values: tuple[Expr, ...]
    negated: bool = False
    dtype: pa.DataType = dt.BOOL
    _children: ClassVar = ("arg", "values")


@dataclass(frozen=True, slots=True)
class SortKey:
    expr: Expr
    ascending: bool = True
    nulls_first: bool = False   # Quiver's default: NULLS LAST for ASC and DESC
    _children: ClassVar = ("expr",)


@dataclass(frozen=True, slots=True)
class AggCall(Expr):
    """An aggregate: count, count_star, sum, avg, min, max, stddev_samp,
    stddev_pop, var_samp, var_pop, bool_and, bool_or, first, string_agg."""
    fn: str
    args: tuple[Expr, ...]
    dtype: pa.DataType
    distinct: bool = False
    filter: Expr | None = None
    _children: ClassVar = ("args", "filter")


@dataclass(frozen=True, slots=True)
class WindowFrame:
    """ROWS or RANGE frame; offsets None mean UNBOUNDED, 0 means CURRENT ROW,
    negative PRECEDING, positive FOLLOWING; a RANGE offset may also be an
    interval (months, days, nanos), every part negative for PRECEDING."""
    mode: str = "range"          # "rows" | "range"
    start: int | tuple[int, int, int] | None = None
    end: int | tuple[int, int, int] | None = 0


@dataclass(frozen=True, slots=True)
class WindowCall(Expr):
    """fn is an aggregate name or row_number, rank, dense_rank, percent_rank,
    cume_dist, ntile, lag, lead, first_value, last_value, nth_value."""
    fn: str
    args: tuple[Expr, ...]
    partition_by: tuple[Expr, ...]
    order_by: tuple[SortKey, ...]
    frame: WindowFrame | None
    dtype: pa.DataType
    distinct: bool = False
    _children: ClassVar = ("args", "partition_by", "order_by")


# --- subqueries: present only between binding and decorrelation -------------

@dataclass(frozen=True, slots=True)
class ScalarSubquery(Expr):
    plan: Any            # a logical plan with one output column
    dtype: pa.DataType
    _children: ClassVar = ()


@dataclass(frozen=True, slots=True)
class Exists(Expr):
    plan: Any
    negated: bool = False
    dtype: pa.DataType = dt.BOOL
    _children: ClassVar = ()


@dataclass(frozen=True, slots=True)
class InSubquery(Expr):
    arg: Expr
    plan: Any            # one output column
    negated: bool = False
    dtype: pa.DataType = dt.BOOL
    _children: ClassVar = ("arg",)


SUBQUERY_TYPES = (ScalarSubquery, Exists, InSubquery)


# --- helpers -------------------------------------------------------------------

TRUE = Literal(True, dt.BOOL)
FALSE = Literal(False, dt.BOOL)


def lit(value: Any, dtype: pa.DataType) -> Literal:
    return Literal(value, dtype)


def columns_of(expr: Expr) -> set[str]:
    """Names of all columns an expression reads (not inside subquery plans)."""
    if isinstance(expr, Column):        # most calls: a join key, a grouping column
        return {expr.name}
    from .tree import walk
    return {e.name for e in walk(expr) if isinstance(e, Column)}


def conjuncts(expr: Expr | None) -> list[Expr]:
    """Split an AND tree into its conjuncts."""
    if expr is None:
        return []
    if isinstance(expr, Call) and expr.fn == "and":
        out: list[Expr] = []
        for a in expr.args:
            out.extend(conjuncts(a))
        return out
    return [expr]


def conjoin(parts: list[Expr] | tuple[Expr, ...]) -> Expr | None:
    """AND a list of predicates together; None for an empty list."""
    parts = list(parts)
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = Call("and", (out, p), dt.BOOL)
    return out


def contains_subquery(expr: Expr) -> bool:
    from .tree import walk
    return any(isinstance(e, SUBQUERY_TYPES) for e in walk(expr))


def contains_aggregate(expr: Expr) -> bool:
    from .tree import walk
    return any(isinstance(e, AggCall) for e in walk(expr))
