"""Small helpers the optimizer rules share: which columns a plan produces and
reads, substituting columns in expressions, and building typed predicates.

Nothing here rewrites a plan on its own; the rules do.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from typing import Iterable

import pyarrow as pa

from ... import datatypes as dt
from ..expr import (VOLATILE_FUNCTIONS, AggCall, Call, Cast, Column, Expr, Literal,  # noqa: F401
                    WindowCall, columns_of, conjoin, conjuncts)
from ..logical import Filter, LogicalPlan, Project, Scan
from ..tree import expressions, transform_up, walk

__all__ = ["produced_names", "referenced_names", "free_names", "substitute",
           "is_deterministic", "eq", "coalesce", "conjuncts", "conjoin",
           "columns_of", "expr_columns", "schema_signature", "null_safe_keys", "null_when_null",
           "STRICT_FUNCTIONS"]


def produced_names(plan: LogicalPlan) -> set[str]:
    """Every column name some node of `plan` outputs."""
    out: set[str] = set()
    for node in walk(plan):
        out.update(f.name for f in node.schema)
    return out


def expr_columns(e) -> set[str]:
    """Columns read by an expression (or a SortKey / tuple of them)."""
    return {x.name for x in walk(e) if isinstance(x, Column)}


def referenced_names(plan: LogicalPlan) -> set[str]:
    """Every column name an expression somewhere in `plan` reads."""
    out: set[str] = set()
    for node in walk(plan):
        for e in expressions(node):
            out |= expr_columns(e)
    return out


def free_names(plan: LogicalPlan) -> set[str]:
    """Columns `plan` reads but does not produce: outer references."""
    return referenced_names(plan) - produced_names(plan)


def substitute(e: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace each Column whose name is in `mapping` by its expression."""
    if not mapping:
        return e

    def fn(x):
        if isinstance(x, Column) and x.name in mapping:
            return mapping[x.name]
        return x
    return transform_up(e, fn)[0]


def is_deterministic(e) -> bool:
    for x in walk(e):
        if isinstance(x, Call) and x.fn in VOLATILE_FUNCTIONS:
            return False
        if isinstance(x, (AggCall, WindowCall)):
            return False
    return True


def eq(a: Expr, b: Expr) -> Expr:
    """`a = b`, casting both sides to their common type when they differ."""
    if a.dtype != b.dtype:
        common = dt.common_supertype(a.dtype, b.dtype)
        if common is not None:
            if a.dtype != common:
                a = Cast(a, common)
            if b.dtype != common:
                b = Cast(b, common)
    return Call("eq", (a, b), dt.BOOL)


def coalesce(e: Expr, value) -> Expr:
    return Call("coalesce", (e, Literal(value, e.dtype)), e.dtype)


# functions whose value is NULL whenever one of their arguments is NULL
STRICT_FUNCTIONS = frozenset({
    "eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div", "mod", "intdiv",
    "neg", "abs", "like", "ilike", "not_like", "not_ilike", "upper", "lower",
    "length", "substr"})


def null_when_null(e: Expr, names: set[str]) -> bool:
    """Is `e` NULL whenever the columns `names` are all NULL? (A column of
    them, or a strict function or cast of such an expression.)"""
    if isinstance(e, Column):
        return e.name in names
    if isinstance(e, Cast):
        return null_when_null(e.arg, names)
    if isinstance(e, Call) and e.fn in STRICT_FUNCTIONS:
        return any(null_when_null(a, names) for a in e.args)
    return False


def null_safe_keys(e: Expr) -> list[Expr] | None:
    """Expressions of `e` that are never NULL and all equal for two values of
    `e` exactly when those are not distinct (NULL matches NULL), for a join
    on plain equalities: [coalesce(e, a zero of its type), is_null(e)]; None
    for a type without such a zero (a list, a struct)."""
    isnull = Call("is_null", (e,), dt.BOOL)
    if pa.types.is_null(e.dtype):
        return [isnull]
    zero = _zero(e.dtype)
    if zero is None:
        return None
    return [Call("coalesce", (e, Literal(zero, e.dtype)), e.dtype), isnull]


def _zero(t: pa.DataType):
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return 0
    if pa.types.is_decimal(t):
        return Decimal(0)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ""
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return b""
    if pa.types.is_boolean(t):
        return False
    if pa.types.is_date(t):
        return datetime.date(1970, 1, 1)
    if pa.types.is_timestamp(t):
        return datetime.datetime(1970, 1, 1)
    if pa.types.is_time(t):
        return datetime.time(0)
    if pa.types.is_duration(t):
        return datetime.timedelta(0)
    if t == dt.INTERVAL:
        return (0, 0, 0)
    return None


def schema_signature(plan: LogicalPlan) -> tuple:
    """(name, type) pairs: what a rule must keep at the root."""
    return tuple((f.name, f.dtype) for f in plan.schema)


def names_of(plan: LogicalPlan) -> set[str]:
    return {f.name for f in plan.schema}


def split_by(preds: Iterable[Expr], names: set[str]) -> tuple[list[Expr], list[Expr]]:
    """(predicates reading only `names`, the others)."""
    inside, outside = [], []
    for p in preds:
        (inside if columns_of(p) <= names else outside).append(p)
    return inside, outside


def copy_chain(node, ctx) -> tuple[LogicalPlan, dict[str, str]]:
    """A chain of Projects and Filters over one Scan, copied with every
    column it outputs renamed (names are unique in a plan, so a subtree read
    twice needs fresh ones); returns the copy and old name -> new name of
    its output."""
    if isinstance(node, Scan):
        names = {f.name: ctx.fresh_name(f.name) for f in node.fields}
        mapping = {old: Column(new, f.dtype, f.nullable)
                   for f, (old, new) in zip(node.fields, names.items())}
        return dataclasses.replace(
            node, fields=tuple(dataclasses.replace(f, name=names[f.name]) for f in node.fields),
            filters=tuple(substitute(e, mapping) for e in node.filters)), names
    below, names = copy_chain(node.input, ctx)
    mapping = {old: Column(new, f.dtype, f.nullable)
               for f in node.input.schema for old, new in [(f.name, names[f.name])]}
    if isinstance(node, Filter):
        return Filter(below, substitute(node.predicate, mapping)), names
    out = {n: ctx.fresh_name(n) for n in node.names}
    return Project(below, tuple(substitute(e, mapping) for e in node.exprs),
                   tuple(out[n] for n in node.names)), out
