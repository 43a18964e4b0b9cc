"""Signatures of the list functions: `[a, b, ...]` / list_value(...) builds a
list from its arguments (coerced to their common type; all-NULL arguments
make a list of INTEGER), and len / array_length of a list.

    [1, 2.5]      -> Call("list_value", (1::DOUBLE, 2.5), list<double>)
"""

from __future__ import annotations

import pyarrow as pa

from .. import datatypes as dt
from .expr import Call, Expr
from .functions_base import FunctionError, arity, cast_to, supertype_of, type_name


def _list_value(fn: str, args: list[Expr]) -> Expr:
    t = supertype_of("list_value", args) if args else dt.NULL
    if pa.types.is_null(t):
        t = dt.INT32
    return Call("list_value", tuple(cast_to(a, t) for a in args), pa.list_(t))


def _list_length(fn: str, args: list[Expr]) -> Expr:
    arity(fn, args, 1)
    if not pa.types.is_list(args[0].dtype):
        raise FunctionError(f"{fn}() needs a list, not {type_name(args[0].dtype)}")
    return Call("list_length", (args[0],), dt.INT64)


def register_all(table: dict) -> None:
    table["list_value"] = _list_value
    table["list_pack"] = _list_value
    table["array_length"] = _list_length
    table["list_length"] = _list_length
