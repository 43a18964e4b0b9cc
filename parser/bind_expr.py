"""sqlglot expression -> bound `planner.expr` expression.

`ExprBinder(ctx, scope, ...)` resolves column names through the Scope
(outward for correlated subqueries), types every call through
planner/functions.py (which inserts coercion casts), folds typed literals
(`DATE '1998-12-01'`, `2.50`, `INTERVAL '3' MONTH`, `?` parameters), turns
BETWEEN into `ge AND le` and a simple CASE into the searched form, and binds
subqueries (scalar, EXISTS, IN) to plans kept inside the expression (through
query_binding.py, which bind_select.py fills in).

Aggregates and window functions are bound in place (AggCall / WindowCall
inside the tree); bind_select.py extracts them into Aggregate and Window
nodes. This module does not build plan nodes.
"""

from __future__ import annotations

from typing import Callable

import pyarrow as pa
from sqlglot import exp

from .. import datatypes as dt
from ..planner import expr as ex
from ..planner import functions as F
from .literals import (TypeNotSupported, arrow_type, coerce, convert_literal,
                       interval_value, number_literal)
from .query_binding import bind_query
from .scope import BindContext, Scope, identifier_name, resolve_column, unknown_column
from .sql_functions import function_call, unit_name

_BINARY = {
    exp.Add: "add", exp.Sub: "sub", exp.Mul: "mul", exp.Div: "div",
    exp.IntDiv: "intdiv", exp.Mod: "mod", exp.EQ: "eq", exp.NEQ: "ne",
    exp.LT: "lt", exp.LTE: "le", exp.GT: "gt", exp.GTE: "ge",
    exp.NullSafeEQ: "is_not_distinct_from", exp.NullSafeNEQ: "is_distinct_from",
    exp.And: "and", exp.Or: "or", exp.DPipe: "concat", exp.Pow: "power",
    exp.BitwiseAnd: "bitwise_and", exp.BitwiseOr: "bitwise_or",
    exp.BitwiseXor: "bitwise_xor", exp.BitwiseLeftShift: "shift_left",
    exp.BitwiseRightShift: "shift_right",
}


