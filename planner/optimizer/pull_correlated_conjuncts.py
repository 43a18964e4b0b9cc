"""Pulling the correlated conjuncts up out of a subquery plan: the step both
subquery rewrites need.

`pull_correlated_conjuncts(plan, local, mode, ctx)` removes from a subquery
plan the conjuncts that read outer columns (names not in `local`), passing
the inner columns they read up through Projects, inner Joins, the left side
of semi, anti and left joins, Sort and Distinct, and through an Aggregate
when they are equalities (the inner side joins the group keys). It returns the rewritten plan and those conjuncts.

Why a module of its own: decorrelate_subqueries.py uses it for every
subquery, and correlated_domain.py (which decorrelate_subqueries calls for a
scalar aggregate correlated by a non-equality) uses it to pull the
non-equality conditions. With the helper here, correlated_domain imports
this module rather than the rule that calls it, so they form no circle.
"""

from __future__ import annotations

import dataclasses

from ...errors import NotSupportedError
from ..expr import Call, Column, Expr, columns_of, conjoin, conjuncts
from ..logical import Aggregate, Distinct, Filter, Join, LogicalPlan, Project, Sort
from .util import eq, referenced_names


def pull_correlated_conjuncts(node: LogicalPlan, local: set[str], mode: str,
                              ctx) -> tuple[LogicalPlan, list[Expr]]:
    """Remove the conjuncts that read outer columns (names not in `local`)
    from `node`; return the rewritten plan, which outputs every inner column
    those conjuncts read, and the conjuncts."""

    def is_correlated(e) -> bool:
        return bool(columns_of(e) - local)

    if not (referenced_names(node) - local):
        return node, []
    if isinstance(node, Filter):
        inp, preds = pull_correlated_conjuncts(node.input, local, mode, ctx)
        keep = []
        for c in conjuncts(node.predicate):
            (preds if is_correlated(c) else keep).append(c)
        return (Filter(inp, conjoin(keep)) if keep else inp), preds
    if isinstance(node, Project):
        if any(is_correlated(e) for e in node.exprs):
            raise NotSupportedError("a subquery's select list may not read outer columns")
        inp, preds = pull_correlated_conjuncts(node.input, local, mode, ctx)
        return _pass_through(node, inp, preds), preds
    if isinstance(node, Join) and node.kind == "inner":
        left, lp = pull_correlated_conjuncts(node.left, local, mode, ctx)
        right, rp = pull_correlated_conjuncts(node.right, local, mode, ctx)
        keep, preds = [], lp + rp
        for c in conjuncts(node.condition):
            (preds if is_correlated(c) else keep).append(c)
        return Join(left, right, "inner", conjoin(keep)), preds
    if (isinstance(node, Join) and node.kind in _LEFT_ROWS_JOINS
            and not (referenced_names(node.right) - local)
            and not (columns_of(node.condition) - local if node.condition else set())):
        # each left row's fate does not depend on the other left rows, so a
        # filter on the left side commutes with the join
        left, preds = pull_correlated_conjuncts(node.left, local, mode, ctx)
        return dataclasses.replace(node, left=left), preds
    if isinstance(node, (Sort, Distinct)):
        inp, preds = pull_correlated_conjuncts(node.input, local, mode, ctx)
        if (isinstance(node, Distinct) and mode == "scalar"
                and any(equality_inner_side(p, local) is None for p in preds)):
            raise NotSupportedError(
                "a correlated scalar subquery over DISTINCT supports only "
                "equality correlation")
        return dataclasses.replace(node, input=inp), preds
    if isinstance(node, Aggregate):
        return _pull_through_aggregate(node, local, mode, ctx)
    raise NotSupportedError(
        f"a correlated subquery with outer references below {type(node).__name__} "
        "is not supported")


# joins that keep or drop each left row by itself: semi and anti joins (made
# by decorrelating a subquery of the subquery) and left joins (SQL's, and
# the marker joins of EXISTS / IN in a select list)
_LEFT_ROWS_JOINS = ("semi", "anti", "null_aware_anti", "left")


def _pass_through(node: Project, inp: LogicalPlan, preds: list[Expr]) -> Project:
    """A Project that also outputs the inner columns `preds` read."""
    have = set(node.names)
    fields = {f.name: f for f in inp.schema}
    exprs, names = list(node.exprs), list(node.names)
    for p in preds:
        for name in sorted(columns_of(p)):
            if name in fields and name not in have:
                exprs.append(fields[name].column())
                names.append(name)
                have.add(name)
    return Project(inp, tuple(exprs), tuple(names))


def _pull_through_aggregate(node: Aggregate, local, mode, ctx):
    inp, preds = pull_correlated_conjuncts(node.input, local, mode, ctx)
    if not preds:
        return dataclasses.replace(node, input=inp), []
    if not node.group_exprs and mode not in ("scalar", "in"):
        raise NotSupportedError(
            "EXISTS / NOT IN over a correlated aggregate without GROUP BY "
            "is not supported")
    groups, gnames = list(node.group_exprs), list(node.group_names)
    out = []
    for p in preds:
        inner = equality_inner_side(p, local)
        if inner is None:
            raise NotSupportedError(
                "a correlated subquery with an aggregate supports only equality "
                "conditions between inner and outer columns")
        side, other = inner
        if side in groups:
            name = gnames[groups.index(side)]
        else:
            if isinstance(side, Column):
                name = side.name
            elif ctx is not None:
                name = ctx.fresh_name("corr")
            else:
                raise NotSupportedError("correlation on an expression below an aggregate")
            groups.append(side)
            gnames.append(name)
        out.append(eq(other, Column(name, side.dtype, True)))
    agg = Aggregate(inp, tuple(groups), tuple(gnames), node.aggs, node.agg_names)
    return agg, out


def equality_inner_side(p: Expr, local: set[str]):
    """For `inner_expr = outer_expr`: (inner_expr, outer_expr); else None."""
    if not (isinstance(p, Call) and p.fn == "eq"):
        return None
    a, b = p.args
    ca, cb = columns_of(a), columns_of(b)
    if ca and ca <= local and cb and not (cb & local):
        return a, b
    if cb and cb <= local and ca and not (ca & local):
        return b, a
    return None
