"""The binder's entry point: SQL text -> list of bound Statements.

    bind("SELECT ... WHERE x > ?", catalog, params=[10]) -> [Select(BoundQuery)]

Parses (parse.py), checks the number of `?` parameters against `params`,
and binds each statement in its own BindContext (fresh internal-name
counter, positions in the user's text).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from ..errors import ProgrammingError
from . import statements as S
from .bind_statement import bind_in_context
from .literals import python_literal
from .parse import parse_statements
from .scope import BindContext


def bind(sql: str, catalog: Any, params: Sequence[Any] | None = None,
         dialect: str | None = None,
         query_runner: Callable[[Any], Any] | None = None) -> list[S.Statement]:
    """Parse and bind every statement in `sql` against `catalog`.
    `query_runner(bound_query) -> pa.Table`, when given, lets binding ask the
    data (a PIVOT without an IN list needs the distinct values)."""
    return list(bind_each(sql, catalog, params, dialect, query_runner))


def bind_each(sql: str, catalog: Any, params: Sequence[Any] | None = None,
              dialect: str | None = None,
              query_runner: Callable[[Any], Any] | None = None) -> "_LazyStatements":
    """As `bind`, but each statement is bound only when the caller asks for
    it, so a script's INSERT INTO sees the table its CREATE made. The whole
    text is parsed (and the parameter count checked) before the first one."""
    if not isinstance(sql, str):
        raise ProgrammingError(f"SQL must be a string, not {type(sql).__name__}")
    parsed = parse_statements(sql, dialect)
    expected = sum(p.n_params for p in parsed)
    given = list(params) if params is not None else []
    if isinstance(params, (str, bytes)):
        raise ProgrammingError("parameters must be a sequence, not a string")
    if len(given) != expected:
        raise ProgrammingError(f"the statement has {expected} parameter(s) but "
                               f"{len(given)} were given")
    try:
        literals = [python_literal(v) for v in given]
    except TypeError as e:
        raise ProgrammingError(str(e)) from None
    return _LazyStatements(parsed, catalog, literals, query_runner)


class _LazyStatements:
    """The statements of one text, each bound when iteration reaches it;
    len() is known up front (the caller can tell which one is last)."""

    def __init__(self, parsed, catalog, literals, query_runner):
        self._parsed, self._catalog = parsed, catalog
        self._literals, self._query_runner = literals, query_runner

    def __len__(self) -> int:
        return len(self._parsed)

    def __iter__(self) -> Iterator[S.Statement]:
        for p in self._parsed:
            ctx = BindContext(p.text, self._catalog, self._literals, p.source_offset)
            ctx.query_runner = self._query_runner
            yield bind_in_context(ctx, p.ast)
