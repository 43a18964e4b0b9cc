"""Pulling aggregates and window functions out of bound expressions.

After the SELECT list, HAVING and ORDER BY are bound (with AggCall and
WindowCall nodes in place), `AggregateRewriter` replaces every GROUP BY
expression by a column of the Aggregate node's output and every aggregate
call by a column of its result (the same call written twice is computed
once); any other column of the FROM clause left over is an error ("must
appear in the GROUP BY clause"). `extract_windows` then replaces each
window call by a column of a Window node placed above the Aggregate.
Correlated subqueries inside the rewritten expressions have the grouped
columns they use renamed the same way.
"""

from __future__ import annotations

import dataclasses

from ..planner import expr as ex
from ..planner import tree
from .scope import BindContext


def base_name(internal: str) -> str:
    """`l_quantity#3` -> `l_quantity`."""
    return internal.rsplit("#", 1)[0] if "#" in internal else internal


def _find(items: list, e) -> int:
    for i, x in enumerate(items):
        if type(x) is type(e) and x == e:
            return i
    return -1


class AggregateRewriter:
    def __init__(self, ctx: BindContext, group_exprs: list[ex.Expr], local_names: set[str]):
        self.ctx = ctx
        self.group_exprs = list(group_exprs)
        self.group_names = [ctx.fresh(base_name(g.name) if isinstance(g, ex.Column) else "group")
                            for g in group_exprs]
        self.aggs: list[ex.AggCall] = []
        self.agg_names: list[str] = []
        self.local = local_names

    def group_column(self, i: int) -> ex.Column:
        return ex.Column(self.group_names[i], self.group_exprs[i].dtype)

    def rewrite(self, e: ex.Expr) -> ex.Expr:
        i = _find(self.group_exprs, e)
        if i >= 0:
            return self.group_column(i)
        if isinstance(e, ex.AggCall):
            j = _find(self.aggs, e)
            if j < 0:
                self.aggs.append(e)
                self.agg_names.append(self.ctx.fresh(e.fn))
                j = len(self.aggs) - 1
            return ex.Column(self.agg_names[j], e.dtype)
        if isinstance(e, ex.Column):
            if e.name in self.local:
                site = self.ctx.column_sites.get(e.name)
                shown = site.sql("duckdb") if site is not None else base_name(e.name)
                raise self.ctx.error(
                    f"column '{shown}' must appear in the GROUP BY clause or be used "
                    f"in an aggregate function", site)
            return e
        if isinstance(e, ex.SUBQUERY_TYPES):
            e = dataclasses.replace(e, plan=self._rewrite_plan(e.plan))
        kids = tree.children(e)
        if not kids:
            return e
        return tree.with_children(e, tuple(self.rewrite(k) for k in kids))

    def _rewrite_plan(self, plan):
        """Rename grouped outer columns used inside a correlated subquery."""
        mapping = {g.name: self.group_column(i) for i, g in enumerate(self.group_exprs)
                   if isinstance(g, ex.Column)}

        def fix_expr(e):
            if isinstance(e, ex.Column) and e.name in self.local:
                if e.name in mapping:
                    return mapping[e.name]
                site = self.ctx.column_sites.get(e.name)
                shown = site.sql("duckdb") if site is not None else base_name(e.name)
                raise self.ctx.error(
                    f"column '{shown}' must appear in the GROUP BY clause or be used "
                    f"in an aggregate function", site)
            if isinstance(e, ex.SUBQUERY_TYPES):
                return dataclasses.replace(e, plan=self._rewrite_plan(e.plan))
            return e

        def fix_node(node):
            return tree.map_expressions(node, lambda x: tree.transform_up(x, fix_expr)[0])

        return tree.transform_up(plan, fix_node)[0]


def extract_windows(ctx: BindContext, e: ex.Expr, calls: list[ex.WindowCall],
                    names: list[str]) -> ex.Expr:
    """Replace window calls in `e` by columns, collecting them in calls/names."""
    if isinstance(e, ex.WindowCall):
        j = _find(calls, e)
        if j < 0:
            calls.append(e)
            names.append(ctx.fresh(e.fn))
            j = len(calls) - 1
        return ex.Column(names[j], e.dtype)
    kids = tree.children(e)
    if not kids:
        return e
    return tree.with_children(e, tuple(extract_windows(ctx, k, calls, names) for k in kids))


def contains(e: ex.Expr, cls) -> bool:
    return any(isinstance(x, cls) for x in tree.walk(e))
