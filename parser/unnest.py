"""UNNEST of lists: in a select list (`SELECT unnest(l), x FROM t`) and in
FROM (`FROM unnest([1, 2]) AS u(v)`, or laterally after other FROM items:
`FROM t, unnest(t.l) AS u(v)`), each becomes a logical `Unnest` node: the
input rows repeated once per list element, the element a new column.

DuckDB zips several select-list UNNESTs of one SELECT; Quiver takes one and
refuses more (NotSupportedError), as it does WITH OFFSET / WITH ORDINALITY.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .. import datatypes as dt
from ..planner import expr as ex
from ..planner import tree
from ..planner.logical import EMPTY_ROW, Project, Unnest
from .literals import coerce
from .scope import BindContext, ColumnRef, Relation, Scope, identifier_name


def extract_unnests(ctx: BindContext, exprs: list[ex.Expr], plan, node):
    """Select-list expressions with their UNNEST call replaced by a column of
    an Unnest node placed on `plan`; returns (plan, exprs)."""
    calls: list[ex.UnnestCall] = []
    for e in exprs:
        for x in tree.walk(e):
            if isinstance(x, ex.UnnestCall) and x not in calls:
                calls.append(x)
    if not calls:
        return plan, exprs
    if len(calls) > 1:
        raise ctx.not_supported("more than one UNNEST in a SELECT list", node)
    call = calls[0]
    name = ctx.fresh("unnest")
    column = ex.Column(name, call.dtype)
    out = [tree.transform_up(e, lambda x: column if x == call else x)[0] for e in exprs]
    return Unnest(plan, call.arg, name), out


def bind_unnest_item(ctx: BindContext, node: exp.Unnest, scope: Scope | None, left=None):
    """A FROM-clause UNNEST: over `left` (a lateral one, its list expression
    bound in `scope`), or over one empty row. Returns (plan, relation)."""
    from .bind_expr import ExprBinder
    if node.args.get("offset"):
        raise ctx.not_supported("UNNEST WITH OFFSET", node)
    if node.args.get("explode_array"):
        raise ctx.not_supported("UNNEST of an array of structs into columns", node)
    if len(node.expressions) != 1:
        raise ctx.not_supported("UNNEST of several lists", node)
    binder = ExprBinder(ctx, scope if scope is not None else Scope(), clause="FROM")
    arg = binder.bind(node.expressions[0])
    if pa.types.is_null(arg.dtype):
        arg = coerce(arg, pa.list_(dt.INT32))
    if not pa.types.is_list(arg.dtype):
        raise ctx.error(f"UNNEST needs a list, not {dt.sql_name(arg.dtype)}", node)
    alias = node.args.get("alias")
    table = identifier_name(alias.this) if alias is not None and alias.this else "unnest"
    columns = [identifier_name(c) for c in alias.columns] if alias is not None else []
    if len(columns) > 1:
        raise ctx.error(f"UNNEST gives one column, but {len(columns)} names were given", node)
    user = columns[0] if columns else (table if alias is not None and alias.this else "unnest")
    name = ctx.fresh(user)
    plan = Unnest(left if left is not None else EMPTY_ROW, arg, name)
    field = plan.schema[-1]
    if left is None:
        plan = Project(plan, (field.column(),), (name,))
    return plan, Relation(table, [ColumnRef(user, field)])
