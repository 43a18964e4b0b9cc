"""The exceptions users see: the PEP 249 hierarchy plus finer classes.

Every error a user can cause is one of these. The finer classes subclass the
PEP 249 ones so that `except quiver.ProgrammingError` still catches them.
"""

from __future__ import annotations


class Warning(Exception):  # noqa: A001 - PEP 249 name
    """Important warnings (PEP 249)."""


class Error(Exception):
    """Base of every Quiver error (PEP 249)."""


class InterfaceError(Error):
    """Misuse of the DB-API interface: closed connection, no result set."""


class DatabaseError(Error):
    """Errors related to the database engine."""


class DataError(DatabaseError):
    """A value is wrong: division by zero, failed CAST, bad subquery row count."""


class OperationalError(DatabaseError):
    """The engine could not run the query: lost worker, timeout, cancel."""


class IntegrityError(DatabaseError):
    """Relational integrity (unused by a read-only engine, kept for PEP 249)."""


class InternalError(DatabaseError):
    """A bug in Quiver: an invariant did not hold."""


class ProgrammingError(DatabaseError):
    """Bad SQL, unknown table or column, type error."""


class NotSupportedError(DatabaseError):
    """A feature Quiver does not (yet) support."""


def disk_full_message(what: str, larger_disk: str) -> str:
    """A full disk (ENOSPC) in the user's words: `what` filled it, and how to
    put the files on a larger disk."""
    return (f"{what} (No space left on device): free some space, {larger_disk}, raise "
            "memory_limit, or set spill_limit below the free space")


def position_suffix(sql: str | None, line: int | None, col: int | None) -> str:
    """`line L, column C` plus the offending line with a caret under it."""
    if line is None or col is None:
        return ""
    text = f" at line {line}, column {col}"
    if sql:
        lines = sql.splitlines() or [sql]
        if 1 <= line <= len(lines):
            src = lines[line - 1]
            text += f"\n  {src}\n  {' ' * max(col - 1, 0)}^"
    return text


class PositionedError(ProgrammingError):
    """A user error that points at a place in the query text."""

    def __init__(self, message: str, sql: str | None = None,
                 line: int | None = None, col: int | None = None):
        self.message = message
        self.sql = sql
        self.line = line
        self.col = col
        super().__init__(message + position_suffix(sql, line, col))


class ParseError(PositionedError):
    """The SQL text does not parse."""


class BindError(PositionedError):
    """A name or type in the query is wrong: unknown column, bad coercion."""


class PlanError(ProgrammingError):
    """The query is valid SQL but cannot be planned."""


class ExecutionError(OperationalError):
    """A task failed; the message names the stage, task and worker."""

    def __init__(self, message: str, stage: int | None = None,
                 task: int | None = None, worker: str | None = None):
        self.stage, self.task, self.worker = stage, task, worker
        where = []
        if stage is not None:
            where.append(f"stage {stage}")
        if task is not None:
            where.append(f"task {task}")
        if worker is not None:
            where.append(f"worker {worker}")
        super().__init__(message + (f" ({', '.join(where)})" if where else ""))


class QueryCancelled(OperationalError):
    """The query was cancelled by the user."""


class QueryTimedOut(QueryCancelled):
    """The query ran longer than its statement_timeout and was stopped."""


class MemoryLimitExceeded(OperationalError):
    """A reservation from the memory pool was refused even after spilling;
    the message names the operator, the stage when known, and the bytes asked."""


class SpillLimitExceeded(OperationalError):
    """A query wrote more spill data than its spill-disk limit allows."""


__all__ = [
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
    "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
    "NotSupportedError", "ParseError", "BindError", "PlanError",
    "ExecutionError", "QueryCancelled", "PositionedError", "MemoryLimitExceeded",
    "SpillLimitExceeded", "QueryTimedOut",
]
