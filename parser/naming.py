"""The column name a user sees for an unnamed SELECT expression, after
DuckDB's style: `count_star()`, `sum(l_quantity)`, `(a + b)`,
`CAST(a AS BIGINT)`, `count(DISTINCT a)`; a column keeps its own name.
Anything not listed falls back to sqlglot's DuckDB SQL for the node.
"""

from __future__ import annotations

from sqlglot import exp

from .sql_functions import function_call

_BINARY = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.IntDiv: "//",
    exp.Mod: "%", exp.EQ: "=", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=",
    exp.GT: ">", exp.GTE: ">=", exp.And: "AND", exp.Or: "OR", exp.DPipe: "||",
    exp.Like: "~~", exp.ILike: "~~*",
}


def display_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Alias):
        return node.alias
    if isinstance(node, exp.Column):
        ident = node.this
        if isinstance(ident, exp.Identifier):
            return ident.this
        return node.name
    if isinstance(node, exp.Paren):
        return display_name(node.this)
    if isinstance(node, exp.Literal):
        return node.sql("duckdb")
    for cls, op in _BINARY.items():
        if type(node) is cls:
            return f"({display_name(node.this)} {op} {display_name(node.expression)})"
    if isinstance(node, exp.Neg):
        return f"(-({display_name(node.this)}))"
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        return f"({display_name(node.this)} IS NULL)"
    if isinstance(node, exp.Not) and isinstance(node.this, exp.Is) \
            and isinstance(node.this.expression, exp.Null):
        return f"({display_name(node.this.this)} IS NOT NULL)"
    if isinstance(node, exp.Between):
        return (f"({display_name(node.this)} BETWEEN {display_name(node.args['low'])} "
                f"AND {display_name(node.args['high'])})")
    if isinstance(node, exp.In) and node.expressions:
        values = ", ".join(display_name(v) for v in node.expressions)
        return f"({display_name(node.this)} IN ({values}))"
    if isinstance(node, exp.Not):
        return f"(NOT {display_name(node.this)})"
    if isinstance(node, (exp.Cast, exp.TryCast)):
        kw = "TRY_CAST" if isinstance(node, exp.TryCast) else "CAST"
        return f"{kw}({display_name(node.this)} AS {node.to.sql('duckdb')})"
    if isinstance(node, exp.Count):
        arg = node.this
        if arg is None or isinstance(arg, exp.Star):
            return "count_star()"
        if isinstance(arg, exp.Distinct):
            inner = ", ".join(display_name(e) for e in arg.expressions)
            return f"count(DISTINCT {inner})"
        return f"count({display_name(arg)})"
    if isinstance(node, exp.Filter):
        where = node.expression.this if isinstance(node.expression, exp.Where) else node.expression
        return f"{display_name(node.this)} FILTER (WHERE {display_name(where)})"
    if isinstance(node, exp.AggFunc) and isinstance(node.this, exp.Distinct):
        name, _ = function_call(node)
        inner = ", ".join(display_name(e) for e in node.this.expressions)
        return f"{name}(DISTINCT {inner})"
    if isinstance(node, exp.Window):
        return _window_name(node)
    if isinstance(node, exp.Func) and not isinstance(node, (exp.Case, exp.Extract, exp.If)):
        try:
            name, args = function_call(node)
        except Exception:  # noqa: BLE001 - naming must never fail
            return node.sql("duckdb")
        return f"{name}({', '.join(display_name(a) for a in args)})"
    return node.sql("duckdb")


def _window_name(node: exp.Window) -> str:
    func = node.this
    if isinstance(func, exp.Count) and (func.this is None or isinstance(func.this, exp.Star)):
        head = "count()"
    else:
        head = display_name(func)
    parts = []
    partition = node.args.get("partition_by")
    if partition:
        parts.append("PARTITION BY " + ", ".join(display_name(p) for p in partition))
    order = node.args.get("order")
    if order is not None:
        keys = []
        for o in order.expressions:
            text = display_name(o.this if isinstance(o, exp.Ordered) else o)
            if isinstance(o, exp.Ordered) and o.args.get("desc"):
                text += " DESC"
            keys.append(text)
        parts.append("ORDER BY " + ", ".join(keys))
    spec = node.args.get("spec")
    if spec is not None:
        parts.append(spec.sql("duckdb").upper())
    return f"{head} OVER ({' '.join(parts)})"
