"""FROM clause -> (logical plan, Scope).

Owns: base tables (a Scan with fresh internal names per reference), views
(their SQL bound recursively; a view that reaches itself is an error), CTE
references (each reference bound afresh so a CTE used twice yields two
independent subplans), derived tables with column alias lists, VALUES,
`read_parquet(...)` / `read_csv(...)` / `read_json(...)`, and joins: comma, CROSS, INNER/LEFT/RIGHT/FULL with ON,
USING or NATURAL (USING columns appear once, unqualified; FULL JOIN USING
exposes COALESCE(left, right)). The queries inside FROM items are bound
through query_binding.py (bind_select.py binds this module's caller).
"""

from __future__ import annotations

from sqlglot import exp

from .. import datatypes as dt
from ..planner import expr as ex
from ..planner.logical import EMPTY_ROW, Field, Join, Project, Scan
from .bind_expr import ExprBinder
from .literals import coerce
from .query_binding import bind_query, bind_values
from .scope import BindContext, ColumnRef, Relation, Scope, identifier_name


def bind_from(ctx: BindContext, select: exp.Select, outer: Scope | None):
    """The plan and scope of a SELECT's FROM and JOINs."""
    source = select.args.get("from_") or select.args.get("from")
    if source is None:
        return EMPTY_ROW, Scope([], outer)
    plan, scope = bind_table_expr(ctx, source.this, outer)
    for join in select.args.get("joins") or []:
        plan, scope = _bind_join(ctx, plan, scope, join, outer)
    return plan, scope


def bind_table_expr(ctx: BindContext, node: exp.Expression, outer: Scope | None):
    if node.args.get("pivots"):
        node = _pivoted(ctx, node, outer)
    alias_node = node.args.get("alias")
    alias = identifier_name(alias_node.this) if alias_node is not None and alias_node.this else None
    col_aliases = [identifier_name(c) for c in alias_node.columns] if alias_node is not None else []
    if isinstance(node, exp.Table):
        inner = node.this
        if isinstance(inner, exp.Func):
            plan, names = _table_function(ctx, inner, node)
            default_alias = plan.table
        else:
            plan, names, default_alias = _named_table(ctx, node)
    elif isinstance(node, exp.Subquery):
        bound = bind_query(ctx, node.this, outer)
        plan, names, default_alias = bound.plan, list(bound.output_names), None
    elif isinstance(node, exp.Values):
        bound = bind_values(ctx, node, outer)
        plan, names, default_alias = bound.plan, list(bound.output_names), "valueslist"
    elif isinstance(node, exp.Unnest):
        from .unnest import bind_unnest_item
        plan, rel = bind_unnest_item(ctx, node, Scope([], outer))
        return plan, Scope([rel], outer)
    elif isinstance(node, exp.Lateral):
        raise ctx.not_supported("LATERAL", node)
    else:
        raise ctx.not_supported(f"FROM item {node.sql('duckdb')}", node)
    if len(col_aliases) > len(names):
        raise ctx.error(f"table '{alias or default_alias}' has {len(names)} columns but "
                        f"{len(col_aliases)} column names were given", node)
    names = col_aliases + names[len(col_aliases):]
    if node.args.get("sample") is not None:
        from .sample import apply_sample
        plan = apply_sample(ctx, plan, node.args["sample"])
    rel = Relation(alias or default_alias,
                   [ColumnRef(n, f) for n, f in zip(names, plan.schema)])
    return plan, Scope([rel], outer)


def _pivoted(ctx: BindContext, node: exp.Expression, outer) -> exp.Subquery:
    """`FROM t | (query) PIVOT (...) [AS p]` / UNPIVOT as a subquery (parser/pivot.py)."""
    from .pivot import rewrite_pivot
    pivots = node.args["pivots"]
    if len(pivots) != 1:
        raise ctx.not_supported("several PIVOT / UNPIVOT clauses on one table", node)
    source = node.copy()
    source.set("pivots", None)
    query = rewrite_pivot(ctx, pivots[0], source, outer)
    alias = pivots[0].args.get("alias")
    return exp.Subquery(this=query, alias=alias.copy() if alias is not None else None)


