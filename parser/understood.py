"""What the binder understands of sqlglot's trees: nothing is silently ignored.

    check_tree(ctx, ast)   # before binding a statement (or a view's query)

walks every node of the tree. A node whose type is not declared here, or
that carries a non-empty argument its declaration does not name, is refused
with `NotSupportedError` naming the construct (`SELECT ... QUALIFY`,
`* RENAME`, `JOIN MATCH_CONDITION`, `expression Lateral`) and its position.

Declarations are per node type: `NODES[type] = args the binder reads`.
Function calls (`exp.Func` subclasses not declared in NODES) follow one
generic rule, because sql_functions.function_call passes their expression
arguments positionally: every expression-valued argument is consumed, and a
flag (a non-expression value such as `safe=True`) must be declared in
FUNC_FLAGS, where each flag names a DuckDB default that the evaluator
implements. Classes whose arguments function_call picks by name
(`_ARG_ORDER`) consume only those names. Whether the function exists at all
is the function registry's business (an unknown one is a ProgrammingError).

A declaration is a promise: the binder reads that argument and implements
it (or raises). tests/parser/test_understood.py walks every sqlglot
expression type and checks that any other argument is refused.
"""

from __future__ import annotations

from sqlglot import exp

from .external_table import ExternalTableStatement
from .parse import ExplainStatement
from .sql_functions import _ARG_ORDER

_BINARY = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.EQ, exp.NEQ,
           exp.LT, exp.LTE, exp.GT, exp.GTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.And,
           exp.Or, exp.Pow, exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor,
           exp.BitwiseLeftShift, exp.BitwiseRightShift)
_QUERY_TAIL = ("with_", "order", "limit", "offset")