class ExprBinder:
    """Binds expressions of one clause against one scope.

    aggregates: None if aggregates are not allowed here, else True.
    clause: the clause name used in error messages ("WHERE", ...).
    alias_lookup: a fallback for names not found in the scope (select aliases
    in HAVING / ORDER BY / GROUP BY)."""

    def __init__(self, ctx: BindContext, scope: Scope, *, aggregates: bool = False,
                 windows: bool = False, clause: str = "WHERE",
                 alias_lookup: Callable[[str], ex.Expr | None] | None = None):
        self.ctx = ctx
        self.scope = scope
        self.aggregates = aggregates
        self.windows = windows
        self.clause = clause
        self.alias_lookup = alias_lookup
        self._in_agg = False
        self._in_window = False

    # ------------------------------------------------------------------
    def bind(self, node: exp.Expression) -> ex.Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is not None:
            return method(node)
        op = _BINARY.get(type(node))
        if op is not None:
            if isinstance(node.expression, (exp.Any, exp.All)):
                return self._quantified(op, node)
            return self.call(op, [self.bind(node.this), self.bind(node.expression)], node)
        if isinstance(node, exp.Func):
            return self._function(node)
        raise self.ctx.not_supported(f"expression {type(node).__name__} "
                                     f"('{_snippet(node)}')", node)

    def call(self, name: str, args: list[ex.Expr], node: exp.Expression) -> ex.Expr:
        try:
            out = F.resolve_scalar(name, args)
        except F.FunctionError as e:
            raise self.ctx.error(str(e), node) from None
        return fold_literal_casts(out)

    # --- leaves ----------------------------------------------------------
    def _Paren(self, node):
        return self.bind(node.this)

    def _Literal(self, node):
        if node.is_string:
            return ex.Literal(node.this, dt.STRING)
        return number_literal(node.this)

    def _Boolean(self, node):
        return ex.Literal(bool(node.this), dt.BOOL)

    def _Null(self, node):
        return ex.Literal(None, dt.NULL)

    def _Placeholder(self, node):
        key = node.this
        if key is None or not str(key).isdigit():
            raise self.ctx.not_supported(f"parameter '{node.sql()}'", node)
        index = int(key) - 1
        if not 0 <= index < len(self.ctx.params):
            raise self.ctx.error(f"no value for parameter {index + 1}: "
                                 f"{len(self.ctx.params)} parameters were given", node)
        return self.ctx.params[index]

    _Parameter = _Placeholder

    def _Column(self, node: exp.Column):
        if isinstance(node.this, exp.Star):
            raise self.ctx.error("'*' is not allowed here", node)
        column = identifier_name(node.this)
        table = identifier_name(node.args.get("table"))
        found = resolve_column(self.ctx, self.scope, table, column, node)
        if found is not None:
            self.ctx.column_sites.setdefault(found.name, node)
            return found
        if table is None and self.alias_lookup is not None:
            aliased = self.alias_lookup(column)
            if aliased is not None:
                return aliased
        raise unknown_column(self.ctx, self.scope, table, column, node)

    def _Star(self, node):
        raise self.ctx.error("'*' is not allowed here", node)

    # --- operators -------------------------------------------------------
    def _Neg(self, node):
        inner = node.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return number_literal("-" + inner.this)
        return self.call("neg", [self.bind(inner)], node)

    def _BitwiseNot(self, node):
        return self.call("bitwise_not", [self.bind(node.this)], node)

    def _Not(self, node):
        inner = node.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, (exp.In, exp.Exists, exp.Is, exp.Like, exp.ILike)):
            return self._negatable(inner, negate=True)
        return self.call("not", [self.bind(inner)], node)

    def _In(self, node):
        return self._negatable(node, negate=False)

    def _Exists(self, node):
        return self._negatable(node, negate=False)

    def _Is(self, node):
        return self._negatable(node, negate=False)

    def _Like(self, node):
        return self._negatable(node, negate=False)

    _ILike = _Like

    def _negatable(self, node, negate: bool) -> ex.Expr:
        if isinstance(node, exp.In):
            return self._in(node, negate)
        if isinstance(node, exp.Exists):
            plan = self.subquery(node.this, node)
            return ex.Exists(plan.plan, negated=negate)
        if isinstance(node, exp.Is):
            arg = self.bind(node.this)
            target = node.expression
            if isinstance(target, exp.Null):
                return self.call("is_not_null" if negate else "is_null", [arg], node)
            if isinstance(target, exp.Boolean):
                fn = "is_distinct_from" if negate else "is_not_distinct_from"
                return self.call(fn, [arg, ex.Literal(bool(target.this), dt.BOOL)], node)
            raise self.ctx.not_supported(f"IS {target.sql()}", node)
        if isinstance(node, (exp.Like, exp.ILike)):
            negate = negate != bool(node.args.get("negate"))
            out = self._like(node, None)
            return self.call("not", [out], node) if negate else out
        raise AssertionError(node)

    def _Escape(self, node):
        like = node.this
        if not isinstance(like, (exp.Like, exp.ILike)):
            raise self.ctx.not_supported("ESCAPE outside LIKE", node)
        out = self._like(like, node.expression)
        return self.call("not", [out], node) if like.args.get("negate") else out

    def _like(self, node, escape) -> ex.Expr:
        fn = "ilike" if isinstance(node, exp.ILike) else "like"
        args = [self.bind(node.this), self.bind(node.expression)]
        if escape is not None:
            args.append(self.bind(escape))
        return self.call(fn, args, node)

    def _quantified(self, op: str, node) -> ex.Expr:
        """`x = ANY (subquery)` is IN, `x <> ALL (subquery)` is NOT IN."""
        quant = node.expression
        is_any = isinstance(quant, exp.Any)
        if op in ("lt", "le", "gt", "ge") and isinstance(quant.this, (exp.Subquery, exp.Query)):
            return self.bind(_ordered_quantified(op, is_any, node.this, quant.this))
        if (op, is_any) not in (("eq", True), ("ne", False)):
            kind = "ANY" if is_any else "ALL"
            raise self.ctx.not_supported(f"comparison {kind} other than = ANY / <> ALL "
                                         "and <, <=, >, >= ANY / ALL", node)
        query = quant.this
        if not isinstance(query, (exp.Subquery, exp.Query)):
            raise self.ctx.not_supported("ANY/ALL over a list", node)
        rewritten = exp.In(this=node.this, query=query if isinstance(query, exp.Subquery)
                           else exp.Subquery(this=query))
        return self._in(rewritten, negate=not is_any)

    def _Between(self, node):
        arg = self.bind(node.this)
        low = self.call("ge", [arg, self.bind(node.args["low"])], node)
        high = self.call("le", [arg, self.bind(node.args["high"])], node)
        return self.call("and", [low, high], node)

    def _in(self, node: exp.In, negate: bool) -> ex.Expr:
        arg = self.bind(node.this)
        query = node.args.get("query")
        if query is not None:
            bound = self.subquery(query, node)
            if len(bound.plan.schema) != 1:
                raise self.ctx.error("the subquery of IN must return one column", query)
            col = bound.plan.schema[0]
            target = dt.value_supertype(arg.dtype, col.dtype)
            if target is None:
                raise self.ctx.error(f"cannot compare {dt.sql_name(arg.dtype)} with "
                                     f"{dt.sql_name(col.dtype)} in IN", node)
            plan = bound.plan
            if col.dtype != target:
                from ..planner.logical import Project
                name = self.ctx.fresh(col.name.split("#")[0])
                plan = Project(plan, (ex.Cast(col.column(), target),), (name,))
            return ex.InSubquery(coerce(arg, target), plan, negated=negate)
        if node.args.get("unnest") is not None or node.args.get("field") is not None:
            raise self.ctx.not_supported("IN UNNEST", node)
        values = [self.bind(v) for v in node.expressions]
        target = arg.dtype
        for v in values:
            t = dt.common_supertype(target, v.dtype)
            if t is None:
                raise self.ctx.error(f"cannot compare {dt.sql_name(arg.dtype)} with "
                                     f"{dt.sql_name(v.dtype)} in IN list", node)
            target = t
        if pa.types.is_null(target):
            target = dt.INT32
        return ex.InList(coerce(arg, target), tuple(coerce(v, target) for v in values),
                         negated=negate)

    # --- CASE, CAST, EXTRACT, INTERVAL -----------------------------------
    def _Case(self, node):
        operand = node.this
        op = self.bind(operand) if operand is not None else None
        conds, results = [], []
        for branch in node.args.get("ifs") or []:
            if op is not None:
                conds.append(self.call("eq", [op, self.bind(branch.this)], branch))
            else:
                conds.append(self._boolean(self.bind(branch.this), branch.this, "CASE WHEN"))
            results.append(self.bind(branch.args["true"]))
        default = node.args.get("default")
        default_b = self.bind(default) if default is not None else None
        return self._case(conds, results, default_b, node)

    def _If(self, node):
        cond = self._boolean(self.bind(node.this), node.this, "IF")
        default = node.args.get("false")
        return self._case([cond], [self.bind(node.args["true"])],
                          self.bind(default) if default is not None else None, node)

    def _case(self, conds, results, default, node) -> ex.Expr:
        target = dt.NULL
        for r in results + ([default] if default is not None else []):
            t = dt.value_supertype(target, r.dtype)
            if t is None:
                raise self.ctx.error(f"CASE results have incompatible types "
                                     f"{dt.sql_name(target)} and {dt.sql_name(r.dtype)}", node)
            target = t
        if pa.types.is_null(target):
            target = dt.INT32
        return ex.Case(tuple(conds), tuple(coerce(r, target) for r in results),
                       coerce(default, target) if default is not None else None, target)

    def _boolean(self, e: ex.Expr, node, where: str) -> ex.Expr:
        if e.dtype == dt.BOOL:
            return e
        if pa.types.is_null(e.dtype):
            return ex.Literal(None, dt.BOOL)
        raise self.ctx.error(f"{where} condition must be BOOLEAN, not {dt.sql_name(e.dtype)}", node)

    def _Cast(self, node):
        return self._cast(node, safe=False)

    def _TryCast(self, node):
        return self._cast(node, safe=True)

    def _cast(self, node, safe: bool) -> ex.Expr:
        try:
            target = arrow_type(node.to)
        except TypeNotSupported as e:
            raise self.ctx.error(f"unknown type: {e}", node.to) from None
        arg = self.bind(node.this)
        if not F.cast_allowed(arg.dtype, target):
            raise self.ctx.error(f"cannot cast {dt.sql_name(arg.dtype)} to "
                                 f"{dt.sql_name(target)}", node)
        if isinstance(arg, ex.Literal) and not isinstance(node.this, exp.Placeholder):
            folded = convert_literal(arg, target)
            if folded is not None:
                return folded
        if arg.dtype == target:
            return arg
        return ex.Cast(arg, target, safe=safe)

    def _Extract(self, node):
        part = unit_name(node.this)
        return self.call("extract", [ex.Literal(part, dt.STRING), self.bind(node.expression)],
                         node)

    def _Interval(self, node):
        amount, unit = node.this, node.args.get("unit")
        if not isinstance(amount, exp.Literal):
            raise self.ctx.not_supported("INTERVAL with a non-constant amount", node)
        unit_text = None
        if unit is not None:
            unit_text = unit.name if not isinstance(unit, exp.IntervalSpan) else None
            if unit_text is None:
                raise self.ctx.not_supported(f"INTERVAL {unit.sql()}", node)
        try:
            value = interval_value(amount.this, unit_text)
        except ValueError as e:
            raise self.ctx.error(str(e), node) from None
        return ex.Literal(value, dt.INTERVAL)

    # --- subqueries ------------------------------------------------------
    def subquery(self, node, where):
        query = node.this if isinstance(node, exp.Subquery) and not node.alias else node
        return bind_query(self.ctx, query, self.scope)

    def _Subquery(self, node):
        bound = self.subquery(node, node)
        if len(bound.plan.schema) != 1:
            raise self.ctx.error("a scalar subquery must return one column", node)
        return ex.ScalarSubquery(bound.plan, bound.plan.schema[0].dtype)

    _Select = _Subquery
    _Union = _Subquery

    # --- functions, aggregates, windows -----------------------------------
    def _function(self, node: exp.Func) -> ex.Expr:
        if isinstance(node, exp.Count):
            return self._aggregate(node)
        name, arg_nodes = function_call(node)
        udf = self._python_function(name)
        if udf is not None:
            target, returns = udf
            args = tuple(self.bind(a) for a in arg_nodes)
            return ex.PythonCall(name, target, args, returns)
        if F.is_window_function(name):
            raise self.ctx.error(f"{name}() needs an OVER clause", node)
        if isinstance(node, exp.AggFunc) or F.is_aggregate(name):
            return self._aggregate(node)
        if any(isinstance(a, exp.Distinct) for a in arg_nodes):
            raise self.ctx.error(f"DISTINCT is only allowed in aggregates, not {name}()", node)
        args = [self.bind(a) for a in arg_nodes]
        if name.lower() not in F.scalar_names() and F.ALIASES.get(name.lower()) is None:
            typed = self._typed_name(node) or name
            hint = _did_you_mean(typed)
            raise self.ctx.error(f"unknown function {typed}(){hint}", node)
        return self.call(name, args, node)

    def _typed_name(self, node) -> str | None:
        """The function name as the user typed it (sqlglot may have parsed
        `version()` into CurrentVersion)."""
        import re
        from .scope import _start_offset
        start = _start_offset(node)
        if start is None:
            return None
        text = self.ctx.sql[self.ctx.source_offset(start):]
        m = re.match(r'\s*([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)*)\s*\(', text)
        return m.group(1) if m else None

    def _python_function(self, name: str):
        """(import name, return type) if `name` is a Python UDF of the catalog
        (built-in functions always win: CREATE FUNCTION refuses their names)."""
        lookup = getattr(self.ctx.catalog, "function", None)
        if lookup is None or name in F.scalar_names():
            return None
        return lookup(name)

    def _Filter(self, node):
        where = node.expression.this if isinstance(node.expression, exp.Where) else node.expression
        inner = node.this
        if isinstance(inner, exp.WithinGroup):
            inner = self._within_group_call(inner)
        return self._aggregate(inner, filter_node=where, outer=node)

    def _WithinGroup(self, node):
        return self._aggregate(self._within_group_call(node), outer=node)

    def _within_group_call(self, node) -> exp.Expression:
        """`percentile_cont(q) WITHIN GROUP (ORDER BY x [DESC])` as the call
        quantile_cont(x, q, desc)."""
        func, order = node.this, node.expression
        names = {exp.PercentileCont: "quantile_cont", exp.PercentileDisc: "quantile_disc"}
        name = names.get(type(func))
        if name is None or func.args.get("expression") is not None:
            raise self.ctx.not_supported(f"{_snippet(func)} WITHIN GROUP", node)
        keys = order.expressions if isinstance(order, exp.Order) else []
        if len(keys) != 1:
            raise self.ctx.not_supported("WITHIN GROUP with other than one ORDER BY key", node)
        key = keys[0]
        value = key.this if isinstance(key, exp.Ordered) else key
        desc = bool(isinstance(key, exp.Ordered) and key.args.get("desc"))
        call = exp.Anonymous(this=name, expressions=[value.copy(), func.this.copy(),
                                                     exp.Boolean(this=desc)])
        call.meta.update(node.meta)
        return call

    def _Array(self, node):
        return self.call("list_value", [self.bind(a) for a in node.expressions], node)

    def _Explode(self, node):
        """unnest(list) in a select list (bind_select makes the Unnest node)."""
        if self.clause != "SELECT":
            raise self.ctx.error(f"UNNEST is not allowed in {self.clause}", node)
        if self._in_agg or self._in_window or getattr(self, "_in_unnest", False):
            raise self.ctx.not_supported("UNNEST inside another function call", node)
        args = [node.this] if isinstance(node, exp.Explode) else list(node.expressions)
        if len(args) != 1 or any(node.args.get(k) for k in ("offset", "alias",
                                                             "explode_array")):
            raise self.ctx.not_supported("UNNEST of several lists or WITH OFFSET", node)
        self._in_unnest = True
        try:
            arg = self.bind(args[0])
        finally:
            self._in_unnest = False
        if pa.types.is_null(arg.dtype):
            arg = coerce(arg, pa.list_(dt.INT32))
        if not pa.types.is_list(arg.dtype):
            raise self.ctx.error(f"UNNEST needs a list, not {dt.sql_name(arg.dtype)}", node)
        return ex.UnnestCall(arg, arg.dtype.value_type)

    _Unnest = _Explode

    def _IgnoreNulls(self, node):
        return self.bind(node.this)

    _RespectNulls = _IgnoreNulls

    def _aggregate(self, node, filter_node=None, outer=None) -> ex.Expr:
        where = outer or node
        if not self.aggregates:
            raise self.ctx.error(f"aggregate functions are not allowed in {self.clause}", where)
        if self._in_agg:
            raise self.ctx.error("aggregate function calls cannot be nested", where)
        distinct = False
        if isinstance(node, exp.Count):
            arg = node.this
            if arg is None or isinstance(arg, exp.Star):
                name, arg_nodes = "count_star", []
            else:
                name, arg_nodes = "count", [arg]
            if node.expressions:
                arg_nodes += list(node.expressions)
        else:
            name, arg_nodes = function_call(node)
        if name == "percentile_cont" and len(arg_nodes) == 2:
            name = "quantile_cont"           # DuckDB's quantile_cont(x, q)
        order_node = None
        if arg_nodes and isinstance(arg_nodes[0], exp.Order):
            # string_agg(x, sep ORDER BY y), first(x ORDER BY y)
            if name not in ("string_agg", "first"):
                raise self.ctx.not_supported(f"ORDER BY in {name}()", where)
            order_node = arg_nodes[0]
            arg_nodes = [order_node.this] + arg_nodes[1:]
            if name == "string_agg" and len(arg_nodes) == 1:
                arg_nodes.append(exp.Literal.string(","))
            name += "_ordered"
        if arg_nodes and isinstance(arg_nodes[0], exp.Distinct):
            if order_node is not None:
                raise self.ctx.not_supported("DISTINCT with ORDER BY in an aggregate", where)
            distinct = True
            arg_nodes = list(arg_nodes[0].expressions) + arg_nodes[1:]
            if name == "count" and len(arg_nodes) > 1:
                raise self.ctx.not_supported("count(DISTINCT) of several columns", where)
        self._in_agg = True
        try:
            args = [self.bind(a) for a in arg_nodes]
            for o in (order_node.expressions if order_node is not None else []):
                desc = bool(o.args.get("desc"))
                nulls_first = bool(o.args.get("nulls_first")) if isinstance(o, exp.Ordered) \
                    else False
                key = o.this if isinstance(o, exp.Ordered) else o
                args += [self.bind(key), ex.Literal(desc, dt.BOOL),
                         ex.Literal(nulls_first, dt.BOOL)]
            filt = self._boolean(self.bind(filter_node), filter_node, "FILTER") \
                if filter_node is not None else None
        finally:
            self._in_agg = False
        try:
            return F.resolve_aggregate(name, args, distinct=distinct, filter=filt)
        except F.FunctionError as e:
            raise self.ctx.error(str(e), where) from None

    def _Window(self, node):
        if not self.windows:
            raise self.ctx.error(f"window functions are not allowed in {self.clause}", node)
        if self._in_window or self._in_agg:
            raise self.ctx.error("window function calls cannot be nested", node)
        func = node.this
        if isinstance(func, (exp.IgnoreNulls, exp.RespectNulls)):
            func = func.this
        if isinstance(func, exp.Filter):
            raise self.ctx.not_supported("FILTER in a window function", node)
        if isinstance(func, exp.Count):
            arg = func.this
            if isinstance(arg, exp.Distinct):
                raise self.ctx.not_supported("DISTINCT in a window function", node)
            name, arg_nodes = ("count_star", []) if arg is None or isinstance(arg, exp.Star) \
                else ("count", [arg])
        else:
            name, arg_nodes = function_call(func)
            if arg_nodes and isinstance(arg_nodes[0], exp.Distinct):
                raise self.ctx.not_supported("DISTINCT in a window function", node)
        self._in_window = True
        try:
            args = [self.bind(a) for a in arg_nodes]
            partition = tuple(self.bind(p) for p in node.args.get("partition_by") or [])
            order = tuple(self.sort_key(o) for o in
                          (node.args["order"].expressions if node.args.get("order") else []))
        finally:
            self._in_window = False
        frame = self._frame(node.args.get("spec"), node)
        try:
            return F.resolve_window(name, args, partition, order, frame)
        except F.FunctionError as e:
            raise self.ctx.error(str(e), node) from None

    def sort_key(self, node: exp.Expression) -> ex.SortKey:
        if isinstance(node, exp.Ordered):
            e = self.bind(node.this)
            desc = bool(node.args.get("desc"))
            return ex.SortKey(e, not desc, _nulls_first(node))
        return ex.SortKey(self.bind(node))

    def _frame(self, spec, node) -> ex.WindowFrame | None:
        if spec is None:
            return None
        mode = (spec.args.get("kind") or "range").lower()
        if mode not in ("rows", "range"):
            raise self.ctx.not_supported(f"{mode.upper()} window frames", node)
        try:
            start = _frame_bound(spec.args.get("start"), spec.args.get("start_side"))
            end_arg = spec.args.get("end")
            end = _frame_bound(end_arg, spec.args.get("end_side")) if end_arg is not None else 0
        except ValueError as e:
            raise self.ctx.error(str(e), node) from None
        if isinstance(start, str) or isinstance(end, str):
            raise self.ctx.not_supported("a window frame bound that is not a constant", node)
        if mode == "rows" and (isinstance(start, tuple) or isinstance(end, tuple)):
            raise self.ctx.error("a ROWS frame counts rows: its offsets are whole numbers, "
                                 "not intervals (use RANGE for an INTERVAL)", node)
        return ex.WindowFrame(mode, start, end)


