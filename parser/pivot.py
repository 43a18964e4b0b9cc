"""PIVOT and UNPIVOT, rewritten into plain SELECTs before binding.

    PIVOT t ON a IN ('x', 'y') USING sum(b) GROUP BY g
      == SELECT g, sum(b) FILTER (WHERE a IS NOT DISTINCT FROM 'x') AS x,
                   sum(b) FILTER (WHERE a IS NOT DISTINCT FROM 'y') AS y
         FROM t GROUP BY g
    UNPIVOT t ON a, b INTO NAME k VALUE v
      == SELECT <other columns>, 'a' AS k, a AS v FROM t WHERE a IS NOT NULL
         UNION ALL SELECT <other columns>, 'b', b FROM t WHERE b IS NOT NULL

Both DuckDB's statement forms (`PIVOT t ON ...`) and the SQL-standard
clause forms (`FROM t PIVOT (sum(b) AS s FOR a IN (...))`) are taken. With
no GROUP BY, a PIVOT groups by every source column its ON and USING do not
name; output names follow DuckDB (`x`, `x_s` for an aliased aggregate,
`x_sum(b)` when there are several). Without an IN list the ON column's
distinct non-NULL values (sorted) are read first through the session's
query runner, as DuckDB does. Refused by name: several ON columns, UNPIVOT
into several value columns.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .query_binding import bind_query
from .scope import BindContext, identifier_name


MAX_PIVOT_VALUES = 10_000


def _source_names(ctx: BindContext, source: exp.Expression, outer) -> list[str]:
    probe = exp.select("*").from_(source.copy())
    return list(bind_query(ctx, probe, outer).output_names)


def _distinct_values(ctx, column, source, outer, node) -> list[exp.Expression]:
    """The sorted non-NULL values of `column` in `source`, as literals (run
    through the session's query runner: the output columns depend on them)."""
    if ctx.query_runner is None:
        raise ctx.not_supported("PIVOT without an IN list of values", node)
    probe = (exp.select(column.copy()).distinct().from_(source.copy())
             .where(exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null())))
             .order_by(exp.Ordered(this=exp.Literal.number(1))))
    table = ctx.query_runner(bind_query(ctx, probe, outer))
    kind = table.schema.field(0).type
    values = table.column(0).to_pylist()     # one per output column, not per row
    if len(values) > MAX_PIVOT_VALUES:
        raise ctx.error(f"PIVOT would make {len(values)} columns "
                        f"(at most {MAX_PIVOT_VALUES}); give an IN list", node)
    out = []
    for v in values:
        if isinstance(v, bool):
            lit: exp.Expression = exp.Boolean(this=v)
        elif isinstance(v, (int, float)):
            lit = exp.Literal.number(repr(v))
        else:
            lit = exp.Literal.string(str(v))
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
                lit = exp.Alias(this=exp.cast(lit, exp.DataType.build(_sql_type(kind))),
                                alias=exp.to_identifier(str(v)))
        out.append(lit)
    return out


def _sql_type(t) -> str:
    from .. import datatypes as dt
    return dt.sql_name(t)


def _value_text(v: exp.Expression) -> str:
    if isinstance(v, exp.Null):
        return "NULL"
    if isinstance(v, exp.Literal):
        return str(v.this)
    if isinstance(v, exp.Alias):
        return identifier_name(v.args["alias"])
    return v.sql("duckdb")


def _agg_text(agg: exp.Expression) -> str:
    if isinstance(agg, exp.Count) and isinstance(agg.this, exp.Star):
        return "count_star()"
    return agg.sql("duckdb").lower()