def _named_table(ctx: BindContext, node: exp.Table):
    name = identifier_name(node.this)
    db = identifier_name(node.args.get("db"))
    if db is None:
        cte = _find_cte(ctx, name)
        if cte is not None:
            return _bind_cte(ctx, name, *cte) + (name,)
    full = f"{db}.{name}" if db else name
    entry = ctx.catalog.lookup(full)
    if entry is None and db in ("main", "memory"):
        entry = ctx.catalog.lookup(name)
    if entry is None and db is None and _looks_like_files(node, name):
        return scan(ctx, "read_parquet", _open_location(ctx, name, None, node)) + \
            (_file_alias(name),)
    if entry is None:
        raise ctx.error(f"table '{full}' does not exist", node)
    if getattr(entry, "kind", None) == "view" or (hasattr(entry, "sql") and not hasattr(entry, "source")):
        return _bind_view(ctx, full, entry, node) + (name,)
    declared = getattr(entry, "columns", None)
    if declared:
        return declared_scan(ctx, full, entry.source, declared) + (name,)
    return scan(ctx, full, entry.source) + (name,)


def scan(ctx: BindContext, table: str, source):
    """A Scan of `source` (anything with a `.schema`) with fresh names."""
    schema = source.schema
    fields = tuple(Field(ctx.fresh(f.name), dt.normalize(f.type), f.nullable) for f in schema)
    plan = Scan(table, source, fields, tuple(schema.names))
    return plan, list(schema.names)


def declared_scan(ctx: BindContext, table: str, source, declared):
    """A table created with a column list: only those columns, cast to the
    declared types (CREATE EXTERNAL TABLE t (a INT, b VARCHAR) ...)."""
    from ..planner.expr import Cast
    schema = source.schema
    by_lower = {n.lower(): n for n in schema.names}
    file_names = [by_lower[name.lower()] for name, _ in declared]
    fields = tuple(Field(ctx.fresh(n), dt.normalize(schema.field(n).type),
                         schema.field(n).nullable) for n in file_names)
    plan = Scan(table, source, fields, tuple(file_names))
    exprs, names = [], []
    for f, (name, wire) in zip(fields, declared):
        want = dt.from_wire(wire)
        exprs.append(f.column() if f.dtype == want else Cast(f.column(), want))
        names.append(f.name if f.dtype == want else ctx.fresh(name))
    return Project(plan, tuple(exprs), tuple(names)), [n for n, _ in declared]


def _bind_view(ctx: BindContext, name: str, entry, node):
    from .parse import parse_statements
    from .understood import check_tree
    if name in ctx.view_stack:
        chain = " -> ".join(ctx.view_stack + (name,))
        raise ctx.error(f"view '{name}' references itself ({chain})", node)
    statements = parse_statements(entry.sql)
    if len(statements) != 1 or not isinstance(statements[0].ast, exp.Query):
        raise ctx.error(f"view '{name}' does not hold a single query", node)
    vctx = ctx.for_view(name, statements[0].text)
    check_tree(vctx, statements[0].ast)
    bound = bind_query(vctx, statements[0].ast, None)
    return bound.plan, list(bound.output_names)


def _find_cte(ctx: BindContext, name: str):
    for frame_index in range(len(ctx.ctes) - 1, -1, -1):
        frame = ctx.ctes[frame_index]
        if name in frame:
            return frame[name]
    return None


def _bind_cte(ctx: BindContext, name: str, node: exp.CTE, env: list):
    """Bind a CTE's body afresh with the CTEs visible where it was defined."""
    saved = ctx.ctes
    ctx.ctes = env
    try:
        bound = bind_query(ctx, node.this, None)
    finally:
        ctx.ctes = saved
    names = list(bound.output_names)
    alias = node.args.get("alias")
    cols = [identifier_name(c) for c in alias.columns] if alias is not None else []
    if len(cols) > len(names):
        raise ctx.error(f"WITH query '{name}' has {len(names)} columns but "
                        f"{len(cols)} column names were given", node)
    return bound.plan, cols + names[len(cols):]


_READERS = {"read_parquet": "parquet", "parquet_scan": "parquet",
            "read_csv": "csv", "read_csv_auto": "csv",
            "read_json": "json", "read_json_auto": "json",
            "read_ndjson": "json", "read_ndjson_auto": "json"}
# options each format takes (others are refused by name); key -> read option
_READER_OPTIONS = {"parquet": {},
                   "csv": {"header": "header", "delim": "delimiter", "sep": "delimiter",
                           "delimiter": "delimiter"},
                   "json": {"format": None}}