def fold_literal_casts(e: ex.Expr) -> ex.Expr:
    """Replace coercion casts of literals among a call's arguments by typed
    literals when the value converts exactly (`CAST(0.00 AS DECIMAL(15,2))`)."""
    if not isinstance(e, ex.Call):
        return e
    args = []
    for a in e.args:
        if isinstance(a, ex.Cast) and not a.safe and isinstance(a.arg, ex.Literal):
            folded = convert_literal(a.arg, a.dtype)
            args.append(folded if folded is not None else a)
        else:
            args.append(a)
    if all(x is y for x, y in zip(args, e.args)):
        return e
    return ex.Call(e.fn, tuple(args), e.dtype)


def _frame_bound(value, side):
    if value is None:
        return None
    side = (side or "").lower()
    if isinstance(value, str):
        v = value.upper()
        if v == "UNBOUNDED":
            return None
        if v == "CURRENT ROW":
            return 0
        return "?"
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        n = int(value.this)
        return -n if side == "preceding" else n
    if isinstance(value, exp.Interval) and isinstance(value.this, exp.Literal):
        unit = value.args.get("unit")
        if unit is not None and isinstance(unit, exp.IntervalSpan):
            return "?"
        months, days, nanos = interval_value(value.this.this, unit.name if unit else None)
        if min(months, days, nanos) < 0:
            raise ValueError("a window frame offset must not be negative")
        sign = -1 if side == "preceding" else 1       # (months, days, nanos), signed
        return (sign * months, sign * days, sign * nanos)
    return "?"