def _quoted(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _column_names(node: exp.Expression) -> set[str]:
    return {identifier_name(c.this).lower() for c in node.find_all(exp.Column)
            if not isinstance(c.this, exp.Star)}


def rewrite_pivot(ctx: BindContext, node: exp.Pivot, source: exp.Expression,
                  outer) -> exp.Query:
    """The SELECT (or UNION ALL) a PIVOT / UNPIVOT of `source` stands for."""
    if node.args.get("with_") or node.args.get("with"):
        raise ctx.not_supported("WITH inside PIVOT", node)
    if node.args.get("unpivot"):
        return _unpivot(ctx, node, source, outer)
    return _pivot(ctx, node, source, outer)


def _pivot(ctx, node: exp.Pivot, source, outer) -> exp.Query:
    standard = node.args.get("fields") is not None
    ons = node.args.get("fields") if standard else node.expressions
    aggs = node.expressions if standard else node.args.get("using")
    if not aggs:
        raise ctx.not_supported("PIVOT without USING aggregates", node)
    if len(ons or []) != 1:
        raise ctx.not_supported("PIVOT on other than one column", node)
    on = ons[0]
    if not isinstance(on, exp.In):
        on = exp.In(this=on.copy(), expressions=_distinct_values(ctx, on, source, outer, node))
    for key in ("default_on_null", "with", "include_nulls"):
        if node.args.get(key):
            raise ctx.not_supported(f"PIVOT {key.upper()}", node)
    column, values = on.this, list(on.expressions)
    if any(isinstance(v, (exp.Query, exp.Subquery)) for v in values) or not values:
        raise ctx.not_supported("PIVOT IN with a subquery or no values", on)
    group = node.args.get("group")
    if group is not None:
        keys = [g.copy() for g in group.expressions]
    else:
        used = _column_names(column) | set().union(*(_column_names(a) for a in aggs))
        keys = [exp.column(_quoted(n)) for n in _source_names(ctx, source, outer)
                if n.lower() not in used]
    named = standard and node.args.get("columns")
    select = exp.select(*keys) if keys else exp.select()
    k = 0
    for v in values:
        value = v.this if isinstance(v, exp.Alias) else v
        for agg in aggs:
            alias = None
            if isinstance(agg, exp.Alias):
                alias, agg = identifier_name(agg.args["alias"]), agg.this
            if named:
                name = identifier_name(node.args["columns"][k])
            elif alias is not None:
                name = f"{_value_text(v)}_{alias}"
            elif len(aggs) > 1:
                name = f"{_value_text(v)}_{_agg_text(agg)}"
            else:
                name = _value_text(v)
            k += 1
            cond = exp.NullSafeEQ(this=column.copy(), expression=value.copy())
            filtered = exp.Filter(this=agg.copy(), expression=exp.Where(this=cond))
            select = select.select(exp.alias_(filtered, _quoted(name)), copy=False)
    select = select.from_(source.copy(), copy=False)
    if keys:
        select = select.group_by(*[k_.copy() for k_ in keys], copy=False)
    return select


def _unpivot(ctx, node: exp.Pivot, source, outer) -> exp.Query:
    standard = node.args.get("fields") is not None
    if standard:
        [field] = node.args["fields"]
        name_col = identifier_name(field.this)
        value_cols = [identifier_name(e) for e in node.expressions]
        ons = list(field.expressions)
    else:
        ons = list(node.expressions)
        into = node.args.get("into")
        if into is not None:
            name_col = identifier_name(into.this.this if isinstance(into.this, exp.Column)
                                       else into.this)
            value_cols = [identifier_name(e.this if isinstance(e, exp.Column) else e)
                          for e in into.expressions]
        else:
            name_col, value_cols = "name", ["value"]
    if len(value_cols) != 1:
        raise ctx.not_supported("UNPIVOT into several value columns", node)
    if any(not isinstance(o, exp.Column) for o in ons) or not ons:
        raise ctx.not_supported("UNPIVOT ON other than a list of columns", node)
    include_nulls = bool(node.args.get("include_nulls"))
    on_names = [identifier_name(o.this) for o in ons]
    lower = {n.lower() for n in on_names}
    keep = [n for n in _source_names(ctx, source, outer) if n.lower() not in lower]
    parts = []
    value_first = bool(node.args.get("value_columns_first"))
    for col, name in zip(ons, on_names):
        sel = exp.select(*[exp.column(_quoted(n)) for n in keep])
        pair = [exp.alias_(exp.Literal.string(name), _quoted(name_col)),
                exp.alias_(col.copy(), _quoted(value_cols[0]))]
        sel = sel.select(*(pair[::-1] if value_first else pair), copy=False)
        sel = sel.from_(source.copy(), copy=False)
        if not include_nulls:
            sel = sel.where(exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null())),
                            copy=False)
        parts.append(sel)
    out = parts[0]
    for p in parts[1:]:
        out = exp.Union(this=out, expression=p, distinct=False)
    return out
