"""One parsed statement -> one `parser.statements` Statement.

SELECT-like queries are bound to plans (bind_select.py); DDL statements
are checked and turned into plain descriptions the session executes:
CREATE EXTERNAL TABLE, CREATE TABLE ... AS, CREATE VIEW, CREATE FUNCTION, DROP, SHOW TABLES,
DESCRIBE, INSERT, COPY and CREATE TABLE (cols) (bind_dml.py), and EXPLAIN [ANALYZE]
[VERBOSE] around any of them.
"""

from __future__ import annotations

import re

from sqlglot import exp

from . import statements as S
from .bind_dml import bind_copy, bind_create_table, bind_insert
from .bind_function_ddl import bind_create_function
from .bind_select import bind_query
from .external_table import ExternalTableStatement
from .parse import ExplainStatement
from .scope import BindContext, identifier_name
from .understood import check_tree


def bind_statement(ast: exp.Expression, catalog, params=None, sql: str | None = None) -> S.Statement:
    """Bind one sqlglot statement. `params` are `?` values in order (Python
    values or typed `expr.Literal`s); `sql` is the text for error positions."""
    from ..planner import expr as ex
    from .literals import python_literal
    lits = [p if isinstance(p, ex.Literal) else python_literal(p) for p in (params or [])]
    return bind_in_context(BindContext(sql or ast.sql("duckdb"), catalog, lits), ast)


def bind_in_context(ctx: BindContext, ast: exp.Expression) -> S.Statement:
    check_tree(ctx, ast)
    if isinstance(ast, ExplainStatement):
        inner = bind_in_context(ctx, ast.this)
        return S.Explain(inner, bool(ast.args.get("analyze")), bool(ast.args.get("verbose")))
    if isinstance(ast, (exp.Query, exp.Pivot)):
        return S.Select(bind_query(ctx, ast, None))
    if isinstance(ast, ExternalTableStatement):
        a = ast.args
        fmt = a.get("file_format") or "parquet"
        storage, read = _split_options(ctx, fmt, a.get("options") or ())
        return S.CreateExternalTable(
            name=a["name"],
            columns=tuple(S.ColumnDef(n, t) for n, t in a.get("columns") or ()),
            location=a["location"],
            partitioned_by=tuple(S.ColumnDef(n, t) for n, t in a.get("partitioned_by") or ()),
            if_not_exists=bool(a.get("if_not_exists")),
            or_replace=bool(a.get("or_replace")),
            options=storage, file_format=fmt, read_options=read)
    if isinstance(ast, exp.Create):
        return _create(ctx, ast)
    if isinstance(ast, exp.Insert):
        return bind_insert(ctx, ast)
    if isinstance(ast, exp.Copy):
        return bind_copy(ctx, ast)
    if isinstance(ast, exp.Drop):
        kind = (ast.args.get("kind") or "").lower()
        if kind not in ("table", "view", "function"):
            raise ctx.not_supported(f"DROP {kind.upper()}", ast)
        tables = ast.args.get("tables") or [ast.this]
        if len(tables) != 1:
            raise ctx.not_supported("DROP of several objects", ast)
        return S.Drop(kind, _table_name(tables[0]), bool(ast.args.get("exists")))
    if isinstance(ast, exp.Show):
        what = str(ast.this or "").upper()
        if what == "TABLES":
            source = ast.args.get("from_")
            if source is None:
                return S.ShowTables()
            schema = _table_name(source).lower()
            if schema not in ("main", "memory", "system"):
                raise ctx.error(f"schema '{schema}' does not exist (there are main "
                                f"and system)", source)
            return S.ShowTables(None if schema in ("main", "memory") else schema)
        raise ctx.not_supported(f"SHOW {what}", ast)
    if isinstance(ast, exp.Describe):
        target = ast.this
        if isinstance(target, exp.Query):
            return S.Describe(query=bind_query(ctx, target, None))
        if isinstance(target, exp.Table):
            name = _table_name(target)
            if ctx.catalog.lookup(name) is None:
                raise ctx.error(f"table '{name}' does not exist", target)
            return S.Describe(name=name)
        raise ctx.not_supported(f"DESCRIBE {target.sql('duckdb')}", ast)
    if isinstance(ast, exp.Set):
        return _set(ctx, ast)
    if isinstance(ast, exp.Command) and str(ast.this).upper() == "RESET":
        name = ast.expression.name if ast.expression is not None else ""
        if not re.fullmatch(r"[A-Za-z_]\w*", name.strip()):
            raise ctx.not_supported(f"RESET {name}", None)
        return S.SetOption(name.strip().lower(), None)
    if isinstance(ast, exp.Command):
        words = f"{ast.this or ''} {ast.expression or ''}".split()
        if [w.upper() for w in words] in (["SHOW", "SCHEMAS"], ["SHOW", "DATABASES"]):
            return S.ShowSchemas()
        raise ctx.not_supported(f"statement {' '.join(words[:2]).upper()}", None)
    raise ctx.not_supported(f"statement {type(ast).__name__.upper()}", ast)