def _table_function(ctx: BindContext, fn: exp.Func, node: exp.Expression):
    from .sql_functions import function_call
    if isinstance(fn, exp.ReadParquet):
        name, args = "read_parquet", list(fn.expressions)
    elif isinstance(fn, exp.ReadCSV):
        name, args = "read_csv", [fn.this] + list(fn.expressions)
    else:
        name, args = function_call(fn)
    fmt = _READERS.get(name)
    if fmt is None:
        raise ctx.not_supported(f"table function {name}()", node)
    locations: list[str] = []
    options: dict[str, object] = {}
    for a in args:
        if isinstance(a, (exp.Kwarg, exp.EQ, exp.PropertyEQ)):
            key = a.this.name.lower()
            options[key] = _constant(ctx, a.expression)
        elif isinstance(a, exp.Array):
            locations.extend(_constant(ctx, e) for e in a.expressions)
        else:
            value = _constant(ctx, a)
            locations.extend(value if isinstance(value, list) else [value])
    if not locations or not all(isinstance(x, str) for x in locations):
        raise ctx.error(f"{name}() needs a location string or a list of strings", node)
    hive = options.pop("hive_partitioning", None)
    allowed = _READER_OPTIONS[fmt]
    unknown = set(options) - set(allowed)
    if unknown:
        raise ctx.not_supported(f"{name} option {sorted(unknown)[0]}", node)
    if fmt == "json" and str(options.pop("format", "newline_delimited")).lower() \
            not in ("newline_delimited", "auto"):
        raise ctx.not_supported(f"{name} format other than 'newline_delimited'", node)
    read_options = {allowed[k]: v for k, v in options.items()}
    if "header" in read_options and not isinstance(read_options["header"], bool):
        raise ctx.error("header must be TRUE or FALSE", node)
    delimiter = read_options.get("delimiter")
    if delimiter is not None and not (isinstance(delimiter, str) and len(delimiter) == 1):
        raise ctx.error("the delimiter must be one character", node)
    location = locations[0] if len(locations) == 1 else locations
    return scan(ctx, name, _open_location(ctx, location, hive, node, fmt, read_options))


def _open_location(ctx: BindContext, location, hive, node, fmt: str = "parquet",
                   read_options: dict | None = None):
    opener = getattr(ctx.catalog, "open_location", None)
    try:
        if fmt != "parquet":
            from ..storage.dataset import open_dataset
            source = open_dataset(location, hive_partitioning=hive, file_format=fmt,
                                  read_options=read_options or {})
        elif opener is not None:
            source = opener(location, hive_partitioning=hive)
        else:
            from ..storage.dataset import open_dataset
            source = open_dataset(location, hive_partitioning=hive)
    except Exception as e:  # noqa: BLE001 - storage errors already name the location
        from ..errors import Error
        if isinstance(e, Error):
            raise
        raise ctx.error(f"cannot read {location}: {e}", node) from None
    return source


def _looks_like_files(node: exp.Table, name: str) -> bool:
    """`FROM 'data/x.parquet'` (or a glob, or a folder): a quoted name that
    is not a table and reads as a location, as in DuckDB."""
    import os
    if not (isinstance(node.this, exp.Identifier) and node.this.args.get("quoted")):
        return False
    return (name.lower().endswith(".parquet") or "*" in name or "://" in name
            or os.path.exists(name))


def _file_alias(location: str) -> str:
    import os
    base = os.path.basename(location.rstrip("/")) or location
    return base[: -len(".parquet")] if base.lower().endswith(".parquet") else base


def _constant(ctx: BindContext, node: exp.Expression):
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else node.this
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Array):
        return [_constant(ctx, e) for e in node.expressions]
    if isinstance(node, exp.Placeholder):
        lit = ExprBinder(ctx, Scope()).bind(node)
        return lit.value
    raise ctx.error("expected a constant", node)


# --- joins ------------------------------------------------------------------

