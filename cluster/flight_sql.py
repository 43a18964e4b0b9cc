"""An Arrow Flight SQL endpoint in front of a Quiver engine.

Any Flight SQL client (the ADBC driver, the Flight SQL JDBC/ODBC drivers)
connects to `grpc://HOST:PORT` (`grpc+tls://` with a certificate) and runs
queries, prepared statements with parameters, metadata requests
(GetCatalogs, GetDbSchemas, GetTables, GetTableTypes, GetSqlInfo) and
cancels. A token, when set, must come as `authorization: Bearer TOKEN`.

Owns the protocol adaptation only. The engine behind it is whatever
`engine_factory()` opens (an embedded Session for `quiver serve`, a cluster
client to its own coordinator for `quiver coordinator --flight-sql-port`),
one per statement so concurrent clients do not share a running query; all
of them share the catalog `catalog_entries()` lists.

A query runs when the client asks for its FlightInfo (GetFlightInfo): its
result is kept under an opaque handle until the client reads it with DoGet
(once), or until RESULT_TTL passes. A client that gives up while the query
runs (a cancelled call, the CancelFlightInfo/CancelQuery actions) cancels
it in the engine.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pyarrow as pa
from google.protobuf import any_pb2
from pyarrow import flight

from .. import errors
from .flight_sql_metadata import metadata_table
from .proto import flight_sql_pb2 as fsql

RESULT_TTL = 600.0            # seconds a result waits for its DoGet
PREPARED_TTL = 3600.0         # seconds an unused prepared statement is kept
POLL_SECONDS = 0.1            # how often a running query checks for a cancelled call

_METADATA_COMMANDS = (fsql.CommandGetCatalogs, fsql.CommandGetDbSchemas, fsql.CommandGetTables,
                      fsql.CommandGetTableTypes, fsql.CommandGetSqlInfo,
                      fsql.CommandGetPrimaryKeys)


@dataclass
class _Prepared:
    query: str
    params: list[list[Any]] = field(default_factory=list)   # bound parameter rows
    used: float = field(default_factory=time.monotonic)


class _BearerToken(flight.ServerMiddlewareFactory):
    """Refuses every call whose `authorization` header is not `Bearer TOKEN`."""

    def __init__(self, token: str):
        self.expected = f"Bearer {token}"

    def start_call(self, info, headers):
        values = headers.get("authorization") or headers.get("Authorization") or []
        if self.expected not in values:
            raise flight.FlightUnauthenticatedError("a valid token is required "
                                                    "(authorization: Bearer TOKEN)")
        return None


def _pack(message) -> bytes:
    any_msg = any_pb2.Any()
    any_msg.Pack(message)
    return any_msg.SerializeToString()


def _unpack(data: bytes):
    """The Flight SQL command inside a descriptor or ticket, or None."""
    any_msg = any_pb2.Any()
    try:
        any_msg.ParseFromString(data)
    except Exception:  # noqa: BLE001 - not a protobuf Any: not ours
        return None
    name = any_msg.TypeName().rsplit(".", 1)[-1]
    cls = getattr(fsql, name, None)
    if cls is None or not any_msg.TypeName().startswith("arrow.flight.protocol.sql."):
        return None
    msg = cls()
    any_msg.Unpack(msg)
    return msg


def _flight_error(exc: Exception) -> Exception:
    """A Quiver error as the gRPC status a client maps back to its own error
    class: bad SQL -> INVALID_ARGUMENT (ADBC: ProgrammingError), unsupported
    -> UNIMPLEMENTED (NotSupportedError), cancelled -> CANCELLED, a lost
    cluster -> UNAVAILABLE (OperationalError)."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, errors.QueryCancelled):
        return flight.FlightCancelledError(text)
    if isinstance(exc, errors.NotSupportedError):
        return pa.ArrowNotImplementedError(text)
    if isinstance(exc, (errors.ProgrammingError, errors.DataError)):
        return pa.ArrowInvalid(text)
    if isinstance(exc, errors.OperationalError):
        return flight.FlightUnavailableError(text)
    if isinstance(exc, errors.Error):
        return flight.FlightServerError(text)
    return flight.FlightInternalError(text)


def _table_of(result) -> pa.Table:
    if result is not None and getattr(result, "table", None) is not None:
        return result.table
    return pa.table({})


