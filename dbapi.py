"""PEP 249 (DB-API 2.0) connection and cursor over a Quiver session.

    con = quiver.connect()
    cur = con.cursor()
    cur.execute("SELECT 1 + ?", [41]).fetchall()    # [(42,)]

Results come back as plain Python values (int, float, Decimal, str, date,
datetime, bool, None) or as Arrow (`fetch_arrow_table`,
`fetch_record_batches`). Every error is a `quiver.Error` subclass, and the
connection stays usable after one.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Callable, Iterator, Protocol, Sequence

import pyarrow as pa

from . import errors
from .errors import InterfaceError, NotSupportedError

class Engine(Protocol):
    """What a Connection drives. Each connect target opens one: the embedded
    session (session.py), a cluster client (cluster/client.py). Engines never
    import this module; the faces sit on top."""
    catalog: Any

    def execute(self, sql: str, params: Sequence | None = None,
                stream: bool = False) -> Any: ...   # stream: a SELECT as a ResultStream
    def close(self) -> None: ...


# Connect targets, tried in order: (what it is, does this target string name
# it, "module:function" that opens an Engine from (target, options)).
TARGETS: tuple[tuple[str, Callable[[str | None], bool], str], ...] = (
    ("embedded", lambda t: t in (None, "", "embedded", ":memory:"), "quiver.session:open_engine"),
    ("cluster", lambda t: bool(re.match(r"^local\[\d+\]$", t)) or t.startswith("quiver://"),
     "quiver.cluster.client:open_engine"),
    ("ray", lambda t: t == "ray" or t.startswith("ray://"), "quiver.cluster.ray_cluster:open_engine"),
    ("database", lambda t: _is_database_path(t), "quiver.session:open_database_engine"),
)


def _is_database_path(target: str) -> bool:
    from .storage.database import is_database_path
    return is_database_path(target)


def target_kind(target: str | None) -> str | None:
    """What a connect target names ("embedded", "cluster", "ray",
    "database"; TARGETS), or None for an unknown one."""
    for name, matches, _opener in TARGETS:
        if matches(target):
            return name
    return None


def connect(target: str | None = None, **options) -> "Connection":
    import os
    from . import config
    target = (target if target is not None
              else os.environ.get("QUIVER_CONNECT") or config.connect_target())
    defaults = {k: v for k, v in config.connect_options().items() if k not in options}
    options = {**defaults, **options}
    for _name, matches, opener in TARGETS:
        if matches(target):
            module, function = opener.split(":")
            try:
                engine = getattr(importlib.import_module(module), function)(target, options)
            except InterfaceError as exc:
                if any(repr(k) in str(exc) for k in defaults):
                    raise InterfaceError(f"{exc} (set in the config file {config.path()})") from None
                raise
            return Connection(engine)
    raise InterfaceError(
        f"unknown connect target {target!r}: use None (embedded), 'local[N]', "
        "'quiver://host:port', 'ray', 'ray://host:port' or a database path ending in .quiver")


def _guard(fn):
    """Turn any non-Quiver exception escaping the engine into InternalError,
    so a user never sees a bare engine traceback."""
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except errors.Error:
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except RecursionError:
            raise errors.NotSupportedError("query is too deeply nested") from None
        except Exception as exc:  # noqa: BLE001 - the one place this is right
            raise errors.InternalError(f"internal error: {type(exc).__name__}: {exc}") from exc
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


class Connection:
    def __init__(self, session):
        import weakref
        self.session = session
        self._closed = False
        self._cursors: "weakref.WeakSet[Cursor]" = weakref.WeakSet()

    def _check(self):
        if self._closed:
            raise InterfaceError("connection is closed")

    def cursor(self) -> "Cursor":
        self._check()
        return Cursor(self)

    def execute(self, sql: str, params: Sequence | None = None) -> "Cursor":
        return self.cursor().execute(sql, params)

    @_guard
    def register(self, name: str, source: Any) -> None:
        """Make `source` queryable as `name`: a path/URI/glob string, a
        pyarrow.Table, or a pandas DataFrame."""
        self._check()
        catalog = self.session.catalog
        if isinstance(source, str):
            from .storage.dataset import open_dataset
            catalog.register_dataset(name, open_dataset(source), replace=True)
            return
        if isinstance(source, pa.RecordBatch):
            source = pa.Table.from_batches([source])
        if not isinstance(source, pa.Table):
            if type(source).__name__ == "DataFrame" and hasattr(source, "columns"):
                source = pa.Table.from_pandas(source, preserve_index=False)
            else:
                raise errors.ProgrammingError(
                    f"cannot register {type(source).__name__}: use a path, a pyarrow.Table "
                    "or a pandas DataFrame")
        catalog.register_table(name, source, replace=True)

    @_guard
    def create_function(self, name: str, target: str, return_type) -> None:
        """Register a vectorized Python UDF: `target` is 'package.module:function'
        (Arrow arrays in, an Arrow array out), imported by that name in every
        process that runs the query; `return_type` is a SQL type name
        ('DOUBLE', 'VARCHAR', ...) or a pyarrow.DataType. Same as
        CREATE OR REPLACE FUNCTION name RETURNS type LANGUAGE PYTHON AS 'target'."""
        self._check()
        if isinstance(return_type, pa.DataType):
            from .datatypes import sql_name
            return_type = sql_name(return_type)
        quoted = '"' + name.replace('"', '""') + '"'
        literal = "'" + target.replace("'", "''") + "'"
        self.execute(f"CREATE OR REPLACE FUNCTION {quoted} RETURNS {return_type} "
                     f"LANGUAGE PYTHON AS {literal}")

    def commit(self) -> None:
        self._check()

    def rollback(self) -> None:
        self._check()
        raise NotSupportedError("Quiver has no transactions to roll back")

    def close(self) -> None:
        if not self._closed:
            for cur in list(self._cursors):
                cur._drop_result()             # stops queries still streaming
            self._closed = True
            close = getattr(self.session, "close", None)
            if close is not None:
                close()

    def cancel(self) -> None:
        self.session.cancel()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Cursor:
    """A cursor reads a SELECT's result while the query runs: `fetchmany`,
    `fetch_record_batches` and iteration pull batches from a ResultStream
    (executor/result_stream.py) that holds a bounded window; `fetchall` and
    `fetch_arrow_table` read the rest. `rowcount` is -1 until the row count
    is known (the query finished). `close()` stops a query still running."""

    arraysize = 1

    def __init__(self, connection: Connection):
        self.connection = connection
        self.arraysize = 1
        self._closed = False
        self._stream = None                       # ResultStream of the current result
        self._batch: pa.RecordBatch | None = None  # the batch being read
        self._pos = 0                             # next row of _batch
        self._pyrows: list[tuple] | None = None   # _batch as Python rows, once asked
        self.rowcount = -1
        self.description = None
        connection._cursors.add(self)
        self.messages: list = []    # PEP 249 extension: (Warning, Warning(text)) notices
        self.query_id: str | None = None     # set by execute

    def _check(self):
        if self._closed:
            raise InterfaceError("cursor is closed")
        self.connection._check()

    def _need_result(self):
        self._check()
        if self._stream is None:
            raise InterfaceError("no result set: execute a query first")
        return self._stream

    def _drop_result(self) -> None:
        stream, self._stream = self._stream, None
        self._batch, self._pos, self._pyrows = None, 0, None
        if stream is not None:
            stream.close()

    @_guard
    def execute(self, sql: str, params: Sequence | None = None) -> "Cursor":
        self._check()
        if not isinstance(sql, str):
            raise errors.ProgrammingError("SQL must be a string")
        self._drop_result()
        self.rowcount, self.description = -1, None
        self.messages = []
        self.query_id = None
        session = self.connection.session
        try:
            result = session.execute(sql, params, stream=True)
        except errors.Error:
            # a failed or cancelled query keeps its id: cursor.resume(cursor.query_id)
            self.query_id = getattr(session, "last_query_id", None)
            raise
        qid = getattr(result, "query_id", None)
        self.query_id = str(qid) if qid is not None else None
        if getattr(result, "message", ""):
            self.messages.append((errors.Warning, errors.Warning(result.message)))
        stream = result.stream
        if stream is None and result.table is not None:
            from .executor.result_stream import ResultStream
            stream = ResultStream.from_table(result.table)
        if stream is not None:
            self._stream = stream
            self.description = [
                (f.name, f.type, None, None, None, None, True) for f in stream.schema]
            self._note_rowcount()
        else:
            self.rowcount = result.rowcount
        return self

    def resume(self, query_id: str) -> "Cursor":
        """Resume a failed or cancelled query from its completed stages
        (`RESUME QUERY 'id'`); the result is the query's."""
        if not isinstance(query_id, str) or not re.match(r"^[A-Za-z0-9_-]{1,64}$", query_id):
            raise errors.ProgrammingError(f"resume: {query_id!r} is not a query id")
        return self.execute(f"RESUME QUERY '{query_id}'")

    def executemany(self, sql: str, seq_of_params) -> "Cursor":
        total = 0
        for params in seq_of_params:
            self.execute(sql, params)
            total += max(self.rowcount, 0)
        self.rowcount = total
        return self

    def _note_rowcount(self) -> None:
        total = self._stream.total_rows if self._stream is not None else None
        if total is not None:
            self.rowcount = total

    def _advance(self) -> bool:
        """Make _batch a batch with rows left to read; False at the end."""
        while self._batch is None or self._pos >= self._batch.num_rows:
            batch = next(self._stream, None)
            self._note_rowcount()
            if batch is None:
                self._batch, self._pos, self._pyrows = None, 0, None
                return False
            self._batch, self._pos, self._pyrows = batch, 0, None
        return True

    @_guard
    def _take(self, n: int | None) -> list[tuple]:
        self._need_result()
        out: list[tuple] = []
        while (n is None or len(out) < n) and self._advance():
            if self._pyrows is None:
                self._pyrows = _python_rows(self._batch)
            end = self._batch.num_rows if n is None else \
                min(self._batch.num_rows, self._pos + n - len(out))
            out.extend(self._pyrows[self._pos:end])
            self._pos = end
        return out

    def fetchone(self) -> tuple | None:
        rows = self._take(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        return self._take(size if size is not None else self.arraysize)

    def fetchall(self) -> list[tuple]:
        return self._take(None)

    def fetch_arrow_table(self) -> pa.Table:
        stream = self._need_result()
        return pa.Table.from_batches(list(self._batches()), schema=stream.schema)

    def fetch_record_batches(self) -> Iterator[pa.RecordBatch]:
        """The rest of the result, batch by batch, as the query produces it."""
        self._need_result()
        return self._batches()

    def _batches(self) -> Iterator[pa.RecordBatch]:
        while self._stream is not None and self._advance_guarded():
            batch = self._batch
            rest = batch if self._pos == 0 else batch.slice(self._pos)
            self._pos = batch.num_rows
            yield rest

    @_guard
    def _advance_guarded(self) -> bool:
        return self._advance()

    def fetchdf(self):
        return self.fetch_arrow_table().to_pandas()

    def close(self) -> None:
        self._closed = True
        self._drop_result()

    def setinputsizes(self, sizes) -> None:
        pass

    def setoutputsize(self, size, column=None) -> None:
        pass

    def __iter__(self):
        while True:
            rows = self._take(max(self.arraysize, 1024))
            if not rows:
                return
            yield from rows

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _python_rows(batch: pa.RecordBatch) -> list[tuple]:
    """A batch as a list of tuples of plain Python values (column by column)."""
    try:
        columns = [col.to_pylist() for col in batch.columns]
    except (OverflowError, ValueError, pa.ArrowException) as e:
        # e.g. a DATE past year 9999: Arrow holds it, Python's datetime cannot
        raise errors.DataError(f"a result value has no Python equivalent ({e}); "
                               "fetch_arrow_table() returns it") from None
    if not columns:
        return [()] * batch.num_rows
    return list(zip(*columns))
