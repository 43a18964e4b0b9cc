"""Subqueries correlated with a column of a query two or more levels up:
evaluate the middle query once per distinct value of that column (its
"domain"), so the inner subquery reads a column of its own enclosing query.

    SELECT grp, (SELECT count(*) FROM nums
                 WHERE nums.k IN (SELECT k FROM dim d2 WHERE d2.grp = d1.grp))
    FROM (SELECT DISTINCT grp FROM dim) d1

The IN subquery reads d1.grp, which the middle query (over nums) does not
produce, so it cannot be joined to nums on it. Before the subqueries of the
outer node (here the Project over d1) are decorrelated, `join_outer_domains`
rewrites each middle node M holding such a subquery (a Filter or Project):

    M(input, pred[d1.grp])
 -> Project(M's columns)
      Filter(pred[g] AND g_key = coalesce(d1.grp, '') AND g_null = is_null(d1.grp))
        Join(inner, no condition)
          input
          D = Distinct(Project(d1's input: grp AS g, coalesce(grp, '') AS g_key,
                                            is_null(grp) AS g_null))

`g` replaces d1.grp in the expressions of M (inside their subquery plans
too), so the inner subquery is correlated with its enclosing query only and
is decorrelated as usual; the other outer columns M reads come from D too,
so that an equality of M with the outer query joins D to the input on it. The middle query is then correlated
with the outer one only by the equalities on the domain keys, which the
usual rules pull up (through Projects, inner Joins, the left side of semi,
anti and left joins, and Aggregates, whose group keys they join) and turn
into the outer join's condition. The keys make the equality null-safe: an
outer row whose value is NULL gets the middle query evaluated with NULL (a
NOT IN over an empty set is true, a count over no rows 0). The price: the
middle node's input is joined with D (crossed, unless M equates an outer
column with one of its own), so it is computed once per value.

D is computed from the outer node's input (a Filter's, filtered by its
conjuncts without subqueries), whose column names must not look produced
inside the subquery while it is decorrelated (the rules tell outer columns
by name); so a DomainRef leaf stands for D until the outer node's
subqueries are joined to it, then `materialize_domains` puts D in its place.

Where the correlation cannot be pulled up (under a LIMIT, a window, an outer
join's inner side, a set operation, an EXISTS over an aggregate without
GROUP BY) the usual rules raise NotSupportedError; a column of a type
without a zero value to coalesce with (a list, a struct) raises here.

Three levels: the outer node's rewrite substitutes the domain column for the
outer column all the way down, so the inner-most subquery then reads a
column two levels up from the middle node, which the middle node's own
decorrelation rewrites the same way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ...errors import NotSupportedError
from ... import datatypes as dt
from ..expr import Column, Expr, InSubquery, SUBQUERY_TYPES, columns_of, conjoin, conjuncts
from ..logical import Distinct, Field, Filter, Join, LogicalPlan, Project
from ..tree import expressions, map_expressions, transform_up, walk
from .util import eq, expr_columns, null_safe_keys


@dataclass(frozen=True, slots=True)
class DomainRef(LogicalPlan):
    """Stands for the domain `plan` (not a child) until the subqueries of the
    node it was made for are decorrelated: the domain is computed from that
    node's input, whose column names must not look produced inside the
    subquery meanwhile (the rules tell outer columns by those names)."""
    fields: tuple[Field, ...]
    plan: Any

    @property
    def schema(self):
        return self.fields


def join_outer_domains(node: LogicalPlan, ctx) -> tuple[LogicalPlan, list[DomainRef]]:
    """`node` (a Filter or Project whose subqueries are not yet decorrelated)
    with a domain joined into every middle node of its subqueries that holds
    a subquery reading one of node.input's columns; and the DomainRefs made,
    for `materialize_domains` once those subqueries are decorrelated."""
    outer = {f.name: f for f in node.input.schema}
    source = _domain_source(node)
    made: list[DomainRef] = []

    def fix(e):
        if isinstance(e, SUBQUERY_TYPES):
            plan = transform_up(e.plan, lambda m: _join_domain_at(m, outer, source, made,
                                                                  ctx))[0]
            return e if plan is e.plan else dataclasses.replace(e, plan=plan)
        return e
    return map_expressions(node, lambda e: transform_up(e, fix)[0]), made


def materialize_domains(plan: LogicalPlan, refs: list[DomainRef]) -> LogicalPlan:
    """Put each domain of `refs` in place of its DomainRef."""
    if not refs:
        return plan
    mine = {r.fields[0].name for r in refs}     # a fresh name: one per domain

    def fn(n):
        return n.plan if isinstance(n, DomainRef) and n.fields[0].name in mine else n
    return transform_up(plan, fn)[0]


def _domain_source(node: LogicalPlan) -> LogicalPlan:
    """The outer rows whose values make the domain: for a Filter, its input
    already filtered by its conjuncts that read neither a subquery nor a
    column from further out (fewer values)."""
    if isinstance(node, Filter):
        local = {f.name for f in node.input.schema}
        plain = [c for c in conjuncts(node.predicate)
                 if not _subqueries(c) and columns_of(c) <= local]
        if plain:
            return Filter(node.input, conjoin(plain))
    return node.input


# --- which expressions need a domain --------------------------------------------

def _subqueries(e: Expr) -> list:
    return [x for x in walk(e) if isinstance(x, SUBQUERY_TYPES)]


def _deep_nodes(plan: LogicalPlan):
    """Every node of `plan` and of the subquery plans inside it, at any depth."""
    for n in walk(plan):
        yield n
        for e in expressions(n):
            for s in _subqueries(e):
                yield from _deep_nodes(s.plan)


def deep_free_names(plan: LogicalPlan) -> set[str]:
    """Columns `plan` or a subquery at any depth inside it reads but none of
    them produces: the columns it needs from the queries around it."""
    read: set[str] = set()
    made: set[str] = set()
    for n in _deep_nodes(plan):
        made.update(f.name for f in n.schema)
        for e in expressions(n):
            read |= expr_columns(e)
    return read - made


def _needs_domain(e: Expr, outer: dict) -> bool:
    """Does a subquery in expression `e` of a middle node read an outer
    column (or is it an IN whose left side does)?"""
    for s in _subqueries(e):
        if deep_free_names(s.plan) & outer.keys():
            return True
        if isinstance(s, InSubquery) and columns_of(s.arg) & outer.keys():
            return True
    return False


def _outer_names_read(e: Expr, outer: dict) -> set[str]:
    """The outer columns `e` reads, itself or in a subquery at any depth."""
    names = columns_of(e)
    for s in _subqueries(e):
        names |= deep_free_names(s.plan)
    return names & outer.keys()


# --- the rewrite ---------------------------------------------------------------------

def _join_domain_at(m: LogicalPlan, outer: dict, source: LogicalPlan, made: list,
                    ctx) -> LogicalPlan:
    if isinstance(m, Filter):
        exprs = conjuncts(m.predicate)
    elif isinstance(m, Project):
        exprs = list(m.exprs)
    else:
        return m        # subqueries elsewhere are refused by decorrelate_subqueries
    if not any(_needs_domain(e, outer) for e in exprs):
        return m
    # every outer column the node reads comes from the domain: an equality
    # with the outer query (o_custkey = c.c_custkey) then joins the domain
    # to the input on it instead of crossing them
    needed = [_outer_names_read(e, outer) for e in exprs]
    names = sorted(set().union(*needed))
    domain, mapping, corr = _domain(names, outer, source, ctx)
    made.append(domain)
    exprs = [substitute_deep(e, mapping) if n else e for e, n in zip(exprs, needed)]
    joined = Join(m.input, domain, "inner", None)
    if isinstance(m, Filter):
        inner: LogicalPlan = Filter(joined, conjoin(exprs + corr))
    else:
        extra = [f for f in domain.schema]
        inner = Project(joined, tuple(exprs) + tuple(f.column() for f in extra),
                        m.names + tuple(f.name for f in extra))
        inner = Filter(inner, conjoin(corr))
    fields = {f.name: f for f in inner.schema}
    return Project(inner, tuple(fields[f.name].column() for f in m.schema), m.names)


def _domain(names: list[str], outer: dict, source: LogicalPlan, ctx):
    """(D, {outer name: domain column}, correlation conjuncts) for the outer
    columns `names`: D holds each distinct combination of their values, each
    column with its null-safe join keys."""
    exprs: list[Expr] = []
    dnames: list[str] = []
    mapping: dict[str, Expr] = {}
    corr: list[Expr] = []

    def add(e: Expr, base: str) -> Column:
        exprs.append(e)
        dnames.append(ctx.fresh_name(base))
        return Column(dnames[-1], e.dtype, True)

    for name in names:
        f: Field = outer[name]
        col = f.column()
        mapping[name] = add(col, name)
        keys = null_safe_keys(col)
        if keys is None:
            raise NotSupportedError(
                "a subquery correlated two or more levels up with a column of type "
                f"{dt.sql_name(f.dtype)} is not supported")
        for key in keys:
            corr.append(eq(key, add(key, "domain_key")))
    plan = Distinct(Project(source, tuple(exprs), tuple(dnames)))
    return DomainRef(plan.schema, plan), mapping, corr


def substitute_deep(e: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace the columns named in `mapping` in `e` and in the plans of the
    subqueries inside it, at any depth."""
    def fn(x):
        if isinstance(x, Column) and x.name in mapping:
            return mapping[x.name]
        if isinstance(x, SUBQUERY_TYPES):
            plan = transform_up(x.plan, lambda n: map_expressions(
                n, lambda y: substitute_deep(y, mapping)))[0]
            return x if plan is x.plan else dataclasses.replace(x, plan=plan)
        return x
    return transform_up(e, fn)[0]