def _bind_join(ctx: BindContext, left, lscope: Scope, join: exp.Join, outer):
    if isinstance(join.this, exp.Unnest) and not join.args.get("on") \
            and not join.args.get("using") and not join.args.get("side") \
            and (join.args.get("kind") or "").lower() in ("", "cross", "inner"):
        # FROM t, unnest(t.l): lateral, its list bound against the items before it
        from .unnest import bind_unnest_item
        plan, rel = bind_unnest_item(ctx, join.this, lscope, left)
        _check_duplicate_aliases(ctx, lscope, Scope([rel]), join)
        return plan, Scope(lscope.relations + [rel], outer)
    right, rscope = bind_table_expr(ctx, join.this, outer)
    side = (join.args.get("side") or "").lower()
    kind_kw = (join.args.get("kind") or "").lower()
    method = (join.args.get("method") or "").lower()
    if kind_kw in ("semi", "anti", "asof", "positional") or method in ("asof", "positional"):
        raise ctx.not_supported(f"{(method if method in ('asof', 'positional') else kind_kw).upper()}"
                                " JOIN", join)
    kind = side if side in ("left", "right", "full") else "inner"
    scope = Scope(lscope.relations + rscope.relations, outer)
    _check_duplicate_aliases(ctx, lscope, rscope, join)
    on = join.args.get("on")
    using = join.args.get("using")
    natural = (join.args.get("method") or "").upper() == "NATURAL"
    if using or natural:
        return _using_join(ctx, left, right, lscope, rscope, kind, using, natural, join, outer)
    if on is None:
        if kind != "inner":
            raise ctx.error(f"{kind.upper()} JOIN needs an ON or USING clause", join)
        return Join(left, right, "inner", None), scope
    cond = ExprBinder(ctx, scope, clause="JOIN conditions").bind(on)
    if cond.dtype != dt.BOOL:
        if cond.dtype == dt.NULL:
            cond = ex.Literal(None, dt.BOOL)
        else:
            raise ctx.error(f"JOIN condition must be BOOLEAN, not {dt.sql_name(cond.dtype)}", on)
    return Join(left, right, kind, cond), scope


def _check_duplicate_aliases(ctx, lscope, rscope, node):
    seen = {r.alias.lower() for r in lscope.relations if r.alias}
    for r in rscope.relations:
        if r.alias and r.alias.lower() in seen:
            raise ctx.error(f"table name '{r.alias}' is specified more than once "
                            f"(use an alias)", node)


def _using_join(ctx, left, right, lscope: Scope, rscope: Scope, kind, using, natural,
                join, outer):
    if natural:
        rnames = {c.name.lower() for r in rscope.relations for c in r.columns if not c.hidden}
        names = []
        for r in lscope.relations:
            for c in r.columns:
                if not c.hidden and c.name.lower() in rnames and c.name.lower() not in names:
                    names.append(c.name.lower())
        if not names:       # no common column: a cross product, as in DuckDB
            if kind != "inner":
                raise ctx.error("NATURAL outer join found no common columns", join)
            return Join(left, right, "inner", None), \
                Scope(lscope.relations + rscope.relations, outer)
    else:
        names = [identifier_name(u) for u in using]
    conds, pairs = [], []
    for name in names:
        lref = _one(ctx, lscope, name, join, "left")
        rref = _one(ctx, rscope, name, join, "right")
        binder = ExprBinder(ctx, Scope(), clause="USING")
        conds.append(binder.call("eq", [lref.field.column(), rref.field.column()], join))
        pairs.append((lref, rref))
    join_plan = Join(left, right, kind, ex.conjoin(conds))
    if kind != "full":
        hide = {id(r) for l, r in pairs} if kind != "right" else {id(l) for l, r in pairs}
        relations = [Relation(rel.alias, [ColumnRef(c.name, c.field, c.hidden or id(c) in hide)
                                          for c in rel.columns])
                     for rel in lscope.relations + rscope.relations]
        return join_plan, Scope(relations, outer)
    # FULL JOIN USING: the unqualified column is COALESCE(left, right)
    exprs, names_out, merged = [], [], []
    for f in join_plan.schema:
        exprs.append(f.column())
        names_out.append(f.name)
    hidden = set()
    for lref, rref in pairs:
        target = dt.common_supertype(lref.field.dtype, rref.field.dtype) or lref.field.dtype
        value = ExprBinder(ctx, Scope()).call(
            "coalesce", [coerce(lref.field.column(), target), coerce(rref.field.column(), target)],
            join)
        new = ctx.fresh(lref.name)
        exprs.append(value)
        names_out.append(new)
        merged.append(ColumnRef(lref.name, Field(new, value.dtype)))
        hidden |= {id(lref), id(rref)}
    plan = Project(join_plan, tuple(exprs), tuple(names_out))
    relations = [Relation(None, merged)] + [
        Relation(rel.alias, [ColumnRef(c.name, c.field, c.hidden or id(c) in hidden)
                             for c in rel.columns])
        for rel in lscope.relations + rscope.relations]
    return plan, Scope(relations, outer)


def _one(ctx, scope: Scope, name: str, node, side: str) -> ColumnRef:
    found = scope.find_local(None, name) or []
    fields = {c.field.name: c for c in found}
    if not fields:
        raise ctx.error(f"column '{name}' of USING not found on the {side} side", node)
    if len(fields) > 1:
        raise ctx.error(f"column '{name}' of USING is ambiguous on the {side} side", node)
    return next(iter(fields.values()))
