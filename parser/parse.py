"""SQL text -> sqlglot ASTs, one per statement.

`parse(sql, dialect=None)` splits the text on `;` (outside quotes and
comments), recognises the statements sqlglot does not parse the way we need
(`EXPLAIN [ANALYZE] [VERBOSE] ...`, `CREATE EXTERNAL TABLE ...`,
`SHOW TABLES`), and parses the rest with sqlglot's DuckDB dialect. With
another dialect each statement is parsed with that dialect, printed as DuckDB
SQL and parsed again, so the binder only ever sees DuckDB ASTs.

Positions: each statement is parsed inside a copy of the whole text where
everything before it is blanked out (newlines kept), so sqlglot's line and
column numbers and node offsets are those of the user's text.
Syntax errors become `quiver.errors.ParseError` with line and column.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.errors import TokenError

from ..errors import ParseError
from .external_table import ExternalTableStatement, parse_external_table

DEFAULT_DIALECT = "duckdb"


class _NoCommandFallbackWarning(logging.Filter):
    """sqlglot logs a warning when it falls back to an opaque Command
    (`SHOW SCHEMAS`); the binder then reads the command or refuses it with
    its own message, so the warning would only be noise on the user's
    terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_NoCommandFallbackWarning())


class ExplainStatement(exp.Expression):
    """EXPLAIN [ANALYZE] [VERBOSE] <statement>."""
    arg_types = {"this": True, "analyze": False, "verbose": False}


@dataclass(frozen=True)
class ParsedStatement:
    ast: exp.Expression
    text: str          # the user's text (blank-padded) that positions refer to
    source: str        # the statement's own text, trimmed
    shifts: tuple[tuple[int, int], ...] = ()   # see source_offset
    n_params: int = 0  # `?` placeholders in this statement

    def source_offset(self, offset: int) -> int:
        """Map an offset in the parsed text back to `text` (each `?` was
        parsed as a longer `$N`; shifts are (parsed offset, total growth))."""
        growth = 0
        for at, total in self.shifts:
            if offset > at:
                growth = total
        return offset - growth


def parse(sql: str, dialect: str | None = None) -> list[exp.Expression]:
    """Parse `sql` (one or more statements separated by `;`)."""
    return [p.ast for p in parse_statements(sql, dialect)]


def parse_statements(sql: str, dialect: str | None = None) -> list[ParsedStatement]:
    dialect = (dialect or DEFAULT_DIALECT).lower()
    out = []
    n_params = 0
    for start, end in split_statements(sql):
        padded = _blank(sql[:start]) + sql[start:end]
        parsed = _parse_one(padded, start, dialect, n_params)
        n_params += parsed.n_params
        out.append(parsed)
    return out


def _scan_code(text: str, start: int):
    """Offsets of the characters of `text[start:]` outside quotes and comments."""
    i, n = start, len(text)
    while i < n:
        c = text[i]
        if c in "'\"`":
            j = i + 1
            while True:
                j = text.find(c, j)
                if j < 0:
                    return
                if j + 1 < n and text[j + 1] == c:
                    j += 2
                    continue
                break
            i = j + 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            yield i
            i += 1


def number_placeholders(text: str, start: int, first: int):
    """Rewrite each `?` as `$N` (N counting from first + 1) so the binder
    knows which parameter each placeholder is; returns the new text, the
    count and the offset shifts (see ParsedStatement.source_offset)."""
    marks = [i for i in _scan_code(text, start) if text[i] == "?"]
    if not marks:
        return text, 0, ()
    parts, shifts, last, growth = [], [], 0, 0
    for k, i in enumerate(marks):
        token = f"${first + k + 1}"
        parts.append(text[last:i])
        parts.append(token)
        last = i + 1
        growth += len(token) - 1
        shifts.append((i + growth, growth))
    parts.append(text[last:])
    return "".join(parts), len(marks), tuple(shifts)


