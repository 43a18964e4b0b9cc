"""Rule: turn subquery expressions into joins.

The binder leaves `Exists`, `InSubquery` and `ScalarSubquery` expressions in
Filter predicates (and scalar subqueries in Project expressions); a subquery
plan refers to outer columns by their outer names, so it is correlated iff it
reads names it does not produce. This rule removes every subquery:

    Filter(EXISTS(Filter(Scan(l2), l2.ok = l1.ok AND l2.sk <> l1.sk)))
      Scan(l1)
 -> Join(semi, l2.ok = l1.ok AND l2.sk <> l1.sk)
      Scan(l1)
      Scan(l2)

- [NOT] EXISTS -> semi / anti join; the correlated conjuncts pulled out of
  the subquery's Filters (through Projects, inner Joins, and Aggregates when
  they are equalities: the inner side joins the group keys) become the join
  condition.
- x IN (q) -> semi join on x = q.col; x NOT IN (q) -> null_aware_anti join.
- an uncorrelated scalar subquery -> left join (condition None) with
  EnforceSingleRow(q); the subquery expression becomes q's column.
- a correlated scalar subquery must be a scalar aggregate: it is grouped by
  its correlation columns and left joined on them; a count over no rows
  becomes 0 (coalesce) instead of the join's NULL: the expressions above
  the aggregate are computed above the join when they read a count or are
  not NULL for NULL aggregates (coalesce). When the correlation is
  not a set of equalities (`n2.i > n1.i`, an OR), the aggregate is computed
  per distinct outer value instead (correlated_domain.py).

Subqueries in other places (under OR, in join conditions, in an aggregate)
raise NotSupportedError. Nested subqueries are decorrelated inside out; a
subquery that reads a column of a query two or more levels up is first made
to read a column of its own enclosing query: that query is evaluated per
distinct value of the column, joined in as a domain (outer_domain.py).
"""

from __future__ import annotations

import dataclasses

from ...errors import NotSupportedError
from ... import datatypes as dt
from ..expr import (AggCall, Call, Case, Cast, Column, Exists, Expr, InSubquery, Literal,
                    ScalarSubquery, SUBQUERY_TYPES, columns_of, conjoin, conjuncts)
from ..logical import (Aggregate, Distinct, EnforceSingleRow, Filter, Join,
                       LogicalPlan, Project, Sort)
from ..tree import expressions, map_expressions, transform_up, walk
from .outer_domain import join_outer_domains, materialize_domains
from .pull_correlated_conjuncts import equality_inner_side, pull_correlated_conjuncts
from .util import (coalesce, eq, names_of, null_when_null, produced_names, referenced_names,
                   substitute)


def decorrelate_subqueries(plan: LogicalPlan, ctx) -> LogicalPlan:
    if not _has_subquery(plan):
        return plan
    return transform_up(plan, lambda node: _rewrite_node(node, ctx))[0]


# --- finding subqueries --------------------------------------------------------

def _node_has_subquery(node) -> bool:
    return any(isinstance(x, SUBQUERY_TYPES)
               for e in expressions(node) for x in walk(e))


def _has_subquery(plan: LogicalPlan) -> bool:
    return any(_node_has_subquery(n) for n in walk(plan))


def _decorrelate_inner_plans(node, ctx):
    """Decorrelate the plans held by the node's subquery expressions first."""
    def fix(e):
        if isinstance(e, SUBQUERY_TYPES):
            inner = decorrelate_subqueries(e.plan, ctx)
            return e if inner is e.plan else dataclasses.replace(e, plan=inner)
        return e
    return map_expressions(node, lambda e: transform_up(e, fix)[0])


def _rewrite_node(node, ctx):
    if not _node_has_subquery(node):
        return node
    if isinstance(node, (Filter, Project)):
        # a subquery reading a column of this node's input from two or more
        # levels down is first made to read a domain column (outer_domain.py)
        node, domains = join_outer_domains(node, ctx)
        node = _decorrelate_inner_plans(node, ctx)
        if isinstance(node, Filter):
            out = _rewrite_filter(node, ctx)
        else:
            out = _rewrite_project(node, ctx)
        return materialize_domains(out, domains)
    node = _decorrelate_inner_plans(node, ctx)
    raise NotSupportedError(
        f"subqueries are not supported in {type(node).__name__} expressions "
        "(only in WHERE, HAVING and the SELECT list)")


# --- Filter / Project ------------------------------------------------------------

