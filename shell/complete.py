"""Tab completion for the shell: keywords, functions, tables, and the columns
of the tables named in the statement under the cursor.

    schema = SchemaCache(connection)       # SHOW TABLES / DESCRIBE name, cached
    completer = SqlCompleter(schema)       # a prompt_toolkit Completer

After FROM / JOIN / DESCRIBE / TABLE only tables are offered. `alias.` or
`table.` offers that table's columns. Elsewhere the columns of the tables in
the current statement come first (of every table when the statement names
none yet), then functions, keywords and tables. Matching ignores case;
keywords follow the case of what was typed. The cache is dropped after a
statement that may change the catalog (`SchemaCache.invalidate`).
"""

from __future__ import annotations

import re
from typing import Iterable

from prompt_toolkit.completion import Completer, Completion

KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "OFFSET",
    "AS", "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "BETWEEN", "EXISTS",
    "CASE", "WHEN", "THEN", "ELSE", "END", "DISTINCT", "ALL", "UNION", "INTERSECT",
    "EXCEPT", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "ON", "USING",
    "WITH", "ASC", "DESC", "NULLS", "FIRST", "LAST", "CAST", "TRY_CAST", "INTERVAL",
    "DATE", "TIMESTAMP", "TRUE", "FALSE", "OVER", "PARTITION", "ROWS", "RANGE",
    "PRECEDING", "FOLLOWING", "UNBOUNDED", "CURRENT", "ROW", "FILTER", "ESCAPE",
    "CREATE", "EXTERNAL", "TABLE", "VIEW", "REPLACE", "STORED", "PARQUET", "LOCATION",
    "PARTITIONED", "DROP", "IF", "SHOW", "TABLES", "DESCRIBE", "EXPLAIN", "ANALYZE",
    "VERBOSE", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "VARCHAR", "BOOLEAN",
)

_OPERATOR_NAMES = frozenset({
    "add", "sub", "mul", "div", "intdiv", "neg", "and", "or", "not", "eq", "ne", "lt",
    "le", "gt", "ge", "is_null", "is_not_null", "is_distinct_from",
    "is_not_distinct_from", "like", "ilike", "count_star", "mod",
})

_TABLE_CONTEXT = re.compile(
    r"\b(from|join|describe|table|into|exists)\s+(?:[\w.]+\s*,\s*)*[\w.]*$",
    re.IGNORECASE)
_WORD_BEFORE = re.compile(r"([\w$]+\.)?([\w$]*)$")
_IDENT = re.compile(r"^[A-Za-z_][\w$]*$")


def function_names() -> list[str]:
    """Scalar, aggregate and window function names the engine knows."""
    names: set[str] = set()
    try:
        from ..planner import functions, functions_agg
        names |= set(functions.scalar_names())
        names |= set(getattr(functions, "ALIASES", {}))
        for attr in ("AGGREGATES", "AGG_ALIASES", "RANKING", "VALUE_WINDOW"):
            names |= set(getattr(functions_agg, attr, ()))
    except Exception:                # noqa: BLE001 - completion is best effort
        pass
    return sorted(n for n in names if n not in _OPERATOR_NAMES)


class SchemaCache:
    """Table and column names, asked of the connection once and remembered."""

    def __init__(self, connection):
        self.connection = connection
        self._tables: list[str] | None = None
        self._columns: dict[str, list[str]] = {}

    def invalidate(self) -> None:
        self._tables = None
        self._columns.clear()

    def tables(self) -> list[str]:
        if self._tables is None:
            try:
                rows = self.connection.execute("SHOW TABLES").fetchall()
                self._tables = [str(r[0]) for r in rows]
            except Exception:        # noqa: BLE001 - no names rather than no shell
                return []
        return self._tables

    def columns(self, table: str) -> list[str]:
        key = table.lower()
        if key not in self._columns:
            try:
                rows = self.connection.execute(f"DESCRIBE {quote(table)}").fetchall()
                self._columns[key] = [str(r[0]) for r in rows]
            except Exception:        # noqa: BLE001
                self._columns[key] = []
        return self._columns[key]

    def find_table(self, name: str) -> str | None:
        low = name.strip('"').lower()
        for t in self.tables():
            if t.lower() == low:
                return t
        return None


def quote(name: str) -> str:
    return name if _IDENT.match(name) else '"' + name.replace('"', '""') + '"'


def current_statement(text: str, cursor: int) -> tuple[str, int]:
    """The `;`-delimited piece of `text` around `cursor` and the cursor in it
    (a rough cut: a `;` inside a string literal also splits)."""
    start = text.rfind(";", 0, cursor) + 1
    end = text.find(";", cursor)
    end = len(text) if end < 0 else end
    return text[start:end], cursor - start


def tables_in(statement: str, schema: SchemaCache) -> tuple[list[str], dict[str, str]]:
    """Known tables named in `statement`, and alias -> table."""
    tables: list[str] = []
    aliases: dict[str, str] = {}
    known = {t.lower(): t for t in schema.tables()}
    words = re.findall(r'"[^"]+"|[\w$.]+', statement)
    for i, word in enumerate(words):
        table = known.get(word.strip('"').lower())
        if table is None:
            continue
        if table not in tables:
            tables.append(table)
        j = i + 1
        if j < len(words) and words[j].lower() == "as":
            j += 1
        if j < len(words):
            alias = words[j].strip('"')
            if _IDENT.match(alias) and alias.upper() not in KEYWORDS:
                aliases[alias.lower()] = table
    return tables, aliases


class SqlCompleter(Completer):
    def __init__(self, schema: SchemaCache):
        self.schema = schema
        self._functions: list[str] | None = None

    def functions(self) -> list[str]:
        if self._functions is None:
            self._functions = function_names()
        return self._functions

    def get_completions(self, document, complete_event) -> Iterable[Completion]:
        statement, cursor = current_statement(document.text, document.cursor_position)
        before = statement[:cursor]
        m = _WORD_BEFORE.search(before)
        qualifier = (m.group(1) or "")[:-1]
        prefix = m.group(2)
        for text, meta in self.candidates(statement, before, qualifier, prefix):
            yield Completion(text, start_position=-len(prefix), display_meta=meta)

    def candidates(self, statement: str, before: str, qualifier: str,
                   prefix: str) -> list[tuple[str, str]]:
        low = prefix.lower()
        tables, aliases = tables_in(statement, self.schema)
        if qualifier:
            table = aliases.get(qualifier.lower()) or self.schema.find_table(qualifier)
            if table is None:
                return []
            return _matching(self.schema.columns(table), low, "column", quote_names=True)
        out: list[tuple[str, str]] = []
        if _TABLE_CONTEXT.search(before):
            return _matching(self.schema.tables(), low, "table", quote_names=True)
        sources = tables or self.schema.tables()[:50]
        columns: list[str] = []
        for t in sources:
            for c in self.schema.columns(t):
                if c not in columns:
                    columns.append(c)
        out += _matching(columns, low, "column", quote_names=True)
        out += _matching(self.functions(), low, "function")
        keywords = [k if prefix[:1].isupper() or not prefix else k.lower() for k in KEYWORDS]
        out += _matching(keywords, low, "keyword")
        out += _matching(self.schema.tables(), low, "table", quote_names=True)
        seen: set[str] = set()
        unique = []
        for text, meta in out:
            if text.lower() not in seen:
                seen.add(text.lower())
                unique.append((text, meta))
        return unique


def _matching(names: Iterable[str], low: str, meta: str,
              quote_names: bool = False) -> list[tuple[str, str]]:
    return [(quote(n) if quote_names else n, meta) for n in names
            if n.lower().startswith(low)]
