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

    def execute(self, sql: str, params: Sequence | None = None) -> Any: ...
    def close(self) -> None: ...


# Connect targets, tried in order: (what it is, does this target string name
# it, "module:function" that opens an Engine from (target, options)).
TARGETS: tuple[tuple[str, Callable[[str | None], bool], str], ...] = (
    ("embedded", lambda t: t in (None, "", "embedded", ":memory:"), "quiver.session:open_engine"),
    ("cluster", lambda t: bool(re.match(r"^local\[\d+\]$", t)) or t.startswith("quiver://"),
     "quiver.cluster.client:open_engine"),
    ("ray", lambda t: t == "ray" or t.startswith("ray://"), "quiver.cluster.ray_cluster:open_engine"),
)


def connect(target: str | None = None, **options) -> "Connection":
    import os
    target = target if target is not None else os.environ.get("QUIVER_CONNECT") or None
    for _name, matches, opener in TARGETS:
        if matches(target):
            module, function = opener.split(":")
            return Connection(getattr(importlib.import_module(module), function)(target, options))
    raise InterfaceError(
        f"unknown connect target {target!r}: use None (embedded), 'local[N]', "
        "'quiver://host:port', 'ray' or 'ray://host:port'")


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
        self.session = session
        self._closed = False

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
    arraysize = 1

    def __init__(self, connection: Connection):
        self.connection = connection
        self.arraysize = 1
        self._closed = False
        self._table: pa.Table | None = None
        self._pos = 0
        self.rowcount = -1
        self.description = None
        self.query_id: str | None = None     # set by execute

    def _check(self):
        if self._closed:
            raise InterfaceError("cursor is closed")
        self.connection._check()

    def _need_result(self) -> pa.Table:
        self._check()
        if self._table is None:
            raise InterfaceError("no result set: execute a query first")
        return self._table

    @_guard
    def execute(self, sql: str, params: Sequence | None = None) -> "Cursor":
        self._check()
        if not isinstance(sql, str):
            raise errors.ProgrammingError("SQL must be a string")
        self._table, self._pos, self.rowcount, self.description = None, 0, -1, None
        self.query_id = None
        session = self.connection.session
        try:
            result = session.execute(sql, params)
        except errors.Error:
            # a failed or cancelled query keeps its id: cursor.resume(cursor.query_id)
            self.query_id = getattr(session, "last_query_id", None)
            raise
        qid = getattr(result, "query_id", None)
        self.query_id = str(qid) if qid is not None else None
        if result.table is not None:
            self._table = result.table
            self.description = [
                (f.name, f.type, None, None, None, None, True) for f in result.table.schema]
            self.rowcount = result.table.num_rows
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

    def _take(self, n: int | None) -> list[tuple]:
        table = self._need_result()
        end = table.num_rows if n is None else min(self._pos + n, table.num_rows)
        chunk = table.slice(self._pos, end - self._pos)
        try:
            columns = [col.to_pylist() for col in chunk.columns]
        except (OverflowError, ValueError, pa.ArrowException) as e:
            # e.g. a DATE past year 9999: Arrow holds it, Python's datetime cannot
            raise errors.DataError(f"a result value has no Python equivalent ({e}); "
                                   "fetch_arrow_table() returns it") from None
        self._pos = end
        if not columns:
            return [()] * chunk.num_rows
        return list(zip(*columns))

    def fetchone(self) -> tuple | None:
        rows = self._take(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        return self._take(size if size is not None else self.arraysize)

    def fetchall(self) -> list[tuple]:
        return self._take(None)

    def fetch_arrow_table(self) -> pa.Table:
        table = self._need_result()
        rest = table.slice(self._pos)
        self._pos = table.num_rows
        return rest

    def fetch_record_batches(self) -> Iterator[pa.RecordBatch]:
        return iter(self.fetch_arrow_table().to_batches())

    def fetchdf(self):
        return self.fetch_arrow_table().to_pandas()

    def close(self) -> None:
        self._closed = True
        self._table = None

    def setinputsizes(self, sizes) -> None:
        pass

    def setoutputsize(self, size, column=None) -> None:
        pass

    def __iter__(self):
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