def _rewrite_filter(node: Filter, ctx) -> LogicalPlan:
    state = _Outer(node.input)
    rest = [state.replace_scalars(c, ctx) for c in conjuncts(node.predicate)]
    remaining = []
    for c in rest:
        negate = False
        target = c
        if isinstance(c, Call) and c.fn == "not" and isinstance(c.args[0], (Exists, InSubquery)):
            negate, target = True, c.args[0]
        if isinstance(target, Exists):
            state.join_exists(target.plan, target.negated != negate)
        elif isinstance(target, InSubquery):
            state.join_in(target.arg, target.plan, target.negated != negate)
        else:
            remaining.append(state.replace_marks(c, ctx))
    out = state.plan
    if remaining:
        out = Filter(out, conjoin(remaining))
    if [f.name for f in out.schema] != [f.name for f in node.schema]:
        out = Project(out, tuple(f.column() for f in node.input.schema),
                      tuple(f.name for f in node.input.schema))
    return out


def _rewrite_project(node: Project, ctx) -> LogicalPlan:
    state = _Outer(node.input)
    exprs = []
    for e in node.exprs:
        exprs.append(state.replace_marks(state.replace_scalars(e, ctx), ctx))
    return Project(state.plan, tuple(exprs), node.names)


class _Outer:
    """The outer input, to which subqueries are joined one after another."""

    def __init__(self, plan: LogicalPlan):
        self.plan = plan

    def _check_condition(self, cond, right: LogicalPlan) -> None:
        if cond is None:
            return
        missing = columns_of(cond) - names_of(self.plan) - names_of(right)
        if missing:
            raise NotSupportedError(
                "subquery correlated with a column of an enclosing query two "
                f"levels up is not supported ({', '.join(sorted(missing))})")

    def join_exists(self, sub: LogicalPlan, negated: bool) -> None:
        sub = _strip_output(sub)
        right, preds = pull_correlated_conjuncts(sub, produced_names(sub), "exists", None)
        cond = conjoin(preds)
        self._check_condition(cond, right)
        self.plan = Join(self.plan, right, "anti" if negated else "semi", cond)

    def join_in(self, arg: Expr, sub: LogicalPlan, negated: bool) -> None:
        value = sub.schema[0]
        mode = "not_in" if negated else "in"
        right, preds = pull_correlated_conjuncts(sub, produced_names(sub), mode, None)
        cond = conjoin([eq(arg, value.column())] + preds)
        self._check_condition(cond, right)
        self.plan = Join(self.plan, right, "null_aware_anti" if negated else "semi", cond)

    def replace_marks(self, e: Expr, ctx) -> Expr:
        """EXISTS / IN that are not top-level conjuncts: left join a marker
        relation and compute the predicate's (three-valued) truth from it."""
        def fn(x):
            if isinstance(x, Exists):
                out = self.mark_exists(x.plan, ctx)
            elif isinstance(x, InSubquery):
                out = self.mark_in(x.arg, x.plan, ctx)
            else:
                return x
            return Call("not", (out,), dt.BOOL) if x.negated else out
        return transform_up(e, fn)[0]

    def _mark_keys(self, sub: LogicalPlan, ctx):
        """Pull the correlation out of `sub`: (plan, [(inner, outer) equalities])."""
        local = produced_names(sub)
        right, preds = pull_correlated_conjuncts(sub, local, "mark", ctx)
        pairs = []
        for p in preds:
            sides = equality_inner_side(p, local)
            if sides is None:
                raise NotSupportedError(
                    "EXISTS / IN under OR, NOT, CASE or in the SELECT list supports "
                    "only equality correlation (inner.col = outer.col)")
            pairs.append(sides)
        return right, pairs

    def _join_grouped(self, right, keys, extra_groups, aggs, ctx):
        """Left join Aggregate(right) grouped by the correlation keys (and
        `extra_groups`, (expr, outer expr) pairs); returns the agg columns."""
        groups = [inner for inner, _ in extra_groups] + [inner for inner, _ in keys]
        gnames = tuple(ctx.fresh_name("mark_key") for _ in groups)
        anames = tuple(ctx.fresh_name(a.fn) for a in aggs)
        agg = Aggregate(right, tuple(groups), gnames, tuple(aggs), anames)
        outer = [o for _, o in extra_groups] + [o for _, o in keys]
        cond = conjoin([eq(o, Column(n, g.dtype, True))
                        for o, n, g in zip(outer, gnames, groups)])
        self._check_condition(cond, agg)
        self.plan = Join(self.plan, agg, "left", cond)
        return [Column(n, a.dtype, True) for n, a in zip(anames, aggs)]

    def mark_exists(self, sub: LogicalPlan, ctx) -> Expr:
        right, keys = self._mark_keys(_strip_output(sub), ctx)
        (n,) = self._join_grouped(right, keys, [], [AggCall("count_star", (), dt.INT64)], ctx)
        if not keys:   # one row always: EXISTS is count > 0
            return Call("gt", (n, Literal(0, dt.INT64)), dt.BOOL)
        return Call("is_not_null", (n,), dt.BOOL)

    def mark_in(self, arg: Expr, sub: LogicalPlan, ctx) -> Expr:
        value = sub.schema[0]
        right, keys = self._mark_keys(sub, ctx)
        col = Column(value.name, value.dtype, True)
        (hit,) = self._join_grouped(right, keys, [(col, arg)],
                                    [AggCall("count_star", (), dt.INT64)], ctx)
        rows, values = self._join_grouped(
            right, keys, [], [AggCall("count_star", (), dt.INT64),
                              AggCall("count", (col,), dt.INT64)], ctx)
        zero = Literal(0, dt.INT64)
        rows = Call("coalesce", (rows, zero), dt.INT64)
        values = Call("coalesce", (values, zero), dt.INT64)
        unknown = Call("or", (Call("is_null", (arg,), dt.BOOL),
                              Call("gt", (rows, values), dt.BOOL)), dt.BOOL)
        return Case((Call("is_not_null", (hit,), dt.BOOL),
                     Call("eq", (rows, zero), dt.BOOL), unknown),
                    (Literal(True, dt.BOOL), Literal(False, dt.BOOL), Literal(None, dt.BOOL)),
                    Literal(False, dt.BOOL), dt.BOOL)

    def replace_scalars(self, e: Expr, ctx) -> Expr:
        def fn(x):
            if isinstance(x, ScalarSubquery):
                return self.join_scalar(x, ctx)
            return x
        return transform_up(e, fn)[0]

    def join_scalar(self, sq: ScalarSubquery, ctx) -> Expr:
        sub = sq.plan
        value = sub.schema[0]
        local = produced_names(sub)
        if not (referenced_names(sub) - local):
            self.plan = Join(self.plan, EnforceSingleRow(sub), "left", None)
            return Column(value.name, value.dtype, True)
        try:
            projects, agg = _scalar_aggregate_shape(sub)
        except NotSupportedError:
            return self._join_scalar_rows(sub, ctx)
        try:
            right, preds = pull_correlated_conjuncts(sub, local, "scalar", ctx)
        except NotSupportedError:
            # correlation by a non-equality (or an OR): aggregate per distinct
            # outer value instead (correlated_domain.py)
            from .correlated_domain import join_scalar_over_domain
            out = join_scalar_over_domain(self.plan, sub, projects, agg, local, ctx)
            if out is None:
                raise
            self.plan, result = out
            return result
        cond = conjoin(preds)
        result: Expr = Column(value.name, value.dtype, True)
        above = result
        for p in projects:
            above = substitute(above, dict(zip(p.names, p.exprs)))
        counts = {n for n, a in zip(agg.agg_names, agg.aggs) if a.fn in ("count", "count_star")}
        if columns_of(above) & counts or not null_when_null(above, set(agg.agg_names) - counts):
            # Compute the value above the join, from the aggregates: where no
            # row matched they are NULL there and a count is 0, as over no
            # rows (`coalesce(max(x), -1)` is -1 then, not the join's NULL).
            result = substitute(above, {n: coalesce(Column(n, a.dtype, True), 0)
                                        for n, a in zip(agg.agg_names, agg.aggs) if n in counts})
            if result.dtype != value.dtype:
                result = Cast(result, value.dtype)
            while isinstance(right, Project):
                right = right.input
        self._check_condition(cond, right)
        self.plan = Join(self.plan, right, "left", cond)
        return result


    def _join_scalar_rows(self, sub: LogicalPlan, ctx) -> Expr:
        """`(SELECT name FROM dim WHERE dim.k = t.k)`: group the subquery by
        its correlation keys, keeping a row count and a value; the value is
        an error where the count is above one (SQL's rule for scalar
        subqueries) and NULL where no row matched."""
        value = sub.schema[0]
        right, keys = self._mark_keys(sub, ctx)
        col = Column(value.name, value.dtype, True)
        first, count = self._join_grouped(
            right, keys, [], [AggCall("first", (col,), value.dtype),
                              AggCall("count_star", (), dt.INT64)], ctx)
        return Call("scalar_subquery_value", (count, first), value.dtype)


def _strip_output(plan: LogicalPlan) -> LogicalPlan:
    """EXISTS ignores the select list, its order and its duplicates."""
    while isinstance(plan, (Project, Sort, Distinct)):
        if isinstance(plan, Project) and any(isinstance(x, SUBQUERY_TYPES)
                                             for e in plan.exprs for x in walk(e)):
            break
        plan = plan.input
    return plan


def _scalar_aggregate_shape(plan: LogicalPlan) -> tuple[list[Project], Aggregate]:
    projects = []
    node = plan
    while isinstance(node, Project):
        projects.append(node)
        node = node.input
    if not isinstance(node, Aggregate) or node.group_exprs:
        raise NotSupportedError(
            "a correlated scalar subquery must compute one aggregate without "
            "GROUP BY (e.g. SELECT avg(x) FROM t WHERE t.k = outer.k)")
    return projects, node
