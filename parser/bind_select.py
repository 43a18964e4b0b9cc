"""SELECT, set operations and VALUES -> `logical.BoundQuery`.

The plan of one SELECT is built bottom-up in SQL's logical order:

    Limit(Sort(Distinct(Project(Filter[QUALIFY](Window(Filter[HAVING](Aggregate(
        Filter[WHERE](FROM))))))))

(each node only when needed), then a final Project drops the hidden
columns ORDER BY added. Every output column has a plan-unique internal name;
`BoundQuery.output_names` are the names the user sees.
UNION / INTERSECT / EXCEPT coerce both sides to common column types.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .. import datatypes as dt
from ..planner import expr as ex
from ..planner.logical import (Aggregate, BoundQuery, Distinct, Field, Filter, Limit,
                               Project, SetOp, Sort, Union, Values, Window)
from . import grouping_sets, limit_rows
from .aggregates import AggregateRewriter, base_name, contains, extract_windows
from .bind_expr import ExprBinder
from .bind_from import bind_from
from .literals import coerce
from .naming import display_name
from .query_binding import register_query_binders
from .sample import apply_sample
from .scope import BindContext, ColumnRef, Relation, Scope, identifier_name
from .unnest import extract_unnests


def _arg(node: exp.Expression, key: str):
    return node.args.get(key + "_", node.args.get(key))


def bind_query(ctx: BindContext, node: exp.Expression, outer: Scope | None) -> BoundQuery:
    """Bind any query expression (SELECT, set operation, VALUES, parenthesized)."""
    with_ = _arg(node, "with")
    if with_ is not None:
        if with_.args.get("recursive"):
            raise ctx.not_supported("WITH RECURSIVE", with_)
        frame: dict = {}
        for cte in with_.expressions:
            name = identifier_name(cte.args["alias"].this)
            if name in frame:
                raise ctx.error(f"WITH query name '{name}' is specified more than once", cte)
            frame[name] = (cte, list(ctx.ctes) + [dict(frame)])
        ctx.ctes.append(frame)
        try:
            return _bind_query_body(ctx, node, outer)
        finally:
            ctx.ctes.pop()
    return _bind_query_body(ctx, node, outer)


def _bind_query_body(ctx, node, outer) -> BoundQuery:
    if isinstance(node, exp.Select):
        if grouping_sets.has_grouping_sets(node):
            return _bind_query_body(ctx, grouping_sets.expand(ctx, node), outer)
        return bind_select(ctx, node, outer)
    if isinstance(node, (exp.Union, exp.Intersect, exp.Except)):
        return _bind_set_operation(ctx, node, outer)
    if isinstance(node, exp.Subquery):
        bound = bind_query(ctx, node.this, outer)
        return _order_limit_outputs(ctx, node, bound, outer)
    if isinstance(node, exp.Values):
        return bind_values(ctx, node, outer)
    if isinstance(node, exp.Pivot):
        from .pivot import rewrite_pivot
        return bind_query(ctx, rewrite_pivot(ctx, node, node.this, outer), outer)
    raise ctx.not_supported(f"query {type(node).__name__}", node)


# --- SELECT --------------------------------------------------------------------

def bind_select(ctx: BindContext, sel: exp.Select, outer: Scope | None) -> BoundQuery:
    for key, what in (("distinct_on", "DISTINCT ON"),
                      ("laterals", "LATERAL"), ("pivots", "PIVOT"), ("into", "SELECT INTO")):
        value = sel.args.get(key)
        if value:
            raise ctx.not_supported(what, value if isinstance(value, exp.Expression) else sel)
    distinct = sel.args.get("distinct")
    if distinct is not None and distinct.args.get("on") is not None:
        raise ctx.not_supported("DISTINCT ON", distinct)

    _inline_named_windows(ctx, sel)
    plan, scope = bind_from(ctx, sel, outer)
    if sel.args.get("sample") is not None:       # USING SAMPLE: after joins, before WHERE
        plan = apply_sample(ctx, plan, sel.args["sample"])
    local = scope.local_names()
    where = _arg(sel, "where")
    if where is not None:
        pred = ExprBinder(ctx, scope, clause="WHERE").bind(where.this)
        plan = Filter(plan, _predicate(ctx, pred, where.this, "WHERE"))

    # select list (stars expanded), bound with aggregates and windows in place
    items = _select_items(ctx, sel, scope)
    aliases = {}
    for name, e, _node in items:
        aliases.setdefault(name.lower(), e)
    alias_lookup = lambda n: aliases.get(n.lower())   # noqa: E731
    exprs = [e for _, e, _ in items]

    group_node = _arg(sel, "group")
    group_exprs = _group_by(ctx, group_node, items, scope) if group_node is not None else []
    having_node = _arg(sel, "having")
    having = None
    if having_node is not None:
        having = ExprBinder(ctx, scope, aggregates=True, clause="HAVING",
                            alias_lookup=alias_lookup).bind(having_node.this)
        having = _predicate(ctx, having, having_node.this, "HAVING")

    qualify_node = sel.args.get("qualify")
    qualify = None
    if qualify_node is not None:
        qualify = ExprBinder(ctx, scope, aggregates=True, windows=True, clause="QUALIFY",
                             alias_lookup=alias_lookup).bind(qualify_node.this)
        qualify = _predicate(ctx, qualify, qualify_node.this, "QUALIFY")

    order_node = _arg(sel, "order")
    order_specs = _order_by_raw(ctx, order_node, items, scope, alias_lookup) \
        if order_node is not None else []

    is_agg = (group_node is not None or having is not None
              or sel.meta.get(grouping_sets.GRAND_TOTAL)
              or any(contains(e, ex.AggCall) for e in exprs)
              or (qualify is not None and contains(qualify, ex.AggCall))
              or any(isinstance(s, ex.SortKey) and contains(s.expr, ex.AggCall)
                     for s in order_specs))
    if is_agg:
        rw = AggregateRewriter(ctx, group_exprs, local)
        exprs = [rw.rewrite(e) for e in exprs]
        if having is not None:
            having = rw.rewrite(having)
        if qualify is not None:
            qualify = rw.rewrite(qualify)
        order_specs = [ex.SortKey(rw.rewrite(s.expr), s.ascending, s.nulls_first)
                       if isinstance(s, ex.SortKey) else s for s in order_specs]
        plan = Aggregate(plan, tuple(rw.group_exprs), tuple(rw.group_names),
                         tuple(rw.aggs), tuple(rw.agg_names))
        if having is not None:
            plan = Filter(plan, having)

    # window functions: one Window node above the aggregate
    calls: list = []
    win_names: list = []
    exprs = [extract_windows(ctx, e, calls, win_names) for e in exprs]
    order_specs = [ex.SortKey(extract_windows(ctx, s.expr, calls, win_names),
                              s.ascending, s.nulls_first)
                   if isinstance(s, ex.SortKey) else s for s in order_specs]
    if qualify is not None:
        qualify = extract_windows(ctx, qualify, calls, win_names)
    if calls:
        plan = Window(plan, tuple(calls), tuple(win_names))
    if qualify is not None:
        if not calls:
            raise ctx.error("QUALIFY needs a window function in the query", qualify_node)
        plan = Filter(plan, qualify)
    plan, exprs = extract_unnests(ctx, exprs, plan, sel)

    # projection, with hidden columns for ORDER BY expressions not selected
    names_out = [n for n, _, _ in items]
    proj_exprs = list(exprs)
    keys: list[ex.SortKey] = []
    hidden = 0
    for s in order_specs:
        if isinstance(s, tuple):          # ('output', index, asc, nulls_first)
            _, k, asc, nf = s
            keys.append(("output", k, asc, nf))
            continue
        k = next((i for i, e in enumerate(proj_exprs[:len(exprs)]) if e == s.expr), -1)
        if k < 0:
            k = next((i for i, e in enumerate(proj_exprs) if e == s.expr), -1)
        if k < 0:
            if distinct is not None:
                raise ctx.error("ORDER BY expressions must appear in the select list "
                                "when SELECT DISTINCT is used", order_node)
            proj_exprs.append(s.expr)
            hidden += 1
            k = len(proj_exprs) - 1
        keys.append(("output", k, s.ascending, s.nulls_first))
    internal = _project_names(ctx, proj_exprs, names_out + ["sort"] * hidden,
                              set(plan.names))
    plan = Project(plan, tuple(proj_exprs), tuple(internal))
    if distinct is not None:
        plan = Distinct(plan)
    if keys:
        plan = Sort(plan, tuple(ex.SortKey(ex.Column(internal[k], proj_exprs[k].dtype), asc, nf)
                                for _, k, asc, nf in keys))
    plan = _limit(ctx, sel, plan)
    if hidden:
        n = len(exprs)
        plan = Project(plan, tuple(ex.Column(internal[i], proj_exprs[i].dtype)
                                   for i in range(n)), tuple(internal[:n]))
    return BoundQuery(plan, tuple(names_out))


def _inline_named_windows(ctx, sel: exp.Select) -> None:
    """`OVER w ... WINDOW w AS (spec)`: copy the named spec into every window
    of this SELECT that names it (what it spells out itself wins)."""
    defs = {d.this.name.lower(): d for d in sel.args.get("windows") or []}
    if not defs:
        return
    for node in list(sel.find_all(exp.Window)):
        if node.find_ancestor(exp.Select) is not sel or node.parent_select is not sel:
            continue
        alias = node.args.get("alias")
        if alias is None or isinstance(node.this, exp.Identifier):
            continue
        spec = defs.get(alias.name.lower())
        if spec is None:
            raise ctx.error(f"window '{alias.name}' is not defined", node)
        for key in ("partition_by", "order", "spec"):
            if not node.args.get(key) and spec.args.get(key):
                value = spec.args[key]
                node.set(key, [v.copy() for v in value] if isinstance(value, list)
                         else value.copy())
        node.set("alias", None)
    sel.set("windows", None)


def _predicate(ctx, e: ex.Expr, node, clause: str) -> ex.Expr:
    if e.dtype == dt.BOOL:
        return e
    if pa.types.is_null(e.dtype):
        return ex.Literal(None, dt.BOOL)
    raise ctx.error(f"{clause} condition must be BOOLEAN, not {dt.sql_name(e.dtype)}", node)


def _select_items(ctx, sel: exp.Select, scope: Scope):
    """(output name, bound expression, node) for each select item, `*` expanded."""
    binder = ExprBinder(ctx, scope, aggregates=True, windows=True, clause="SELECT")
    out = []
    for item in sel.expressions:
        star_table = None
        if isinstance(item, exp.Star):
            star = item
        elif isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
            star, star_table = item.this, identifier_name(item.args.get("table"))
        else:
            star = None
        if star is not None:
            out.extend(_star_modifiers(ctx, star, _expand_star(ctx, scope, star_table, item),
                                       binder))
            continue
        node = item.this if isinstance(item, exp.Alias) else item
        name = identifier_name(item.args["alias"]) if isinstance(item, exp.Alias) \
            else display_name(item)
        bound = binder.bind(node)
        if isinstance(item, exp.Column) and isinstance(bound, ex.Column):
            name = scope.user_name(bound.name) or name
        out.append((name, bound, item))
    return out


def _expand_star(ctx, scope: Scope, table: str | None, node):
    if table is not None:
        rel = scope.relation(table)
        if rel is None:
            raise ctx.error(f"table '{table}' not found in the FROM clause", node)
        cols = rel.columns
    else:
        cols = [c for r in scope.relations for c in r.columns if not c.hidden]
        if not scope.relations:
            raise ctx.error("SELECT * needs a FROM clause", node)
    return [(c.name, c.field.column(), node) for c in cols]


def _star_modifiers(ctx, star: exp.Star, columns, binder):
    """`* EXCLUDE (a, b)` (also spelled `* EXCEPT`) drops columns,
    `* REPLACE (expr AS a)` puts expr in a's place under a's name,
    `* RENAME (a AS b)` renames; a name that is not among the star's columns
    is an error, as in DuckDB."""
    excluded = star.args.get("except_") or []
    replaced = star.args.get("replace") or []
    renamed = star.args.get("rename") or []
    if not excluded and not replaced and not renamed:
        return columns
    present = {name.lower() for name, _, _ in columns}
    drop = set()
    for node in excluded:
        name = identifier_name(node.this if isinstance(node, exp.Column) else node)
        if name.lower() not in present:
            raise ctx.error(f"column '{name}' in the EXCLUDE list is not among the "
                            f"columns of *", node)
        drop.add(name.lower())
    swap = {}
    for node in replaced:
        if not isinstance(node, exp.Alias):
            raise ctx.error("each * REPLACE item needs a name: REPLACE (expr AS column)", node)
        name = identifier_name(node.args["alias"])
        if name.lower() not in present:
            raise ctx.error(f"column '{name}' in the REPLACE list is not among the "
                            f"columns of *", node)
        if name.lower() in drop:
            raise ctx.error(f"column '{name}' is both excluded and replaced", node)
        swap[name.lower()] = (binder.bind(node.this), node)
    new_names = {}
    for node in renamed:
        old = identifier_name(node.this.this if isinstance(node.this, exp.Column)
                              else node.this)
        if old.lower() not in present:
            raise ctx.error(f"column '{old}' in the RENAME list is not among the "
                            f"columns of *", node)
        new_names[old.lower()] = identifier_name(node.args["alias"])
    out = []
    for name, e, item in columns:
        if name.lower() in drop:
            continue
        if name.lower() in swap:
            e, item = swap[name.lower()]
            item = item.this        # a computed column, not a pass-through
        out.append((new_names.get(name.lower(), name), e, item))
    if not out:
        raise ctx.error("SELECT * EXCLUDE leaves no columns", star)
    return out


def _ordinal(node) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


def _group_by(ctx, group: exp.Group, items, scope: Scope) -> list[ex.Expr]:
    for key in ("rollup", "cube", "grouping_sets"):
        if group.args.get(key):
            raise ctx.not_supported(f"GROUP BY {key.upper().replace('_', ' ')}", group)
    binder = ExprBinder(ctx, scope, clause="GROUP BY")
    out: list[ex.Expr] = []
    if group.args.get("all"):
        candidates = [e for _, e, _ in items
                      if not contains(e, ex.AggCall) and not contains(e, ex.WindowCall)]
    else:
        candidates = []
        for node in group.expressions:
            k = _ordinal(node)
            if k is not None:
                if not 1 <= k <= len(items):
                    raise ctx.error(f"GROUP BY position {k} is not in the select list "
                                    f"(1 to {len(items)})", node)
                e = items[k - 1][1]
                if contains(e, ex.AggCall) or contains(e, ex.WindowCall):
                    raise ctx.error(f"GROUP BY position {k} refers to an aggregate", node)
                candidates.append(e)
                continue
            if isinstance(node, exp.Column) and node.args.get("table") is None:
                name = identifier_name(node.this)
                found = scope.find_local(None, name)
                if not found:
                    match = [e for n, e, _ in items if n.lower() == name.lower()]
                    if match:
                        if contains(match[0], ex.AggCall):
                            raise ctx.error(f"GROUP BY alias '{name}' refers to an aggregate",
                                            node)
                        candidates.append(match[0])
                        continue
            candidates.append(binder.bind(node))
    for e in candidates:
        if not any(type(e) is type(o) and e == o for o in out):
            out.append(e)
    return out


def _order_by_raw(ctx, order: exp.Order, items, scope: Scope, alias_lookup):
    """Each ORDER BY term as ('output', index, asc, nulls_first) when it names
    a select item (ordinal or alias), else a bound SortKey."""
    binder = ExprBinder(ctx, scope, aggregates=True, windows=True, clause="ORDER BY",
                        alias_lookup=alias_lookup)
    out = []
    for o in order.expressions:
        node = o.this if isinstance(o, exp.Ordered) else o
        asc = not (isinstance(o, exp.Ordered) and o.args.get("desc"))
        nf = bool(isinstance(o, exp.Ordered) and o.args.get("nulls_first"))
        if isinstance(node, exp.Var) and node.name.upper() == "ALL":
            # DuckDB's ORDER BY ALL: every select item, left to right
            out.extend(("output", i, asc, nf) for i in range(len(items)))
            continue
        k = _ordinal(node)
        if k is not None:
            if not 1 <= k <= len(items):
                raise ctx.error(f"ORDER BY position {k} is not in the select list "
                                f"(1 to {len(items)})", node)
            out.append(("output", k - 1, asc, nf))
            continue
        if isinstance(node, exp.Column) and node.args.get("table") is None \
                and not isinstance(node.this, exp.Star):
            name = identifier_name(node.this).lower()
            match = [i for i, (n, _, it) in enumerate(items)
                     if n.lower() == name and isinstance(it, exp.Alias)]
            if not match:
                match = [i for i, (n, _, _) in enumerate(items) if n.lower() == name]
            if match:
                out.append(("output", match[0], asc, nf))
                continue
        out.append(ex.SortKey(binder.bind(node), asc, nf))
    return out


def _project_names(ctx, exprs, user_names, input_names: set[str]) -> list[str]:
    """A column passed through keeps its name (once); anything else, and an
    outer column of a correlated subquery, gets a fresh one."""
    used: set[str] = set()
    out = []
    for e, user in zip(exprs, user_names):
        if isinstance(e, ex.Column) and e.name not in used and e.name in input_names:
            name = e.name
        else:
            name = ctx.fresh(_clean(user))
        used.add(name)
        out.append(name)
    return out


def _clean(name: str) -> str:
    name = name.replace("#", "_")
    return name if len(name) <= 40 else name[:40]


def _limit(ctx, node, plan):
    limit_node, offset_node = node.args.get("limit"), node.args.get("offset")
    if limit_node is None and offset_node is None:
        return plan
    options = limit_node.args.get("limit_options") if limit_node is not None else None
    percent = bool(options is not None and options.args.get("percent"))
    ties = bool(options is not None and options.args.get("with_ties"))
    offset = _count(ctx, offset_node, "OFFSET") if offset_node is not None else 0
    if percent or ties:
        return limit_rows.percent_or_ties(ctx, plan, limit_node, offset or 0, percent, ties)
    limit = _count(ctx, limit_node, "LIMIT") if limit_node is not None else None
    return Limit(plan, limit, offset or 0)


def _count(ctx, node, what: str) -> int | None:
    value_node = node.args.get("expression") or node.this
    if isinstance(node, exp.Fetch):
        value_node = node.args.get("count")
    if value_node is None:
        return None
    value = ExprBinder(ctx, Scope(), clause=what).bind(value_node)
    if isinstance(value, ex.Cast) and isinstance(value.arg, ex.Literal):
        value = value.arg
    if not isinstance(value, ex.Literal) or not (dt.is_integer(value.dtype)
                                                 or pa.types.is_null(value.dtype)):
        raise ctx.error(f"{what} must be a constant integer", value_node)
    if value.value is not None and value.value < 0:
        raise ctx.error(f"{what} must not be negative", value_node)
    return value.value


# --- set operations ------------------------------------------------------------

def _bind_set_operation(ctx, node, outer) -> BoundQuery:
    left = bind_query(ctx, node.this, outer)
    right = bind_query(ctx, node.expression, outer)
    kind = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(node)]
    lf, rf = left.plan.schema, right.plan.schema
    if len(lf) != len(rf):
        raise ctx.error(f"each {kind.upper()} query must have the same number of columns "
                        f"({len(lf)} and {len(rf)})", node.expression)
    types = []
    for i, (a, b) in enumerate(zip(lf, rf)):
        t = _set_supertype(a.dtype, b.dtype)
        if t is None:
            raise ctx.error(f"{kind.upper()} column {i + 1} has incompatible types "
                            f"{dt.sql_name(a.dtype)} and {dt.sql_name(b.dtype)}", node)
        types.append(dt.INT32 if pa.types.is_null(t) else t)
    lp, rp = _cast_outputs(ctx, left.plan, types), _cast_outputs(ctx, right.plan, types)
    all_ = not node.args.get("distinct", True)
    if kind == "union":
        inputs = []
        for p in (lp, rp):
            if isinstance(p, Union) and p.all == all_ and all_:
                inputs.extend(p.inputs)
            else:
                inputs.append(p)
        plan = Union(tuple(inputs), all=all_)
    elif all_:
        # bag semantics: number the copies of each distinct row on both sides,
        # then the (row, copy number) pairs meet as sets: the j-th copy of a
        # row survives EXCEPT ALL iff the right side has fewer than j copies
        ln, rn = _number_copies(ctx, lp), _number_copies(ctx, rp)
        plan = SetOp(ln, rn, kind, all=False)
        keep = plan.schema[:-1]
        plan = Project(plan, tuple(f.column() for f in keep),
                       tuple(ctx.fresh(base_name(f.name)) for f in keep))
    else:
        plan = SetOp(lp, rp, kind, all=all_)
    return _order_limit_outputs(ctx, node, BoundQuery(plan, left.output_names), outer)


def _number_copies(ctx, plan):
    """`plan` plus row_number() OVER (PARTITION BY every column)."""
    cols = tuple(f.column() for f in plan.schema)
    call = ex.WindowCall("row_number", (), cols, (), None, dt.INT64)
    window = Window(plan, (call,), (ctx.fresh("copy"),))
    # a renaming Project on top (an identity one would be dropped)
    out = window.schema
    return Project(window, tuple(f.column() for f in out),
                   tuple(ctx.fresh(base_name(f.name)) for f in out))


def _set_supertype(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """As datatypes.common_supertype, except that a string column meeting a
    number or date makes the column VARCHAR (as DuckDB does for UNION)."""
    if dt.is_string(a) != dt.is_string(b) and not (pa.types.is_null(a) or pa.types.is_null(b)):
        return dt.STRING
    return dt.value_supertype(a, b)


def _cast_outputs(ctx, plan, types):
    fields = plan.schema
    if all(f.dtype == t for f, t in zip(fields, types)):
        return plan
    exprs, names = [], []
    for f, t in zip(fields, types):
        if f.dtype == t:
            exprs.append(f.column())
            names.append(f.name)
        else:
            exprs.append(coerce(f.column(), t))
            names.append(ctx.fresh(base_name(f.name)))
    return Project(plan, tuple(exprs), tuple(names))


def _order_limit_outputs(ctx, node, bound: BoundQuery, outer) -> BoundQuery:
    """ORDER BY / LIMIT written after a set operation or parenthesized query:
    they may name output columns (by name or position) only."""
    order = node.args.get("order")
    plan = bound.plan
    if order is not None:
        fields = plan.schema
        rel = Relation(None, [ColumnRef(n, f) for n, f in zip(bound.output_names, fields)])
        scope = Scope([rel], outer)
        items = [(n, f.column(), None) for n, f in zip(bound.output_names, fields)]
        specs = _order_by_raw(ctx, order, items, scope, None)
        keys = []
        for s in specs:
            if isinstance(s, tuple):
                _, k, asc, nf = s
                keys.append(ex.SortKey(fields[k].column(), asc, nf))
            else:
                if contains(s.expr, ex.AggCall) or contains(s.expr, ex.WindowCall):
                    raise ctx.error("ORDER BY after a set operation must name output "
                                    "columns", order)
                keys.append(s)
        plan = Sort(plan, tuple(keys))
    plan = _limit(ctx, node, plan)
    return BoundQuery(plan, bound.output_names)


# --- VALUES ----------------------------------------------------------------------

def bind_values(ctx: BindContext, node: exp.Values, outer: Scope | None) -> BoundQuery:
    binder = ExprBinder(ctx, Scope([], outer), clause="VALUES")
    rows = []
    for tup in node.expressions:
        values = tup.expressions if isinstance(tup, exp.Tuple) else [tup]
        rows.append([binder.bind(v) for v in values])
    width = len(rows[0]) if rows else 0
    for tup, row in zip(node.expressions, rows):
        if len(row) != width:
            raise ctx.error(f"VALUES rows must all have {width} values", tup)
    types = []
    for i in range(width):
        t = dt.NULL
        for row in rows:
            s = dt.value_supertype(t, row[i].dtype)
            if s is None:
                raise ctx.error(f"VALUES column {i + 1} mixes {dt.sql_name(t)} and "
                                f"{dt.sql_name(row[i].dtype)}", node)
            t = s
        types.append(dt.INT32 if pa.types.is_null(t) else t)
    names = [f"col{i}" for i in range(width)]
    fields = tuple(Field(ctx.fresh(n), t) for n, t in zip(names, types))
    plan = Values(fields, tuple(tuple(coerce(v, t) for v, t in zip(row, types))
                                for row in rows))
    return _order_limit_outputs(ctx, node, BoundQuery(plan, tuple(names)), outer)


# the parts of a query (expressions, FROM items, PIVOT) bind the queries inside
# them through parser/query_binding.py
register_query_binders(bind_query, bind_values)