NODES: dict[type, frozenset[str]] = {k: frozenset(v) for k, v in {
    # statements
    ExplainStatement: ("this", "analyze", "verbose"),
    ExternalTableStatement: tuple(ExternalTableStatement.arg_types),
    exp.Create: ("this", "kind", "expression", "exists", "replace", "properties"),
    exp.Properties: ("expressions",),
    exp.PartitionedByProperty: ("this",),
    exp.LocationProperty: ("this",),
    exp.UserDefinedFunction: ("this", "expressions", "wrapped"),   # CREATE FUNCTION
    exp.ReturnsProperty: ("this", "is_table"),
    exp.LanguageProperty: ("this",),
    exp.Schema: ("this", "expressions"),
    exp.ColumnDef: ("this", "kind", "constraints"),   # bind_dml refuses any constraint
    exp.Drop: ("kind", "exists", "tables"),
    exp.Show: ("this", "from_"),
    exp.Describe: ("this",),
    exp.Set: ("expressions", "unset", "tag"),        # bind_statement._set: one name = literal
    exp.SetItem: ("this", "kind"),
    exp.Command: ("this", "expression"),             # RESET name; any other command is refused
    exp.Insert: ("this", "expression", "with_",      # bind_dml.bind_insert refuses the rest by name
                 "overwrite", "ignore", "alternative", "by_name", "returning", "where",
                 "conflict", "partition", "settings", "source", "default", "hint",
                 "is_function", "exists", "stored", "using"),
    exp.Copy: ("this", "kind", "files", "credentials", "format", "params"),  # bind_dml.bind_copy
    exp.CopyParameter: ("this", "expression"),
    exp.Credentials: tuple(exp.Credentials.arg_types),   # any credential is refused
    exp.Pivot: ("this", "alias", "expressions", "fields", "unpivot", "using", "group",
                "columns", "include_nulls", "default_on_null", "into", "with_",
                "value_columns_first",
                # how sqlglot's DuckDB dialect names pivot columns: pivot.py names them as DuckDB
                "identify_pivot_strings", "prefixed_pivot_columns", "pivot_column_naming"),
    exp.UnpivotColumns: ("this", "expressions"),       # UNPIVOT ... INTO NAME k VALUE v
    # queries
    exp.Select: ("expressions", "from_", "joins", "where", "group", "having", "windows",
                 "distinct", "sample", "qualify") + _QUERY_TAIL,
    exp.Union: ("this", "expression", "distinct") + _QUERY_TAIL,
    exp.Intersect: ("this", "expression", "distinct") + _QUERY_TAIL,
    exp.Except: ("this", "expression", "distinct") + _QUERY_TAIL,
    exp.Subquery: ("this", "alias", "sample", "pivots") + _QUERY_TAIL,
    exp.Values: ("expressions", "alias", "order", "limit", "offset"),
    exp.With: ("expressions",),
    exp.CTE: ("this", "alias", "materialized"),     # MATERIALIZED is a hint only
    exp.From: ("this",),
    exp.Table: ("this", "db", "alias", "sample", "pivots"),   # bind_from._pivoted
    exp.TableAlias: ("this", "columns"),
    exp.TableSample: ("method", "percent", "rows", "size", "seed"),
    exp.Join: ("this", "kind", "side", "method", "on", "using"),
    exp.Where: ("this",),
    exp.Having: ("this",),
    exp.Group: ("expressions", "all", "rollup", "cube", "grouping_sets"),
    exp.Rollup: ("expressions",),
    exp.Cube: ("expressions",),
    exp.GroupingSets: ("expressions",),
    exp.Order: ("expressions", "this"),    # this: agg(x ORDER BY ...) (bind_expr)
    exp.Qualify: ("this",),
    exp.WithinGroup: ("this", "expression"),   # percentile_cont(q) WITHIN GROUP (ORDER BY x)
    exp.Ordered: ("this", "desc", "nulls_first"),
    exp.Limit: ("expression", "limit_options"),
    exp.Fetch: ("direction", "count", "limit_options"),
    exp.LimitOptions: ("percent", "rows", "with_ties"),
    exp.Offset: ("expression",),
    exp.Distinct: ("expressions",),
    exp.Star: ("except_", "replace", "rename"),
    exp.Alias: ("this", "alias"),
    exp.WindowSpec: ("kind", "start", "start_side", "end", "end_side"),
    exp.Window: ("this", "partition_by", "order", "spec", "alias", "over"),
    # names and leaves
    exp.Column: ("this", "table"),
    exp.Identifier: ("this", "quoted"),
    exp.Literal: ("this", "is_string"),
    exp.Boolean: ("this",),
    exp.Null: (),
    exp.Var: ("this",),
    exp.Placeholder: ("this",),
    exp.Parameter: ("this",),
    exp.DataType: ("this", "expressions", "nested", "kind"),   # kind: a user type, refused by arrow_type
    exp.DataTypeParam: ("this",),
    exp.Paren: ("this",),
    exp.Tuple: ("expressions",),
    exp.Array: ("expressions",),
    exp.Kwarg: ("this", "expression"),
    exp.PropertyEQ: ("this", "expression"),
    # operators
    **{t: ("this", "expression") for t in _BINARY},
    exp.DPipe: ("this", "expression", "safe"),       # safe: NULL in, NULL out (DuckDB)
    exp.Neg: ("this",),
    exp.Not: ("this",),
    exp.BitwiseNot: ("this",),
    exp.In: ("this", "expressions", "query"),
    exp.Exists: ("this",),
    exp.Is: ("this", "expression"),
    exp.Like: ("this", "expression", "negate"),
    exp.ILike: ("this", "expression", "negate"),
    exp.Escape: ("this", "expression"),
    exp.Any: ("this",),
    exp.All: ("this",),
    exp.Between: ("this", "low", "high"),
    exp.Case: ("this", "ifs", "default"),
    exp.If: ("this", "true", "false"),
    exp.Cast: ("this", "to"),
    exp.TryCast: ("this", "to", "safe"),
    exp.Extract: ("this", "expression"),
    exp.Interval: ("this", "unit"),
    exp.Filter: ("this", "expression"),
    exp.IgnoreNulls: ("this",),
    exp.RespectNulls: ("this",),
    exp.Count: ("this", "expressions", "big_int"),   # big_int: the result is BIGINT
    exp.Anonymous: ("this", "expressions"),
    exp.ReadParquet: ("expressions",),
    # functions function_call reads by name
    exp.Trim: ("this", "expression", "position"),
    exp.Pad: ("this", "expression", "fill_pattern", "is_left"),
    exp.Log: ("this", "expression"),
    exp.DateDiff: ("this", "expression", "unit", "big_int", "date_part_boundary"),
    exp.TimestampTrunc: ("this", "unit"),
    exp.DateTrunc: ("this", "unit"),
    exp.Coalesce: ("this", "expressions"),
    exp.Greatest: ("this", "expressions", "ignore_nulls"),   # DuckDB skips NULLs
    exp.Least: ("this", "expressions", "ignore_nulls"),
    exp.Concat: ("expressions", "safe", "coalesce"),
    exp.ConcatWs: ("expressions", "safe", "coalesce"),
    exp.RegexpReplace: ("this", "expression", "replacement", "modifiers",
                        "single_replace"),   # first match only unless 'g' (DuckDB)
}.items()}