def _set(ctx: BindContext, ast: exp.Set) -> S.SetOption:
    """SET name = literal (one setting; the session checks the name)."""
    if ast.args.get("unset") or ast.args.get("tag") or len(ast.expressions) != 1:
        raise ctx.not_supported("this form of SET", ast)
    item = ast.expressions[0]
    eq = item.this if isinstance(item, exp.SetItem) else None
    if item.args.get("kind") or not isinstance(eq, exp.EQ) \
            or not isinstance(eq.this, exp.Column) or eq.this.table:
        raise ctx.not_supported(f"SET {item.sql('duckdb')}", ast)
    value = eq.expression
    negative = isinstance(value, exp.Neg)
    if negative:
        value = value.this
    if isinstance(value, exp.Literal):
        if value.is_string:
            v = value.this
        else:
            v = float(value.this) if any(c in value.this for c in ".eE") else int(value.this)
            v = -v if negative else v
    elif isinstance(value, exp.Boolean):
        v = bool(value.this)
    else:
        raise ctx.not_supported(f"SET to {value.sql('duckdb')} (use a literal)", ast)
    return S.SetOption(eq.this.name.lower(), v)


_CSV_OPTIONS = {"header": "header", "delimiter": "delimiter", "delim": "delimiter",
                "sep": "delimiter"}


def _split_options(ctx, fmt: str, options) -> tuple[tuple, tuple]:
    """OPTIONS (...) of CREATE EXTERNAL TABLE: CSV reading options apart from
    the storage (filesystem) options."""
    storage, read = [], {}
    for key, value in options:
        name = _CSV_OPTIONS.get(key.lower()) if fmt == "csv" else None
        if name is None:
            storage.append((key, value))
            continue
        text = value.strip("'\"")
        if name == "header":
            if text.lower() not in ("true", "false"):
                raise ctx.error(f"OPTIONS header must be true or false, not {value}")
            read[name] = text.lower() == "true"
        else:
            if len(text) != 1:
                raise ctx.error(f"OPTIONS delimiter must be one character, not {value}")
            read[name] = text
    return tuple(storage), tuple(sorted(read.items()))


def _table_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Table):
        parts = [identifier_name(node.args.get(k)) for k in ("catalog", "db")
                 if node.args.get(k) is not None]
        return ".".join(parts + [identifier_name(node.this)])
    return identifier_name(node)


def _create(ctx: BindContext, ast: exp.Create) -> S.Statement:
    kind = (ast.args.get("kind") or "").upper()
    if kind == "FUNCTION":
        return bind_create_function(ctx, ast)
    if kind not in ("VIEW", "TABLE"):
        raise ctx.not_supported(f"CREATE {kind or 'statement'}", ast)
    target = ast.this
    query = ast.expression
    if isinstance(target, exp.Schema):
        if kind == "TABLE" and ast.expression is None:
            return bind_create_table(ctx, ast)
        columns = [c for c in target.expressions if isinstance(c, exp.Identifier)]
        if kind == "VIEW" and columns and isinstance(query, exp.Query):
            # CREATE VIEW v (a, b) AS q  ==  CREATE VIEW v AS SELECT * FROM (q) AS v(a, b)
            alias = exp.TableAlias(this=exp.to_identifier("_view"),
                                   columns=[c.copy() for c in columns])
            query = exp.select("*").from_(exp.Subquery(this=query.copy(), alias=alias))
        target = target.this
    name = _table_name(target)
    replace = bool(ast.args.get("replace"))
    exists = bool(ast.args.get("exists"))
    if kind == "VIEW":
        if not isinstance(query, exp.Query):
            raise ctx.error("CREATE VIEW needs AS SELECT ...", ast)
        if any(True for _ in query.find_all(exp.Placeholder)):
            raise ctx.error("a view cannot hold ? parameters", query)
        bound = bind_query(ctx, query, None)
        return S.CreateView(name, query.sql("duckdb"), replace, bound)
    if kind == "TABLE":
        if not isinstance(query, exp.Query):
            raise ctx.not_supported("CREATE TABLE without AS SELECT", ast)
        partitioned: list[str] = []
        location = None
        props = ast.args.get("properties")
        for prop in (props.expressions if props is not None else []):
            if isinstance(prop, exp.PartitionedByProperty):
                schema = prop.this
                cols = schema.expressions if isinstance(schema, exp.Schema) else [schema]
                for c in cols:
                    partitioned.append(identifier_name(c.this if isinstance(c, exp.ColumnDef)
                                                       else c))
            elif isinstance(prop, exp.LocationProperty) and isinstance(prop.this, exp.Literal) \
                    and prop.this.is_string:
                location = prop.this.this
            else:
                raise ctx.not_supported(f"table property {prop.sql('duckdb')}", prop)
        bound = bind_query(ctx, query, None)
        outputs = {n.lower() for n in bound.output_names}
        for p in partitioned:
            if p.lower() not in outputs:
                raise ctx.error(f"partition column '{p}' is not a column of the query", ast)
        return S.CreateTableAs(name, bound, tuple(partitioned), replace, exists, location)
    raise ctx.not_supported(f"CREATE {kind}", ast)
