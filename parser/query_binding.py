"""Binding a whole query from inside one of its parts: `bind_query` and
`bind_values`, as bind_select.py registers them.

Why this module exists: binding is mutually recursive. bind_select.py binds
a SELECT by binding its parts (expressions in bind_expr.py, the FROM clause
in bind_from.py, PIVOT in pivot.py), and those parts hold queries of their
own (a subquery in an expression; a derived table, view, CTE or VALUES in
FROM; the probe queries of a PIVOT) that must be bound as queries again.
Instead of importing bind_select back (a circle), the parts call the
functions here, and bind_select.py registers its binders once, when it is
imported. It always is before anything binds: the parser package's
__init__ imports binder.py, which imports bind_select.py through
bind_statement.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import InternalError

if TYPE_CHECKING:
    from sqlglot import exp

    from ..planner.logical import BoundQuery
    from .scope import BindContext, Scope

_query_binder: Callable | None = None
_values_binder: Callable | None = None


def register_query_binders(bind_query: Callable, bind_values: Callable) -> None:
    """Called once by bind_select.py with its `bind_query` and `bind_values`."""
    global _query_binder, _values_binder
    _query_binder, _values_binder = bind_query, bind_values


def bind_query(ctx: BindContext, node: exp.Expression, outer: Scope | None) -> BoundQuery:
    """Bind any query expression (SELECT, set operation, VALUES,
    parenthesized): bind_select.bind_query."""
    if _query_binder is None:
        raise InternalError("no query binder registered (parser.bind_select not imported)")
    return _query_binder(ctx, node, outer)


def bind_values(ctx: BindContext, node: exp.Values, outer: Scope | None) -> BoundQuery:
    """Bind a VALUES list: bind_select.bind_values."""
    if _values_binder is None:
        raise InternalError("no VALUES binder registered (parser.bind_select not imported)")
    return _values_binder(ctx, node, outer)
