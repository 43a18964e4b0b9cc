"""`LIMIT p%` and `FETCH FIRST n ROWS WITH TIES`, as window functions.

    SELECT ... ORDER BY k LIMIT 20% OFFSET o
 == rows whose row_number() OVER (ORDER BY k) is in (o, o + floor(20 * count(*) OVER () / 100)]

    SELECT ... ORDER BY k OFFSET o ROWS FETCH FIRST n ROWS WITH TIES
 == rows with row_number() > o and rank() OVER (ORDER BY k) <= o + n

(the n-th row after the offset and every row that ties with it on the ORDER
BY keys, as in PostgreSQL; WITH TIES needs an ORDER BY). The percentage is
of all the rows, as in DuckDB, and must be between 0 and 100. The plan is
Sort(Project(Filter(Window(input)))) so the answer keeps the ORDER BY.
"""

from __future__ import annotations

from decimal import Decimal

from sqlglot import exp

from .. import datatypes as dt
from ..planner import expr as ex
from ..planner import functions as F
from ..planner.logical import Filter, Project, Sort, Window
from .bind_expr import ExprBinder
from .scope import Scope


def percent_or_ties(ctx, plan, limit_node: exp.Expression, offset: int, percent: bool,
                    ties: bool):
    value_node = limit_node.args.get("count") if isinstance(limit_node, exp.Fetch) \
        else limit_node.args.get("expression")
    what = "LIMIT ... PERCENT" if percent else "FETCH ... WITH TIES"
    if value_node is None:
        raise ctx.error(f"{what} needs a number", limit_node)
    value = _constant(ctx, value_node, what)
    keys = plan.keys if isinstance(plan, Sort) else ()
    source = plan.input if isinstance(plan, Sort) else plan
    if ties and not keys:
        raise ctx.error("FETCH ... WITH TIES needs an ORDER BY", limit_node)
    if percent and not 0 <= value <= 100:
        raise ctx.error(f"LIMIT percentage must be between 0% and 100%, not {value}%",
                        value_node)
    if not percent and value != int(value):
        raise ctx.error(f"{what} must be a whole number of rows", value_node)
    calls = [F.resolve_window("row_number", [], (), keys, None)]
    calls.append(F.resolve_window("count_star" if percent else "rank", [], (),
                                  () if percent else keys, None))
    names = (ctx.fresh("row_number"), ctx.fresh("count" if percent else "rank"))
    window = Window(source, tuple(calls), names)
    rn, second = (ex.Column(n, dt.INT64) for n in names)
    conds = []
    if offset:
        conds.append(_call("gt", rn, ex.Literal(offset, dt.INT64)))
    if percent:
        # (rn - offset) * 100 <= p * count, i.e. rn - offset <= floor(p% of count)
        lhs = _call("mul", _call("sub", rn, ex.Literal(offset, dt.INT64)),
                    ex.Literal(100, dt.INT64))
        rhs = _call("mul", ex.Literal(float(value), dt.FLOAT64), second)
        conds.append(_call("le", lhs, rhs))
    else:
        conds.append(_call("le", second, ex.Literal(offset + int(value), dt.INT64)))
    pred = conds[0]
    for c in conds[1:]:
        pred = _call("and", pred, c)
    kept = Project(Filter(window, pred), tuple(f.column() for f in source.schema),
                   tuple(f.name for f in source.schema))
    return Sort(kept, keys) if keys else kept


def _call(name: str, *args: ex.Expr) -> ex.Expr:
    return F.resolve_scalar(name, list(args))


def _constant(ctx, node, what: str):
    bound = ExprBinder(ctx, Scope(), clause=what).bind(node)
    if isinstance(bound, ex.Cast) and isinstance(bound.arg, ex.Literal):
        bound = bound.arg
    ok = isinstance(bound, ex.Literal) and bound.value is not None and (
        dt.is_integer(bound.dtype) or isinstance(bound.value, (float, Decimal)))
    if not ok:
        raise ctx.error(f"{what} must be a constant number", node)
    if bound.value < 0:
        raise ctx.error(f"{what} must not be negative", node)
    return bound.value