# flags of generic function classes (non-expression values) that mean what
# the evaluator does
FUNC_FLAGS: dict[type, frozenset[str]] = {
    # DuckDB's regexp_extract has no position argument: the flag never applies
    exp.RegexpExtract: frozenset({"null_if_pos_overflow"}),
}

# friendlier words for some refused arguments
_WORDS = {
    (exp.With, "recursive"): "WITH RECURSIVE",
    (exp.Select, "qualify"): "QUALIFY",
    (exp.Select, "laterals"): "LATERAL",
    (exp.Select, "pivots"): "PIVOT",
    (exp.Select, "into"): "SELECT INTO",
    (exp.Select, "distinct_on"): "DISTINCT ON",
    (exp.Distinct, "on"): "DISTINCT ON",
    (exp.Star, "ilike"): "* ILIKE",
    (exp.Ordered, "with_fill"): "ORDER BY ... WITH FILL",
    (exp.In, "unnest"): "IN UNNEST",
    (exp.Union, "by_name"): "UNION BY NAME",
    (exp.Between, "symmetric"): "BETWEEN SYMMETRIC",
    (exp.Column, "db"): "a column name with more than two parts",
    (exp.Column, "catalog"): "a column name with more than two parts",
    (exp.Table, "catalog"): "a table name with more than two parts",
    (exp.WindowSpec, "exclude"): "window frame EXCLUDE",
    (exp.Order, "this"): "ORDER BY inside an aggregate's arguments",
}


def _empty(value) -> bool:
    return value is None or value is False or value == [] or value == ""


def understood_args(node: exp.Expression) -> frozenset[str] | None:
    """The arguments the binder reads on this node, or None if it does not
    know the node type at all."""
    cls = type(node)
    declared = NODES.get(cls)
    if declared is not None:
        return declared
    if isinstance(node, exp.Func):
        order = _ARG_ORDER.get(cls.__name__)
        if order is not None:
            return frozenset(order) | FUNC_FLAGS.get(cls, frozenset())
        expression_args = {k for k, v in node.args.items()
                           if isinstance(v, exp.Expression)
                           or (isinstance(v, list) and v
                               and all(isinstance(x, exp.Expression) for x in v))}
        return frozenset(expression_args) | FUNC_FLAGS.get(cls, frozenset())
    return None


def refusal(node: exp.Expression) -> str | None:
    """What is not supported about this node itself (not its children)."""
    known = understood_args(node)
    if known is None:
        return f"{_construct(node)}"
    for key, value in node.args.items():
        if key.startswith("_") or key in known or _empty(value):
            continue
        return _WORDS.get((type(node), key)) or f"{_keyword(node)} {key.rstrip('_').replace('_', ' ').upper()}"
    return None


def check_tree(ctx, ast: exp.Expression) -> None:
    """Raise NotSupportedError for the first node (outermost first) that is
    not understood. DataType subtrees are read whole by literals.arrow_type,
    which refuses what it does not map."""
    for node in ast.walk(bfs=True, prune=lambda n: isinstance(n, exp.DataType)):
        problem = refusal(node)
        if problem is not None:
            raise ctx.not_supported(problem, node)


def _keyword(node: exp.Expression) -> str:
    if isinstance(node, exp.Func) and not isinstance(node, (exp.Cast, exp.Case, exp.If)):
        return f"{node.sql_name().lower()}() option"
    return node.key.upper()


def _construct(node: exp.Expression) -> str:
    try:
        text = node.sql("duckdb") if not isinstance(node, (ExplainStatement,
                                                           ExternalTableStatement)) else ""
    except Exception:       # noqa: BLE001 - a fragment sqlglot cannot print alone
        text = ""
    text = " ".join(text.split())
    if len(text) > 40:
        text = text[:37] + "..."
    if isinstance(node, exp.Command):
        words = f"{node.this or ''} {node.expression or ''}".split()
        return f"statement {' '.join(words[:3]).upper()}"
    if isinstance(node, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
        return f"statement {node.key.upper()}"
    return f"{node.key.upper()} ('{text}')" if text else node.key.upper()