def _nulls_first(node: exp.Ordered) -> bool:
    """In the duckdb dialect sqlglot sets nulls_first to what the query
    means (NULLS LAST unless written otherwise, for ASC and DESC)."""
    return bool(node.args.get("nulls_first"))


def _did_you_mean(name: str) -> str:
    import difflib

    from ..planner.functions_agg import AGGREGATES
    names = sorted(F.scalar_names() | set(F.ALIASES)
                   | set(AGGREGATES) | {"row_number", "rank", "dense_rank"})
    names = [n for n in names if n.isidentifier() and not n.startswith("_")]
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}()?)" if close else ""


def _snippet(node: exp.Expression) -> str:
    text = node.sql("duckdb")
    return text if len(text) <= 40 else text[:37] + "..."


_CMP_NODES = {"lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE}
_NEGATED = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}


def _ordered_quantified(op: str, is_any: bool, x: exp.Expression,
                        query: exp.Expression) -> exp.Expression:
    """`x > ANY (q)` / `x > ALL (q)` (and <, <=, >=) as a CASE over the
    subquery's min or max and its counts, with SQL's NULL rules: ANY is true
    if some row satisfies the comparison, ALL is false if some row fails it;
    otherwise a NULL on either side makes the answer NULL; an empty
    subquery makes ANY false and ALL true."""
    inner = query.this if isinstance(query, exp.Subquery) else query

    def agg(fn: str) -> exp.Expression:
        sub = exp.Subquery(this=inner.copy(),
                           alias=exp.TableAlias(this=exp.to_identifier("_quantified"),
                                                columns=[exp.to_identifier("_v")]))
        arg = exp.Star() if fn == "count_star" else exp.column("_v")
        call = exp.Count(this=arg) if fn.startswith("count") else \
            (exp.Min if fn == "min" else exp.Max)(this=arg)
        return exp.Subquery(this=exp.select(call).from_(sub))

    smaller = op in ("gt", "ge")          # x > ANY: beat the smallest value
    extreme = agg("min" if smaller == is_any else "max")
    decisive_op = op if is_any else _NEGATED[op]
    decisive = _CMP_NODES[decisive_op](this=x.copy(), expression=extreme)
    count_all, count_values = agg("count_star"), agg("count")
    unknown = exp.or_(exp.Is(this=x.copy(), expression=exp.Null()),
                      exp.LT(this=count_values, expression=count_all.copy()))
    empty = exp.EQ(this=count_all, expression=exp.Literal.number(0))
    return exp.Case(ifs=[
        exp.If(this=empty, true=exp.Boolean(this=not is_any)),
        exp.If(this=decisive, true=exp.Boolean(this=is_any)),
        exp.If(this=unknown, true=exp.Null()),
    ], default=exp.Boolean(this=not is_any))
