"""Rule: an aggregate of a one-branch CASE becomes the aggregate with a FILTER.

    sum(CASE WHEN c THEN x END)          -> sum(x) FILTER (WHERE c)
    count(CASE WHEN c THEN 1 END)        -> count(1) FILTER (WHERE c)
    sum(CASE WHEN c THEN 1 ELSE 0 END)   -> coalesce(sum(1) FILTER (WHERE c), 0)
                                            (GROUP BY only, a constant never NULL)

Conditional aggregation (pivot-style reports; TPC-H Q8 and Q12) evaluates
the CASE on every row, and Arrow's case_when / if_else cost 6-9 ns a row
(a decimal over 1.5M rows: 9 ms), plus the ELSE constant spread into an
array. A FILTER is only a mask the aggregate reads. Over SF1 lineitem, a
GROUP BY with three such CASE aggregates took 0.33 s; with FILTERs, 0.25 s.

Exact, not approximate:
- the aggregates here skip NULL, and a CASE without ELSE (or ELSE NULL) is
  NULL exactly where c is not true, the rows FILTER drops (a NULL c too);
- zeros added to a sum change it only when no row matches, where the sum
  is NULL and coalesce gives the 0 back. That needs x never NULL (a group
  whose matching rows are all NULL would otherwise differ), which only a
  constant (or arithmetic of constants) is for sure: a NOT NULL column read
  above an outer join is NULL on padded rows; and a group that has rows:
  under GROUP BY it has, a global aggregate over no rows is NULL (a
  coalesce would make it 0), so that one is left alone;
- x is read as the CASE's type (a cast when the ELSE widened it);
- an argument that can raise is evaluated on the kept rows only, by the
  FILTER as by the CASE (operators/aggregate_groups.py).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from ... import datatypes as dt
from ..expr import AggCall, Call, Case, Cast, Column, Literal
from ..logical import Aggregate, Project
from ..tree import transform_up
from .util import coalesce

NULL_SKIPPING = frozenset({"count", "sum", "avg", "min", "max", "stddev_samp", "stddev_pop",
                           "var_samp", "var_pop", "bool_and", "bool_or"})
_NEVER_NULL_CALLS = frozenset({"add", "sub", "mul", "neg"})


def case_aggregates_as_filters(plan, ctx):
    return transform_up(plan, lambda node: _rewrite(node, ctx))[0]


def _rewrite(node, ctx):
    if not (isinstance(node, Aggregate) and node.aggs):
        return node
    grouped = bool(node.group_exprs)
    aggs, names, fixes = [], [], {}
    for agg, name in zip(node.aggs, node.agg_names):
        new = _as_filter(agg, grouped)
        if new is None:
            aggs.append(agg)
            names.append(name)
            continue
        agg, zero = new
        aggs.append(agg)
        if zero is None:
            names.append(name)
        else:
            inner = ctx.fresh_name(name)
            names.append(inner)
            fixes[name] = coalesce(Column(inner, agg.dtype), zero)
    if aggs == list(node.aggs):
        return node
    out = dataclasses.replace(node, aggs=tuple(aggs), agg_names=tuple(names))
    if not fixes:
        return out
    exprs = [Column(f.name, f.dtype) for f in out.schema[:len(node.group_names)]]
    exprs += [fixes.get(n) or Column(n, a.dtype) for n, a in zip(node.agg_names, node.aggs)]
    return Project(out, tuple(exprs), tuple(f.name for f in node.schema))


def _as_filter(agg: AggCall, grouped: bool):
    """(the aggregate with a FILTER, the zero value to coalesce its NULL to
    or None), or None when `agg` is not of a shape rewritten here."""
    if agg.fn not in NULL_SKIPPING or agg.distinct or len(agg.args) != 1:
        return None
    case = agg.args[0]
    if not (isinstance(case, Case) and len(case.conditions) == 1):
        return None
    cond, value = case.conditions[0], case.results[0]
    default = case.default
    if default is None or (isinstance(default, Literal) and default.value is None):
        zero = None
    elif (agg.fn == "sum" and grouped and _is_zero(default) and never_null(value)
          and dt.is_numeric(agg.dtype)):
        zero = default.value
    else:
        return None
    if value.dtype != case.dtype:
        value = Cast(value, case.dtype)
    where = cond if agg.filter is None else Call("and", (agg.filter, cond), dt.BOOL)
    return dataclasses.replace(agg, args=(value,), filter=where), zero


def _is_zero(e) -> bool:
    return (isinstance(e, Literal) and isinstance(e.value, (int, float, Decimal))
            and not isinstance(e.value, bool) and e.value == 0)


def never_null(e) -> bool:
    """Whether `e` is NULL on no row by its own form: non-NULL constants,
    and arithmetic and casts of those (an overflow or a failed cast raises;
    it does not give NULL). Columns are not trusted: a NOT NULL column read
    above an outer join, or from a file that lacks it, can be NULL."""
    if isinstance(e, Literal):
        return e.value is not None
    if isinstance(e, Cast):
        return not e.safe and never_null(e.arg)
    if isinstance(e, Call) and e.fn in _NEVER_NULL_CALLS:
        return all(never_null(a) for a in e.args)
    return False
