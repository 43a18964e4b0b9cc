"""What the shell and `quiver sql` share: opening a connection, `--data`,
splitting script text into statements, and printing an error.

    con = open_connection(target, data_dir)      # --connect / QUIVER_CONNECT, --data
    for cmd in split_commands(text):              # statements (and shell meta lines)
        con.execute(cmd.padded_sql)               # positions count from the script start
    print(format_error(exc, source_text))         # "BindError: ...", the line, a caret

Splitting knows SQL quoting ('...', "...") and comments (-- and /* */), so a
`;` inside them does not end a statement. It does not parse SQL: that is
the engine's job.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .. import errors


# -- connection -----------------------------------------------------------------

def open_connection(target: str | None = None, data_dir: str | None = None,
                    db: str | None = None):
    """quiver.connect(target) (None: $QUIVER_CONNECT, else embedded; `db`, a
    database folder, instead of a target), then register the tables under
    `data_dir`."""
    import quiver
    if db is not None:
        if target:
            raise errors.ProgrammingError("give either a database path or --connect, not both")
        from ..storage.database import open_database
        open_database(db)            # a database path needs no .quiver suffix here
        return _with_data(quiver.connect(db), data_dir)
    target = target or os.environ.get("QUIVER_CONNECT") or None
    return _with_data(quiver.connect(target), data_dir)


def _with_data(con, data_dir: str | None):
    if data_dir:
        try:
            register_data_dir(con, data_dir)
        except BaseException:
            con.close()
            raise
    return con


def data_tables(data_dir: str) -> list[tuple[str, str]]:
    """(table name, path) for every Parquet file or folder directly under
    `data_dir`; a folder counts when it holds a .parquet file somewhere."""
    if not os.path.isdir(data_dir):
        raise errors.ProgrammingError(f"--data {data_dir!r} is not a directory")
    out = []
    for entry in sorted(os.listdir(data_dir)):
        if entry.startswith((".", "_")):
            continue
        path = os.path.join(data_dir, entry)
        if os.path.isfile(path) and entry.lower().endswith(".parquet"):
            out.append((entry[: -len(".parquet")], path))
        elif os.path.isdir(path) and _holds_parquet(path):
            name = entry[: -len(".parquet")] if entry.lower().endswith(".parquet") else entry
            out.append((name, path))
    return out


def _holds_parquet(folder: str) -> bool:
    for _root, _dirs, files in os.walk(folder):
        if any(f.lower().endswith(".parquet") for f in files):
            return True
    return False


def register_data_dir(con, data_dir: str) -> list[str]:
    """Register every table of `data_tables(data_dir)`; returns their names."""
    names = []
    for name, path in data_tables(data_dir):
        con.register(name, os.path.abspath(path))
        names.append(name)
    return names


# -- splitting ------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    """One statement (kind "sql") or shell meta-command line (kind "meta")."""
    kind: str
    text: str          # the statement without its `;`, stripped
    line: int          # 0-based line of its first character in the source
    col: int           # 0-based column of its first character

    @property
    def padded_sql(self) -> str:
        """The statement preceded by as many newlines and spaces as came
        before it, so that error positions count from the source start."""
        return "\n" * self.line + " " * self.col + self.text


def split_commands(text: str, meta: bool = False,
                   final: bool = False) -> tuple[list[Command], str]:
    """Split `text` into complete commands and the unfinished rest.

    A statement ends at a `;` outside quotes and comments. With `meta`, a
    line whose first non-blank character starts a command and is `\\` is a
    meta-command running to the end of that line. The rest is whatever
    follows the last complete command (blank or only comments when the
    text was complete). With `final`, an unfinished last statement is a
    command too (a script whose last statement has no `;`)."""
    commands: list[Command] = []
    i, n = 0, len(text)
    while True:
        i = _skip_space(text, i)
        if i >= n:
            return commands, ""
        if meta and text[i] == "\\":
            end = text.find("\n", i)
            end = n if end < 0 else end
            commands.append(Command("meta", text[i:end].strip(), *_line_col(text, i)))
            i = end
            continue
        end = _statement_end(text, i)
        if end is None:
            rest = text[i:]
            if only_comments(rest):
                return commands, ""
            if final:
                commands.append(Command("sql", rest.strip(), *_line_col(text, i)))
                return commands, ""
            return commands, rest
        body = text[i:end].strip()
        if body and not only_comments(body):
            commands.append(Command("sql", body, *_line_col(text, i)))
        i = end + 1


def is_complete(text: str, meta: bool = True) -> bool:
    """True when pressing Enter should run the buffer: it is blank, a meta
    command, or every statement in it ends with `;`."""
    stripped = text.strip()
    if not stripped or (meta and stripped.startswith("\\")):
        return True
    if stripped.lower() in ("exit", "quit"):
        return True
    _commands, rest = split_commands(text, meta=meta)
    return not rest.strip()


def only_comments(text: str) -> bool:
    i = _skip_space(text, 0)
    return i >= len(text)


def _skip_space(text: str, i: int) -> int:
    """Skip whitespace and comments from i."""
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            break
    return i


def _statement_end(text: str, i: int) -> int | None:
    """Index of the `;` ending the statement starting at i, or None."""
    n = len(text)
    while i < n:
        c = text[i]
        if c == ";":
            return i
        if c in ("'", '"', "`"):
            end = text.find(c, i + 1)
            while end >= 0 and c != "`" and text.startswith(c, end + 1):
                end = text.find(c, end + 2)        # doubled quote: escaped
            if end < 0:
                return None
            i = end + 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            if end < 0:
                return None
            i = end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return None
            i = end + 2
        else:
            i += 1
    return None


def _line_col(text: str, i: int) -> tuple[int, int]:
    line = text.count("\n", 0, i)
    start = text.rfind("\n", 0, i) + 1
    return line, i - start


# -- errors ---------------------------------------------------------------------

_WORD = re.compile(r"[\w$]+|\"[^\"]*\"|'[^']*'")


def format_error(exc: BaseException, source: str | None = None) -> str:
    """`Class: message`, and for an error with a position the offending
    line of `source` (or the error's own SQL) with carets under the
    offending text. Never a traceback."""
    if not isinstance(exc, errors.Error):
        return f"InternalError: {type(exc).__name__}: {exc}"
    name = type(exc).__name__
    line, col = getattr(exc, "line", None), getattr(exc, "col", None)
    if not isinstance(exc, errors.PositionedError) or line is None or col is None:
        return f"{name}: {exc}"
    sql = source if source is not None else exc.sql
    head = f"{name}: {exc.message} at line {line}, column {col}"
    lines = (sql or "").splitlines()
    if not 1 <= line <= len(lines):
        return head
    src = lines[line - 1].rstrip()
    at = max(col - 1, 0)
    m = _WORD.match(src, at) if at < len(src) else None
    width = max(1, len(m.group(0)) if m else 1)
    pad = "".join("\t" if ch == "\t" else " " for ch in src[:at])
    prefix = f"LINE {line}: "
    return f"{head}\n{prefix}{src}\n{' ' * len(prefix)}{pad}{'^' * width}"