def split_statements(sql: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each non-empty statement, split on `;`."""
    spans = []
    i, n, start = 0, len(sql), 0
    while i < n:
        c = sql[i]
        if c in "'\"`":
            j = i + 1
            while True:
                j = sql.find(c, j)
                if j < 0:
                    line, col = line_col(sql, i)
                    raise ParseError("unterminated quoted text", sql, line, col)
                if j + 1 < n and sql[j + 1] == c:   # doubled quote inside
                    j += 2
                    continue
                break
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            if j < 0:
                line, col = line_col(sql, i)
                raise ParseError("unterminated comment", sql, line, col)
            i = j + 2
        elif c == ";":
            spans.append((start, i))
            i += 1
            start = i
        else:
            i += 1
    spans.append((start, n))
    return [(s, e) for s, e in spans if _has_code(sql[s:e])]


def _has_code(text: str) -> bool:
    stripped = re.sub(r"--[^\n]*|/\*.*?\*/", " ", text, flags=re.S)
    return bool(stripped.strip())


def _code_offset(text: str) -> int:
    """Offset of the first character that is not blank or in a comment."""
    m = re.match(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", text, flags=re.S)
    return m.end() if m else 0


def _blank(prefix: str) -> str:
    return re.sub(r"[^\n]", " ", prefix)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


_EXPLAIN = re.compile(r"\s*explain\b((?:\s+(?:analyze|analyse|verbose)\b)*)", re.I)
_EXTERNAL = re.compile(r"\s*create\s+(?:or\s+replace\s+)?external\s+table\b", re.I)
_SHOW_TABLES = re.compile(r"\s*show\s+tables\s*$", re.I)


def _parse_one(padded: str, start: int, dialect: str, first_param: int = 0) -> ParsedStatement:
    start += _code_offset(padded[start:])
    body = padded[start:]
    source = body.strip()
    m = _EXPLAIN.match(body)
    if m:
        words = m.group(1).lower().split()
        inner_start = start + m.end()
        if not _has_code(padded[inner_start:]):
            line, col = line_col(padded, start + m.end())
            raise ParseError("EXPLAIN needs a statement", padded, line, col)
        inner = _parse_one(_blank(padded[:inner_start]) + padded[inner_start:],
                           inner_start, dialect, first_param)
        ast = ExplainStatement(this=inner.ast, analyze="analyze" in words or "analyse" in words,
                               verbose="verbose" in words)
        return ParsedStatement(ast, inner.text, source, inner.shifts, inner.n_params)
    if _EXTERNAL.match(body):
        return ParsedStatement(parse_external_table(padded, start), padded, source)
    if _SHOW_TABLES.match(body):
        return ParsedStatement(exp.Show(this="TABLES"), padded, source)
    try:
        if dialect == DEFAULT_DIALECT:
            numbered, count, shifts = number_placeholders(padded, start, first_param)
            parsed = ParsedStatement(None, padded, source, shifts, count)  # type: ignore[arg-type]
            try:
                ast = sqlglot.parse_one(numbered, read=DEFAULT_DIALECT)
            except SqlglotParseError as e:
                raise _convert_parse_error(e, parsed) from None
            return ParsedStatement(ast, padded, source, shifts, count)
        foreign = sqlglot.parse_one(padded, read=dialect)
        text = foreign.sql(dialect=DEFAULT_DIALECT)
        return _parse_one(text, 0, DEFAULT_DIALECT, first_param)
    except SqlglotParseError as e:
        raise _convert_parse_error(e, ParsedStatement(None, padded, source)) from None  # type: ignore[arg-type]
    except TokenError as e:
        raise ParseError(f"cannot tokenize: {e}", padded, None, None) from None
    except ValueError as e:   # unknown dialect name
        raise ParseError(str(e), None, None, None) from None


def _convert_parse_error(e: SqlglotParseError, parsed: ParsedStatement) -> ParseError:
    info = e.errors[0] if e.errors else {}
    desc = info.get("description") or str(e).split("\n")[0]
    highlight = info.get("highlight")
    line, col = info.get("line"), info.get("col")
    text = parsed.text
    unknown = _unknown_statement(text)
    if unknown is not None:
        return unknown
    desc = user_words(desc, highlight)
    if highlight and line is not None and col is not None:
        # sqlglot's col is the end of the highlighted token, in the parsed text
        line_start = 0
        for _ in range(line - 1):
            line_start = text.find("\n", line_start) + 1
        end = parsed.source_offset(line_start + col - 1)
        line, col = line_col(text, max(end - len(highlight) + 1, line_start))
        message = f"syntax error near '{highlight}': {desc}"
    else:
        message = f"syntax error: {desc}"
    return ParseError(message, text, line, col)


# statements a text may start with (an unknown first word is the error)
_STATEMENT_WORDS = frozenset("""
    SELECT WITH VALUES FROM TABLE CREATE DROP SHOW DESCRIBE DESC EXPLAIN INSERT COPY SET
    RESET RESUME UPDATE DELETE MERGE PRAGMA SUMMARIZE ALTER ATTACH DETACH USE CALL INSTALL
    LOAD EXPORT IMPORT CHECKPOINT VACUUM ANALYZE BEGIN START COMMIT ROLLBACK ABORT END PIVOT
    UNPIVOT TRUNCATE GRANT REVOKE COMMENT PREPARE EXECUTE DEALLOCATE""".split())
_OPERATORS = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "IntDiv": "//", "Mod": "%",
              "EQ": "=", "NEQ": "<>", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">=",
              "And": "AND", "Or": "OR", "DPipe": "||", "Pow": "^", "Like": "LIKE",
              "ILike": "ILIKE", "Is": "IS", "In": "IN", "NullSafeEQ": "IS NOT DISTINCT FROM",
              "BitwiseAnd": "&", "BitwiseOr": "|", "BitwiseXor": "xor", "Not": "NOT"}
_CLAUSES = {"Where": "WHERE", "Having": "HAVING", "Group": "GROUP BY", "Order": "ORDER BY",
            "Limit": "LIMIT", "Offset": "OFFSET", "Alias": "AS", "Cast": "CAST",
            "Join": "JOIN", "Qualify": "QUALIFY", "Between": "BETWEEN", "Case": "CASE",
            "If": "WHEN", "Distinct": "DISTINCT", "Filter": "FILTER", "Window": "OVER"}
_REQUIRED = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>")
_TOKEN = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: .*?>")


def user_words(desc: str, highlight: str | None = None) -> str:
    """sqlglot's description of a syntax error in the user's words: no class
    names or token reprs (`Required keyword: 'expression' missing for <class
    'sqlglot.expressions.core.Mul'>` -> `expected an expression after '*'`)."""
    m = _REQUIRED.search(desc)
    if m:
        arg, cls = m.group(1), m.group(2)
        if cls in _OPERATORS:
            return f"expected an expression after '{_OPERATORS[cls]}'"
        if cls == "Between":
            return "BETWEEN needs an upper bound: x BETWEEN low AND high"
        if cls in _CLAUSES:
            return f"{_CLAUSES[cls]} is incomplete"
        return f"incomplete {re.sub(r'(?<!^)(?=[A-Z])', ' ', cls).lower()}"
    desc = _TOKEN.sub(lambda t: "the end of the statement" if t.group(1) == "SENTINEL"
                      else f"'{t.group(2)}'", desc)
    if desc.startswith("Invalid expression / Unexpected token"):
        return f"unexpected '{highlight}'" if highlight else "unexpected text"
    m = re.fullmatch(r"Expecting (.+)", desc)
    if m:
        return f"expected '{m.group(1)}'"
    m = re.fullmatch(r"Expected (.+?) but got (.+)", desc)
    if m:
        return f"expected {m.group(1)}, found {m.group(2)}"
    return desc[:1].lower() + desc[1:]


def _unknown_statement(text: str) -> ParseError | None:
    """`SELEC 1`: the first word is no statement; the error points at it."""
    start = _code_offset(text)
    m = re.match(r"[A-Za-z_]\w*", text[start:])
    if m is None or m.group(0).upper() in _STATEMENT_WORDS:
        return None
    import difflib
    word = m.group(0)
    close = difflib.get_close_matches(word.upper(), sorted(_STATEMENT_WORDS), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    line, col = line_col(text, start)
    return ParseError(f"syntax error near '{word}': not a statement{hint}", text, line, col)


__all__ = ["parse", "parse_statements", "ParsedStatement", "ExplainStatement",
           "ExternalTableStatement", "split_statements", "line_col", "DEFAULT_DIALECT"]
