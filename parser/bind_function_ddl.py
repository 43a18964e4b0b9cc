"""CREATE FUNCTION / DROP FUNCTION: Python UDFs registered by import name.

    CREATE [OR REPLACE] FUNCTION slugify [(VARCHAR, ...)] RETURNS VARCHAR
        LANGUAGE PYTHON AS 'mypkg.text:slugify'
    DROP FUNCTION [IF EXISTS] slugify

The function is vectorized: it takes one Arrow array per argument and returns
an Arrow array of the same length (executor/functions/python_udf.py). Only
its name ('module:function') is stored and sent to workers; each process
imports it from its own environment, so no code crosses the wire.
"""

from __future__ import annotations

import re

from sqlglot import exp

from . import statements as S
from .literals import TypeNotSupported, arrow_type
from .scope import BindContext

_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def bind_create_function(ctx: BindContext, ast: exp.Create) -> S.CreateFunction:
    target = ast.this
    arg_types = None
    if isinstance(target, exp.UserDefinedFunction):
        arg_types = tuple(_type(ctx, c.args.get("kind") if isinstance(c, exp.ColumnDef) else c)
                          for c in target.expressions)
        target = target.this
    name = target.name if isinstance(target, exp.Table) else str(target.this)
    props = ast.args.get("properties")
    returns, language = None, None
    for prop in (props.expressions if props is not None else []):
        if isinstance(prop, exp.ReturnsProperty) and not prop.args.get("is_table"):
            returns = _type(ctx, prop.this)
        elif isinstance(prop, exp.LanguageProperty):
            language = prop.this.name.upper()
        else:
            raise ctx.not_supported(f"function property {prop.sql('duckdb')}", prop)
    if language != "PYTHON":
        raise ctx.not_supported("CREATE FUNCTION other than LANGUAGE PYTHON AS "
                                "'module:function'", ast)
    if returns is None:
        raise ctx.error("CREATE FUNCTION needs RETURNS <type>", ast)
    body = ast.expression
    if not (isinstance(body, exp.Literal) and body.is_string and _TARGET.match(body.this)):
        raise ctx.error("a Python function is named AS 'package.module:function'", ast)
    return S.CreateFunction(name.lower(), body.this, returns, arg_types,
                            bool(ast.args.get("replace")), bool(ast.args.get("exists")))


def _type(ctx: BindContext, node):
    if not isinstance(node, exp.DataType):
        raise ctx.error("expected a type", node)
    try:
        return arrow_type(node)
    except TypeNotSupported as e:
        raise ctx.not_supported(str(e), node) from None
