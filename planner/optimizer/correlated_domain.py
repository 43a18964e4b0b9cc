"""A correlated scalar aggregate whose correlation is not a set of equalities,
computed once per distinct value of the outer columns it reads (the "domain"):

    SELECT id, (SELECT count(*) FROM nums n2 WHERE n2.k = n1.k AND n2.i > n1.i)
    FROM nums n1
 -> Project(id, coalesce(cnt, 0))
      Join(left, n1.k = d.k AND n1.i = d.i)
        Scan(n1)
        Aggregate(groups=[d.k, d.i], count(*) AS cnt)
          Join(inner, n2.k = d.k AND n2.i > d.i)
            Distinct(Project(Scan(n1), k AS d.k, i AS d.i))
            Scan(n2)

The outer side joins the per-domain aggregates on equalities. An outer
column whose NULL makes the correlation never true (`n1.i` above) is its
own join key: a NULL outer value matches no aggregate, as it matches no
row. Any other column (read under an OR, a coalesce, or the domain keys of
a query two levels up, outer_domain.py) joins on its null-safe keys
(util.null_safe_keys), so a NULL outer value finds the aggregate computed
for NULL. Used by decorrelate_subqueries; the expressions above the
aggregate are computed above the join, so a count over no rows is 0.
"""

from __future__ import annotations

from ..expr import Call, Column, Expr, columns_of, conjoin
from ..logical import Aggregate, Distinct, Join, LogicalPlan, Project
from .pull_correlated_conjuncts import pull_correlated_conjuncts
from .util import STRICT_FUNCTIONS, coalesce, eq, names_of, null_safe_keys, substitute

def _rejects_null(e: Expr, name: str) -> bool:
    """Is `e` not TRUE whenever column `name` is NULL?"""
    if isinstance(e, Column):
        return e.name == name
    if isinstance(e, Call):
        if e.fn == "and":
            return any(_rejects_null(a, name) for a in e.args)
        if e.fn == "or":
            return all(_rejects_null(a, name) for a in e.args)
        if e.fn in STRICT_FUNCTIONS:
            return any(_rejects_null(a, name) for a in e.args)
    from ..expr import Cast
    if isinstance(e, Cast):
        return _rejects_null(e.arg, name)
    return False


def join_scalar_over_domain(outer: LogicalPlan, sub: LogicalPlan, projects: list,
                            agg: Aggregate, local: set[str], ctx):
    """(new outer plan, the subquery's value as an expression over it), or
    None when the rewrite does not apply."""
    if ctx is None:
        return None
    inp, preds = pull_correlated_conjuncts(agg.input, local, "domain", ctx)
    if not preds:
        return None
    cond = conjoin(preds)
    outer_cols = sorted(columns_of(cond) - names_of(inp))
    fields = {f.name: f for f in outer.schema}
    if not outer_cols or any(c not in fields for c in outer_cols):
        return None                      # correlated two levels up
    dnames = [ctx.fresh_name("domain") for _ in outer_cols]
    mapping = {c: Column(d, fields[c].dtype, True) for c, d in zip(outer_cols, dnames)}
    # the join keys: a column the correlation rejects NULLs of is its own
    # key; any other gets null-safe keys, so a NULL finds its aggregate
    keys: list[Expr] = []
    for c in outer_cols:
        col = fields[c].column()
        if _rejects_null(cond, c):
            keys.append(col)
            continue
        more = null_safe_keys(col)
        if more is None:
            return None
        keys.extend(more)
    knames = [ctx.fresh_name("domain_key") for _ in keys]
    domain = Distinct(Project(outer, tuple(fields[c].column() for c in outer_cols) + tuple(keys),
                              tuple(dnames + knames)))
    joined = Join(domain, inp, "inner", substitute(cond, mapping))
    gnames = tuple(ctx.fresh_name("domain_key") for _ in keys)
    grouped = Aggregate(joined, tuple(Column(k, e.dtype, True) for k, e in zip(knames, keys)),
                        gnames, agg.aggs, agg.agg_names)
    on = conjoin([eq(k, Column(g, k.dtype, True)) for k, g in zip(keys, gnames)])
    value = sub.schema[0]
    result: Expr = Column(value.name, value.dtype, True)
    for p in projects:
        result = substitute(result, dict(zip(p.names, p.exprs)))
    result = substitute(result, {n: coalesce(Column(n, a.dtype, True), 0)
                                 for n, a in zip(agg.agg_names, agg.aggs)
                                 if a.fn in ("count", "count_star")})
    if result.dtype != value.dtype:
        from ..expr import Cast
        result = Cast(result, value.dtype)
    return Join(outer, grouped, "left", on), result
