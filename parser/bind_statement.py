"""One parsed statement -> one `parser.statements` Statement.

SELECT-like queries are bound to plans (bind_select.py); DDL statements
are checked and turned into plain descriptions the session executes:
CREATE EXTERNAL TABLE, CREATE TABLE ... AS, CREATE VIEW, CREATE FUNCTION, DROP, SHOW TABLES,
DESCRIBE, and EXPLAIN [ANALYZE] [VERBOSE] around any of them.
"""

from __future__ import annotations

from sqlglot import exp

from . import statements as S
from .bind_function_ddl import bind_create_function
from .bind_select import bind_query
from .external_table import ExternalTableStatement
from .parse import ExplainStatement
from .scope import BindContext, identifier_name


def bind_statement(ast: exp.Expression, catalog, params=None, sql: str | None = None) -> S.Statement:
    """Bind one sqlglot statement. `params` are `?` values in order (Python
    values or typed `expr.Literal`s); `sql` is the text for error positions."""
    from ..planner import expr as ex
    from .literals import python_literal
    lits = [p if isinstance(p, ex.Literal) else python_literal(p) for p in (params or [])]
    return bind_in_context(BindContext(sql or ast.sql("duckdb"), catalog, lits), ast)


def bind_in_context(ctx: BindContext, ast: exp.Expression) -> S.Statement:
    if isinstance(ast, ExplainStatement):
        inner = bind_in_context(ctx, ast.this)
        return S.Explain(inner, bool(ast.args.get("analyze")), bool(ast.args.get("verbose")))
    if isinstance(ast, exp.Query):
        return S.Select(bind_query(ctx, ast, None))
    if isinstance(ast, ExternalTableStatement):
        a = ast.args
        return S.CreateExternalTable(
            name=a["name"],
            columns=tuple(S.ColumnDef(n, t) for n, t in a.get("columns") or ()),
            location=a["location"],
            partitioned_by=tuple(S.ColumnDef(n, t) for n, t in a.get("partitioned_by") or ()),
            if_not_exists=bool(a.get("if_not_exists")),
            or_replace=bool(a.get("or_replace")),
            options=tuple(a.get("options") or ()))
    if isinstance(ast, exp.Create):
        return _create(ctx, ast)
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
            return S.ShowTables()
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
    if isinstance(ast, exp.Command):
        raise ctx.not_supported(f"statement {str(ast.this).upper()}", None)
    raise ctx.not_supported(f"statement {type(ast).__name__.upper()}", ast)


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
            raise ctx.not_supported("CREATE TABLE with a column list (use CREATE EXTERNAL "
                                    "TABLE or CREATE TABLE ... AS SELECT)", ast)
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
        props = ast.args.get("properties")
        for prop in (props.expressions if props is not None else []):
            if isinstance(prop, exp.PartitionedByProperty):
                schema = prop.this
                cols = schema.expressions if isinstance(schema, exp.Schema) else [schema]
                for c in cols:
                    partitioned.append(identifier_name(c.this if isinstance(c, exp.ColumnDef)
                                                       else c))
            else:
                raise ctx.not_supported(f"table property {prop.sql('duckdb')}", prop)
        bound = bind_query(ctx, query, None)
        outputs = {n.lower() for n in bound.output_names}
        for p in partitioned:
            if p.lower() not in outputs:
                raise ctx.error(f"partition column '{p}' is not a column of the query", ast)
        return S.CreateTableAs(name, bound, tuple(partitioned), replace, exists)
    raise ctx.not_supported(f"CREATE {kind}", ast)