class FlightSqlServer(flight.FlightServerBase):
    def __init__(self, engine_factory: Callable[[], Any],
                 catalog_entries: Callable[[], list[tuple[str, str]]],
                 host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 tls: tuple[bytes, bytes] | None = None):
        scheme = "grpc+tls" if tls else "grpc"
        middleware = {"auth": _BearerToken(token)} if token else None
        super().__init__(f"{scheme}://{host}:{port}", middleware=middleware,
                         tls_certificates=[tls] if tls else None)
        self.engine_factory = engine_factory
        self.catalog_entries = catalog_entries
        self.host = host
        self._lock = threading.Lock()
        self._results: dict[bytes, tuple[pa.Table, float]] = {}
        self._prepared: dict[bytes, _Prepared] = {}
        self._running: dict[bytes, Any] = {}     # handle -> engine of a running query

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- running statements ------------------------------------------------------
    def _run(self, context, handle: bytes, sql: str, params: list | None) -> pa.Table:
        """Run `sql` in a fresh engine, cancelling it if the client goes away."""
        engine = self.engine_factory()
        done = threading.Event()
        box: dict[str, Any] = {}

        def work():
            try:
                rows = params or [None]
                result = None
                for row in rows:
                    result = engine.execute(sql, row)
                box["table"] = _table_of(result)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                box["error"] = exc
            finally:
                done.set()
        with self._lock:
            self._running[handle] = engine
        try:
            threading.Thread(target=work, daemon=True, name="flight-sql-query").start()
            while not done.wait(POLL_SECONDS):
                if context is not None and context.is_cancelled():
                    engine.cancel()
            if "error" in box:
                raise _flight_error(box["error"])
            return box["table"]
        finally:
            with self._lock:
                self._running.pop(handle, None)
            close = getattr(engine, "close", None)
            if close is not None:
                close()

    def _keep(self, handle: bytes, table: pa.Table) -> None:
        now = time.monotonic()
        with self._lock:
            for h in [h for h, (_, t) in self._results.items() if now - t > RESULT_TTL]:
                del self._results[h]
            for h in [h for h, p in self._prepared.items() if now - p.used > PREPARED_TTL]:
                del self._prepared[h]
            self._results[handle] = (table, now)

    def _info(self, descriptor, table_schema: pa.Schema, ticket: bytes, rows: int):
        endpoint = flight.FlightEndpoint(ticket, [])       # read it back over this connection
        return flight.FlightInfo(table_schema, descriptor, [endpoint], rows, -1)

    def _statement_info(self, context, descriptor, sql: str, params=None):
        handle = uuid.uuid4().hex.encode()
        table = self._run(context, handle, sql, params)
        self._keep(handle, table)
        ticket = _pack(fsql.TicketStatementQuery(statement_handle=handle))
        return self._info(descriptor, table.schema, ticket, table.num_rows)

    # -- Flight RPCs ---------------------------------------------------------------
    def get_flight_info(self, context, descriptor):
        cmd = _unpack(descriptor.command or b"")
        if isinstance(cmd, fsql.CommandStatementQuery):
            return self._statement_info(context, descriptor, cmd.query)
        if isinstance(cmd, fsql.CommandPreparedStatementQuery):
            prepared = self._prepared_for(cmd.prepared_statement_handle)
            return self._statement_info(context, descriptor, prepared.query,
                                        prepared.params or None)
        if isinstance(cmd, _METADATA_COMMANDS):
            table = self._metadata(cmd)
            return self._info(descriptor, table.schema, descriptor.command, table.num_rows)
        raise flight.FlightServerError("Quiver's Flight SQL endpoint does not serve "
                                       f"{type(cmd).__name__ if cmd else 'this command'}")

    def get_schema(self, context, descriptor):
        cmd = _unpack(descriptor.command or b"")
        if isinstance(cmd, _METADATA_COMMANDS):
            return flight.SchemaResult(self._metadata(cmd).schema)
        raise flight.FlightServerError("GetSchema is served for metadata commands only; "
                                       "a query's schema comes with its FlightInfo")

    def do_get(self, context, ticket):
        cmd = _unpack(ticket.ticket)
        if isinstance(cmd, fsql.TicketStatementQuery):
            with self._lock:
                entry = self._results.pop(cmd.statement_handle, None)
            if entry is None:
                raise flight.FlightServerError("unknown or expired statement handle "
                                               "(a result is read once)")
            return flight.RecordBatchStream(entry[0])
        if isinstance(cmd, _METADATA_COMMANDS):
            return flight.RecordBatchStream(self._metadata(cmd))
        raise flight.FlightServerError("not a Quiver Flight SQL ticket")

    def do_put(self, context, descriptor, reader, writer):
        cmd = _unpack(descriptor.command or b"")
        if isinstance(cmd, fsql.CommandStatementUpdate):
            count = self._update(context, cmd.query, None)
        elif isinstance(cmd, fsql.CommandPreparedStatementQuery):
            prepared = self._prepared_for(cmd.prepared_statement_handle)
            prepared.params = _parameter_rows(reader.read_all())
            writer.write(pa.py_buffer(fsql.DoPutPreparedStatementResult(
                prepared_statement_handle=cmd.prepared_statement_handle).SerializeToString()))
            return
        elif isinstance(cmd, fsql.CommandPreparedStatementUpdate):
            prepared = self._prepared_for(cmd.prepared_statement_handle)
            rows = _parameter_rows(reader.read_all()) or prepared.params or None
            count = self._update(context, prepared.query, rows)
        else:
            raise flight.FlightServerError("Quiver's Flight SQL endpoint does not accept "
                                           "this upload")
        writer.write(pa.py_buffer(fsql.DoPutUpdateResult(record_count=count).SerializeToString()))

    def _update(self, context, sql: str, params) -> int:
        handle = uuid.uuid4().hex.encode()
        engine_rows = self._run(context, handle, sql, params)
        return engine_rows.num_rows if engine_rows.num_columns else -1

    def list_actions(self, context):
        return [("CreatePreparedStatement", "prepare a statement"),
                ("ClosePreparedStatement", "close a prepared statement"),
                ("CancelFlightInfo", "cancel a query"),
                ("CancelQuery", "cancel a query")]

    def do_action(self, context, action):
        kind = action.type
        body = action.body.to_pybytes() if action.body is not None else b""
        if kind == "CreatePreparedStatement":
            req = _unpack(body)
            handle = uuid.uuid4().hex.encode()
            with self._lock:
                self._prepared[handle] = _Prepared(req.query)
            result = fsql.ActionCreatePreparedStatementResult(prepared_statement_handle=handle)
            return [flight.Result(pa.py_buffer(_pack(result)))]
        if kind == "ClosePreparedStatement":
            req = _unpack(body)
            with self._lock:
                self._prepared.pop(req.prepared_statement_handle, None)
            return []
        if kind in ("CancelFlightInfo", "CancelQuery"):
            return [flight.Result(pa.py_buffer(self._cancel(kind, body)))]
        raise flight.FlightServerError(f"unknown action {kind!r}")

    def _cancel(self, kind: str, body: bytes) -> bytes:
        if kind == "CancelQuery":
            req = _unpack(body)
            info_bytes = req.info if req is not None else b""
        else:
            info_bytes = fsql.ActionCancelQueryRequest.FromString(body).info  # same layout
        cancelled = False
        try:
            info = flight.FlightInfo.deserialize(info_bytes)
            handles = [_unpack(e.ticket.ticket) for e in info.endpoints]
        except Exception:  # noqa: BLE001 - a malformed request cancels nothing
            handles = []
        for t in handles:
            if isinstance(t, fsql.TicketStatementQuery):
                with self._lock:
                    engine = self._running.get(t.statement_handle)
                    dropped = self._results.pop(t.statement_handle, None)
                if engine is not None:
                    engine.cancel()
                cancelled = cancelled or engine is not None or dropped is not None
        status = 1 if cancelled else 3          # CANCELLED / NOT_CANCELLABLE
        if kind == "CancelQuery":
            return _pack(fsql.ActionCancelQueryResult(result=status))
        return fsql.ActionCancelQueryResult(result=status).SerializeToString()

    def _prepared_for(self, handle: bytes) -> _Prepared:
        with self._lock:
            prepared = self._prepared.get(handle)
            if prepared is None:
                raise flight.FlightServerError("unknown or closed prepared statement")
            prepared.used = time.monotonic()
            return prepared

    def _metadata(self, cmd) -> pa.Table:
        return metadata_table(cmd, self.catalog_entries, self._table_schema)

    def _table_schema(self, name: str) -> pa.Schema:
        engine = self.engine_factory()
        try:
            return _table_of(engine.execute(f'SELECT * FROM "{name}" LIMIT 0')).schema
        finally:
            close = getattr(engine, "close", None)
            if close is not None:
                close()


def _parameter_rows(table: pa.Table) -> list[list[Any]]:
    """Bound parameter sets, one list of Python values per row (parameters
    are a handful of values per statement, not data)."""
    if table.num_columns == 0:
        return []
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [list(row) for row in zip(*columns)]


def serve_in_thread(server: FlightSqlServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve, daemon=True, name="flight-sql")
    thread.start()
    return thread
