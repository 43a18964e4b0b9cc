"""Name resolution state: the per-query BindContext and the Scope of a FROM.

`BindContext` is shared by everything bound for one statement: the catalog,
the `?` parameter values, the counter that makes internal column names
unique (`l_orderkey#3`), the stack of views being expanded (to catch
cycles), and the text that error positions refer to.

A `Scope` lists the relations of one FROM clause (alias -> columns) and links
to the scope of the enclosing query, so a correlated subquery resolves an
outer column to the outer plan's internal name. Matching is
case-insensitive, as in DuckDB; the user-visible name keeps its case.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from sqlglot import exp

from ..errors import BindError, NotSupportedError
from ..planner import expr as ex
from ..planner.logical import Field
from .parse import line_col


class CatalogEntry(Protocol):
    kind: str          # 'table' | 'view'


class Catalog(Protocol):
    """What the binder needs from storage/catalog.py."""

    def lookup(self, name: str) -> CatalogEntry | None: ...


class BindContext:
    """Per-statement binding state (shared by subqueries, CTEs and views)."""

    def __init__(self, sql: str, catalog: Any, params: list[ex.Literal] | None = None,
                 source_offset: Callable[[int], int] | None = None,
                 counter: itertools.count | None = None,
                 view_stack: tuple[str, ...] = ()):
        self.sql = sql
        self.catalog = catalog
        self.params = params or []
        self.source_offset = source_offset or (lambda o: o)
        self.counter = counter or itertools.count(1)
        self.view_stack = view_stack
        self.ctes: list[dict[str, Any]] = []   # a stack of WITH frames
        self.column_sites: dict[str, exp.Expression] = {}  # internal name -> first use
        self.query_runner: Callable | None = None   # bound query -> pa.Table (binder.bind)

    def fresh(self, name: str) -> str:
        """A plan-unique internal column name."""
        return f"{name}#{next(self.counter)}"

    def for_view(self, name: str, sql: str) -> "BindContext":
        """A context for a view's own text (same counter, no parameters)."""
        child = BindContext(sql, self.catalog, [], None, self.counter,
                            self.view_stack + (name,))
        return child

    # --- errors ----------------------------------------------------------
    def position(self, node: exp.Expression | None) -> tuple[int | None, int | None]:
        start = _start_offset(node)
        if start is None:
            return None, None
        return line_col(self.sql, self.source_offset(start))

    def error(self, message: str, node: exp.Expression | None = None) -> BindError:
        line, col = self.position(node)
        return BindError(message, self.sql, line, col)

    def not_supported(self, what: str, node: exp.Expression | None = None) -> NotSupportedError:
        line, col = self.position(node)
        where = f" at line {line}, column {col}" if line is not None else ""
        return NotSupportedError(f"{what} is not supported{where}")


def _start_offset(node: exp.Expression | None) -> int | None:
    if node is None:
        return None
    best = None
    for n in node.walk():
        if isinstance(n, exp.Expression):
            start = n.meta.get("start") if n._meta else None
            if start is not None and (best is None or start < best):
                best = start
    return best


# --- scopes --------------------------------------------------------------------

@dataclass
class ColumnRef:
    name: str            # user-visible column name
    field: Field         # internal name and type
    hidden: bool = False  # only reachable qualified (USING duplicates)


@dataclass
class Relation:
    alias: str | None
    columns: list[ColumnRef]

    def find(self, name: str, include_hidden: bool) -> list[ColumnRef]:
        low = name.lower()
        return [c for c in self.columns
                if c.name.lower() == low and (include_hidden or not c.hidden)]


@dataclass
class Scope:
    relations: list[Relation] = field(default_factory=list)
    parent: "Scope | None" = None
    correlated: bool = False      # a column of an enclosing scope was used

    def local_names(self) -> set[str]:
        return {c.field.name for r in self.relations for c in r.columns}

    def relation(self, alias: str) -> Relation | None:
        low = alias.lower()
        for r in self.relations:
            if r.alias is not None and r.alias.lower() == low:
                return r
        return None

    def find_local(self, table: str | None, column: str) -> list[ColumnRef] | None:
        """Matches in this scope; None when `table` names no relation here."""
        if table is not None:
            rel = self.relation(table)
            if rel is None:
                return None
            return rel.find(column, include_hidden=True)
        out: list[ColumnRef] = []
        for r in self.relations:
            out.extend(r.find(column, include_hidden=False))
        return out

    def user_name(self, internal: str) -> str | None:
        """The name a column of this scope is known by (its catalog spelling)."""
        for r in self.relations:
            for c in r.columns:
                if c.field.name == internal:
                    return c.name
        return None

    def all_names(self) -> list[str]:
        names = []
        s: Scope | None = self
        while s is not None:
            names.extend(c.name for r in s.relations for c in r.columns)
            s = s.parent
        return names


def resolve_column(ctx: BindContext, scope: Scope, table: str | None, column: str,
                   node: exp.Expression, extra_names: list[str] = ()) -> ex.Column | None:
    """The bound column for `[table.]column`, searching outward; None if absent.
    Raises BindError when the name is ambiguous."""
    s: Scope | None = scope
    depth = 0
    while s is not None:
        found = s.find_local(table, column)
        if found:
            fields = {c.field.name: c for c in found}
            if len(fields) > 1:
                shown = f"{table}.{column}" if table else column
                raise ctx.error(f"column '{shown}' is ambiguous", node)
            ref = next(iter(fields.values()))
            if depth:
                t: Scope | None = scope
                for _ in range(depth):
                    t.correlated = True   # type: ignore[union-attr]
                    t = t.parent           # type: ignore[union-attr]
            return ex.Column(ref.field.name, ref.field.dtype, ref.field.nullable)
        s = s.parent
        depth += 1
    return None


def unknown_column(ctx: BindContext, scope: Scope, table: str | None, column: str,
                   node: exp.Expression, extra_names: list[str] = ()) -> BindError:
    shown = f"{table}.{column}" if table else column
    if table is not None:
        s: Scope | None = scope
        while s is not None and s.relation(table) is None:
            s = s.parent
        if s is None:
            return ctx.error(f"column '{shown}' not found: no table named '{table}' "
                             f"in the FROM clause", node)
    candidates = list(dict.fromkeys(scope.all_names() + list(extra_names)))
    close = difflib.get_close_matches(column, candidates, n=1, cutoff=0.6)
    if not close:
        low = {c.lower(): c for c in candidates}
        close = [low[column.lower()]] if column.lower() in low else []
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ctx.error(f"column '{shown}' not found{hint}", node)


def identifier_name(ident: exp.Expression | str | None) -> str | None:
    """An identifier's name: lower-cased unless quoted."""
    if ident is None:
        return None
    if isinstance(ident, str):
        return ident.lower()
    if isinstance(ident, exp.Identifier):
        return ident.this if ident.quoted else ident.this.lower()
    return ident.name.lower()
