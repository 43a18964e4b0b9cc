"""INSERT INTO and COPY ... TO -> `parser.statements` Insert / Copy.

`INSERT INTO t [(cols)] SELECT ... | VALUES ...` binds the query, checks it
against the table's columns (named columns in the list, the rest NULL; no
list: every column in order) and casts each value to its column's type, so
the session only runs the query and appends Parquet files to the table's
folder (Hive partition columns become `key=value/` folders).

`COPY (query) | t TO 'uri' (FORMAT parquet|csv|json, PARTITION_BY (...),
HEADER, DELIMITER, OVERWRITE, OVERWRITE_OR_IGNORE)` binds the query and the
options; anything else (COPY ... FROM, other options) is refused by name.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .. import datatypes as dt
from ..planner import expr as ex
from ..planner.functions_base import cast_allowed
from ..planner.logical import BoundQuery, Project
from . import statements as S
from .aggregates import base_name
from .bind_select import bind_query
from .scope import BindContext, identifier_name


def _table_name(node: exp.Table) -> str:
    parts = [identifier_name(node.args.get(k)) for k in ("catalog", "db")
             if node.args.get(k) is not None]
    return ".".join(parts + [identifier_name(node.this)])


def _select_star(name: str) -> exp.Select:
    return exp.select("*").from_(exp.Table(this=exp.to_identifier(name, quoted=True)))


def bind_insert(ctx: BindContext, ast: exp.Insert) -> S.Insert:
    for key in ("overwrite", "ignore", "alternative", "by_name", "returning", "where",
                "conflict", "partition", "settings", "source", "default", "hint",
                "is_function", "exists", "stored", "using"):
        value = ast.args.get(key)
        if value:
            what = {"alternative": f"INSERT OR {str(value).upper()}",
                    "by_name": "INSERT ... BY NAME", "default": "INSERT ... DEFAULT VALUES",
                    "conflict": "INSERT ... ON CONFLICT"}.get(key, f"INSERT {key.upper()}")
            raise ctx.not_supported(what, ast)
    target = ast.this
    listed: list[exp.Expression] | None = None
    if isinstance(target, exp.Schema):
        listed = list(target.expressions)
        target = target.this
    if not isinstance(target, exp.Table) or isinstance(target.this, exp.Func):
        raise ctx.not_supported(f"INSERT INTO {target.sql('duckdb')}", target)
    name = _table_name(target)
    entry = ctx.catalog.lookup(name)
    if entry is None:
        raise ctx.error(f"table '{name}' does not exist", target)
    if entry.kind != "table":
        raise ctx.error(f"cannot INSERT INTO view '{name}'", target)
    table = bind_query(ctx, _select_star(name), None)
    columns = list(table.output_names)
    types = [f.dtype for f in table.plan.schema]
    query_node = ast.expression
    if not isinstance(query_node, (exp.Query, exp.Values)):
        raise ctx.not_supported(f"INSERT source {type(query_node).__name__}", ast)
    with_ = ast.args.get("with_") or ast.args.get("with")
    if with_ is not None:       # WITH x AS (...) INSERT INTO t SELECT ... FROM x
        if not isinstance(query_node, exp.Query) or query_node.args.get("with_"):
            raise ctx.not_supported("WITH around INSERT ... VALUES or a second WITH", ast)
        query_node = query_node.copy()
        query_node.set("with_", with_.copy())
    query = bind_query(ctx, query_node, None)
    fields = query.plan.schema

    if listed is None:
        positions = list(range(len(columns)))
    else:
        lower = [c.lower() for c in columns]
        positions = []
        for ident in listed:
            col = identifier_name(ident.this if isinstance(ident, exp.Column) else ident)
            if col.lower() not in lower:
                raise ctx.error(f"table '{name}' has no column '{col}'", ident)
            k = lower.index(col.lower())
            if k in positions:
                raise ctx.error(f"column '{col}' is named twice in the INSERT column list",
                                ident)
            positions.append(k)
    if len(fields) != len(positions):
        raise ctx.error(f"table '{name}' expects {len(positions)} values per row "
                        f"but the query gives {len(fields)}", query_node)

    source_of = dict(zip(positions, fields))
    exprs: list[ex.Expr] = []
    for k, (col, want) in enumerate(zip(columns, types)):
        f = source_of.get(k)
        if f is None:
            exprs.append(ex.Literal(None, want))
            continue
        have = f.dtype
        if have == want:
            exprs.append(f.column())
        elif pa.types.is_null(have):
            exprs.append(ex.Literal(None, want))
        elif cast_allowed(have, want):
            exprs.append(ex.Cast(f.column(), want))
        else:
            raise ctx.error(f"column '{col}' is {dt.sql_name(want)}: a "
                            f"{dt.sql_name(have)} value cannot be inserted", query_node)
    names = tuple(ctx.fresh(base_name(c)) for c in columns)
    plan = Project(query.plan, tuple(exprs), names)
    return S.Insert(name, BoundQuery(plan, tuple(columns)))


def bind_create_table(ctx: BindContext, ast: exp.Create) -> S.CreateTable:
    """CREATE [OR REPLACE] TABLE [IF NOT EXISTS] t (col type, ...): column
    constraints and table properties are refused by name."""
    from .literals import TypeNotSupported, arrow_type
    schema = ast.this
    props = ast.args.get("properties")
    if props is not None and props.expressions:
        raise ctx.not_supported(f"table property {props.expressions[0].sql('duckdb')}", props)
    columns: list[S.ColumnDef] = []
    seen: set[str] = set()
    for col in schema.expressions:
        if not isinstance(col, exp.ColumnDef) or col.args.get("kind") is None:
            raise ctx.not_supported(f"table element {col.sql('duckdb')}", col)
        name = identifier_name(col.this)
        if name.lower() in seen:
            raise ctx.error(f"column '{name}' is defined twice", col)
        seen.add(name.lower())
        for c in col.args.get("constraints") or []:
            raise ctx.not_supported(f"column constraint {c.sql('duckdb')}", c)
        try:
            columns.append(S.ColumnDef(name, arrow_type(col.args["kind"])))
        except TypeNotSupported as e:
            raise ctx.error(f"unknown {e}", col) from None
    if not columns:
        raise ctx.error("CREATE TABLE needs at least one column", ast)
    return S.CreateTable(_table_name(schema.this), tuple(columns),
                         bool(ast.args.get("replace")), bool(ast.args.get("exists")))


_FORMATS = ("parquet", "csv", "json")


def bind_copy(ctx: BindContext, ast: exp.Copy) -> S.Copy:
    if ast.args.get("kind"):
        raise ctx.not_supported("COPY ... FROM", ast)
    if ast.args.get("format"):
        raise ctx.not_supported(f"COPY {ast.args['format'].sql('duckdb')}", ast)
    creds = ast.args.get("credentials")
    if creds is not None and any(v for v in creds.args.values()):
        raise ctx.not_supported("COPY credentials", creds)
    source = ast.this
    if isinstance(source, exp.Table) and not isinstance(source.this, exp.Func):
        if source.args.get("alias") is not None:
            raise ctx.not_supported("an alias in COPY table TO", source)
        node = _select_star(_table_name(source))
        if isinstance(source, exp.Schema):
            raise ctx.not_supported("a column list in COPY table TO", source)
    elif isinstance(source, exp.Schema):
        raise ctx.not_supported("a column list in COPY table TO", source)
    elif isinstance(source, exp.Subquery):
        node = source.this if source.args.get("alias") is None else source
    elif isinstance(source, exp.Query):
        node = source
    else:
        raise ctx.not_supported(f"COPY of {source.sql('duckdb')}", source)
    files = ast.args.get("files") or []
    if len(files) != 1 or not (isinstance(files[0], exp.Literal) and files[0].is_string):
        raise ctx.error("COPY ... TO needs one location string", ast)
    location = files[0].this
    query = bind_query(ctx, node, None)

    fmt = None
    partition_by: list[str] = []
    options: dict[str, object] = {}
    for p in ast.args.get("params") or []:
        key = p.this.name.lower() if p.this is not None else ""
        value = p.args.get("expression")
        if key == "format":
            fmt = _word(value).lower() if value is not None else ""
            if fmt not in _FORMATS:
                raise ctx.not_supported(f"COPY FORMAT {fmt.upper() or '?'}", p)
        elif key == "partition_by":
            while isinstance(value, exp.Paren):
                value = value.this
            items = value.expressions if isinstance(value, exp.Tuple) else [value]
            outputs = {n.lower(): n for n in query.output_names}
            for it in items:
                col = identifier_name(it.this if isinstance(it, exp.Column) else it)
                if col is None or col.lower() not in outputs:
                    raise ctx.error(f"PARTITION_BY column '{it.sql('duckdb')}' is not a "
                                    f"column of the query", it)
                partition_by.append(outputs[col.lower()])
        elif key == "header":
            options["header"] = _flag(ctx, value, p)
        elif key in ("delimiter", "delim", "sep"):
            if not (isinstance(value, exp.Literal) and value.is_string and len(value.this) == 1):
                raise ctx.error("DELIMITER must be one character in quotes", p)
            options["delimiter"] = value.this
        elif key in ("overwrite", "overwrite_or_ignore"):
            options[key] = _flag(ctx, value, p)
        else:
            raise ctx.not_supported(f"COPY option {key.upper()}", p)
    if fmt is None:
        ext = location.rsplit(".", 1)[-1].lower() if "." in location.rsplit("/", 1)[-1] else ""
        fmt = {"csv": "csv", "json": "json", "ndjson": "json", "jsonl": "json"}.get(ext, "parquet")
    if fmt != "csv" and ("header" in options or "delimiter" in options):
        raise ctx.not_supported(f"HEADER/DELIMITER with FORMAT {fmt.upper()}", ast)
    if partition_by and len(partition_by) == len(query.output_names):
        raise ctx.error("PARTITION_BY cannot use every column of the query", ast)
    return S.Copy(query, location, fmt, tuple(partition_by), tuple(sorted(options.items())))


def _word(node: exp.Expression) -> str:
    if isinstance(node, (exp.Var, exp.Identifier)) or (isinstance(node, exp.Literal)):
        return str(node.this)
    if isinstance(node, exp.Column):
        return identifier_name(node.this)
    return node.sql("duckdb")


def _flag(ctx: BindContext, value, node) -> bool:
    if value is None:
        return True
    if isinstance(value, exp.Boolean):
        return bool(value.this)
    word = _word(value).lower()
    if word in ("true", "1", "on"):
        return True
    if word in ("false", "0", "off"):
        return False
    raise ctx.error(f"expected TRUE or FALSE, got {value.sql('duckdb')}", node)
