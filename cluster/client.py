"""The client side of a cluster connection, and local clusters.

Owns:
- `connect_cluster(target, **options)`: what `quiver.connect()` calls for
  'quiver://host:port' (a running coordinator) and 'local[N]' (starts a
  coordinator and N workers as subprocesses on 127.0.0.1, stopped by PID on
  close()). Returns a `ClusterSession`: `execute(sql, params) -> Result`,
  `cancel()`, `close()` and a `.catalog` that forwards registrations to the
  coordinator (an in-memory table is sent as Arrow IPC and stored there as
  Parquet, so workers can scan it).
- `LocalCluster`: the processes behind 'local[N]' and `quiver local`.

Client-only options: `token` (else $QUIVER_TOKEN), `tls_root` (a CA
certificate file: use TLS), `private_catalog` (this connection gets its own
empty catalog on the coordinator instead of the shared one),
`start_timeout` (seconds to wait for a local cluster), `fetch_timeout`
(seconds to fetch one result partition from a worker before giving up:
a frozen worker cannot hang the client), `reconnect_timeout` (seconds to
keep trying when the coordinator goes away mid-query, default 300: the
client reconnects with backoff and asks the restarted coordinator for the
same request's answer with AwaitQuery; it resubmits only a request the
coordinator never received). Other options are
session options (dialect, target_partitions, ...) sent with every query.

A SELECT's result never passes through the coordinator: its reply says
which worker holds each final partition, and the client fetches them over
Arrow Flight, in partition order.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import grpc
import pyarrow as pa
from pyarrow import flight

from .. import errors
from .. import datatypes as dt
from ..executor.result import Result
from ..executor.result_stream import ResultStream
from ..session import default_user, session_options
from .cluster_runner import error_from
from . import lifeline
from .flight_shuffle import FlightClients
from .proto import quiver_pb2 as pb
from .proto import quiver_pb2_grpc as rpc
from .security import channel, grpc_error, metadata, resolve_token
from .tables_wire import params_to_bytes, schema_from_bytes, table_from_bytes, table_to_bytes

_LOCAL = re.compile(r"^local\[(\d+)\]$")
CLIENT_OPTIONS = ("token", "tls_root", "private_catalog", "start_timeout", "worker_slots",
                  "fetch_timeout", "reconnect_timeout")
RECONNECT_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                   grpc.StatusCode.CANCELLED)
DEFAULT_RECONNECT_TIMEOUT = 300.0


def open_engine(target: str, options: dict) -> "ClusterSession":
    """A cluster engine for a `local[N]` or `quiver://` target (dbapi.TARGETS)."""
    return connect_cluster(target, **options)


def connect_cluster(target: str, **options) -> "ClusterSession":
    client_opts = {k: options.pop(k) for k in CLIENT_OPTIONS if k in options}
    session_options(dict(options))            # unknown options fail here, not remotely
    from ..executor.memory import parse_size
    token = resolve_token(client_opts.get("token"))
    m = _LOCAL.match(target)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise errors.InterfaceError("local[N] needs at least one worker")
        limit = options.get("memory_limit", options.get("memory_budget"))
        worker_args = () if limit is None else ("--memory-limit", str(parse_size(limit)))
        cluster = LocalCluster(n, token=token, slots=client_opts.get("worker_slots"),
                               worker_args=worker_args)
        cluster.start(timeout=client_opts.get("start_timeout", 60))
        try:
            return ClusterSession(cluster.address, options, token=token,
                                  private=client_opts.get("private_catalog", False),
                                  owned=cluster, fetch_timeout=client_opts.get("fetch_timeout"),
                                  reconnect_timeout=client_opts.get("reconnect_timeout"))
        except BaseException:
            cluster.stop()
            raise
    if not target.startswith("quiver://"):
        raise errors.InterfaceError(f"not a cluster target: {target!r}")
    address = target[len("quiver://"):].rstrip("/")
    if not re.match(r"^[^:/\s]+:\d+$", address):
        raise errors.InterfaceError(f"bad coordinator address in {target!r}: use quiver://host:port")
    return ClusterSession(address, options, token=token, tls_root=client_opts.get("tls_root"),
                          private=client_opts.get("private_catalog", False),
                          fetch_timeout=client_opts.get("fetch_timeout"),
                          reconnect_timeout=client_opts.get("reconnect_timeout"))


def _jsonable(options: dict) -> dict:
    return {k: sorted(v) if isinstance(v, (set, frozenset)) else v for k, v in options.items()}


class ResultLost(errors.OperationalError):
    """A finished result partition could not be fetched (its worker is gone)."""


class RemoteCatalog:
    """What Connection.register needs, forwarded to the coordinator."""

    def __init__(self, session: "ClusterSession"):
        self._s = session

    def register_dataset(self, name, location, replace=False, **_):
        ds = location
        if hasattr(ds, "location"):
            opts = ds.open_options
            spec = {"location": _abs(ds.location),
                    "hive_partitioning": opts.get("hive_partitioning"),
                    "partition_columns": [[n, dt.to_wire(t)]
                                          for n, t in opts.get("partition_columns") or []],
                    "storage_options": ds.storage_options or None}
        else:
            spec = {"location": _abs(location)}
        self._s._register(pb.RegisterTableRequest(
            name=name, replace=replace, location_json=json.dumps(spec, default=str)))

    def register_table(self, name, table, replace=False):
        from ..storage.memory import to_arrow_table
        self._s._register(pb.RegisterTableRequest(
            name=name, replace=replace, table=table_to_bytes(to_arrow_table(table))))


def _abs(location):
    if isinstance(location, list):
        return [_abs(x) for x in location]
    return location if "://" in location else os.path.abspath(location)


class ClusterSession:
    def __init__(self, address: str, options: dict, token: str | None = None,
                 tls_root: str | None = None, private: bool = False, owned=None,
                 fetch_timeout: float | None = None, reconnect_timeout: float | None = None):
        self.address = address
        self.options = _jsonable(options)
        if self.options.get("user") is None:     # who runs the queries: this client's user
            self.options["user"] = default_user()
        self.reconnect_timeout = (DEFAULT_RECONNECT_TIMEOUT if reconnect_timeout is None
                                  else float(reconnect_timeout))
        self.last_query_id: str | None = None
        self.token = token
        self.md = metadata(token)
        self.channel = channel(address, tls_root)
        self.stub = rpc.CoordinatorStub(self.channel)
        self.flight = FlightClients(token, tls_root, timeout=fetch_timeout)
        self.session_id = ("private:" if private else "") + uuid.uuid4().hex
        self.catalog = RemoteCatalog(self)
        self.owned = owned
        self._current: str | None = None
        self.last_query_id: str | None = None
        self._closed = False
        self._check_reachable()

    def _options_json(self) -> str:
        # relative paths in this statement name files where the client runs,
        # not where the coordinator does
        return json.dumps({**self.options, "client_dir": os.getcwd()})

    def _check_reachable(self) -> None:
        try:
            self.stub.GetQueryStatus(pb.QueryStatusRequest(request_id=""),
                                     metadata=self.md, timeout=10)
        except grpc.RpcError as exc:
            self.channel.close()
            raise grpc_error(exc, self.address) from None

    def _register(self, req) -> None:
        req.session_id = self.session_id
        try:
            resp = self.stub.RegisterTable(req, metadata=self.md, timeout=300)
        except grpc.RpcError as exc:
            raise grpc_error(exc, self.address) from None
        if not resp.ok:
            raise error_from(resp.error_class, resp.error_message)

    def execute(self, sql: str, params=None, stream: bool = False) -> Result:
        try:
            return self._execute(sql, params, stream)
        except ResultLost:
            # a worker holding a finished result partition died before we
            # fetched it: a SELECT is safe to run again, once
            return self._execute(sql, params, stream)

    def _execute(self, sql: str, params=None, stream: bool = False) -> Result:
        self.last_query_id = None
        request_id = uuid.uuid4().hex
        try:
            pbytes = params_to_bytes(params)
        except (TypeError, pa.ArrowException) as exc:
            raise errors.ProgrammingError(f"cannot send parameters: {exc}") from None
        req = pb.ExecuteQueryRequest(session_id=self.session_id, request_id=request_id,
                                     sql=sql, params=pbytes, options_json=self._options_json())
        self._current = request_id
        replies = None
        try:
            if stream:
                resp, replies = self._send_streamed(req)
            else:
                resp = self._send(req)
        except BaseException:
            self._current = None
            raise
        if not resp.more:
            self._current = None
        self.last_query_id = resp.query_id or None     # also of a failed query (RESUME)
        if not resp.ok:
            raise error_from(resp.error_class, resp.error_message)
        if resp.options_json:                # SET memory_limit = ...: later queries carry it
            changed = json.loads(resp.options_json)
            for key, value in changed.items():
                if value is None:
                    self.options.pop(key, None)
                else:
                    self.options[key] = value
            if "memory_limit" in changed:
                self.options.pop("memory_budget", None)
        if not resp.has_rows:
            result = Result(None, resp.rowcount, resp.statement)
        elif resp.inline_table:
            table = table_from_bytes(resp.inline_table)
            result = Result(table, table.num_rows, resp.statement)
        elif stream:
            source = _RemotePartitions(self, resp, replies, request_id, req)
            try:
                source.open_first()      # a lost worker here is retried by execute()
            except BaseException:
                source.close()
                raise
            result = Result(None, -1, resp.statement, stream=ResultStream(source, source.schema))
        else:
            table = self._fetch(resp)
            result = Result(table, table.num_rows, resp.statement)
        result.query_id = resp.query_id or None
        return result

    def _send_streamed(self, req):
        """ExecuteQueryStream's first reply and the stream; an older
        coordinator without it gets ExecuteQuery, and a coordinator that goes
        away before the first reply is waited for as _send does."""
        try:
            replies = self.stub.ExecuteQueryStream(req, metadata=self.md)
            return next(replies), replies
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                return self._send(req), None
            if exc.code() not in RECONNECT_CODES or self.reconnect_timeout <= 0:
                raise grpc_error(exc, self.address) from None
            return self._await(req, exc), None

    def _send(self, req):
        """ExecuteQuery; if the coordinator goes away (killed, restarted,
        frozen: keepalive notices), reconnect and wait for the answer."""
        try:
            return self.stub.ExecuteQuery(req, metadata=self.md)
        except grpc.RpcError as exc:
            if exc.code() not in RECONNECT_CODES or self.reconnect_timeout <= 0:
                raise grpc_error(exc, self.address) from None
            return self._await(req, exc)

    def _await(self, req, first):
        """Reconnect with backoff and wait for the same request's answer
        (AwaitQuery), resubmitting only a request the coordinator says it
        never received."""
        deadline = time.monotonic() + self.reconnect_timeout
        pause = 0.2
        while True:
            try:
                r = self.stub.AwaitQuery(pb.AwaitQueryRequest(request_id=req.request_id,
                                                              wait_seconds=5.0),
                                         metadata=self.md, timeout=15)
                if r.state == "done":
                    return r.response
                if r.state == "unknown":
                    return self.stub.ExecuteQuery(req, metadata=self.md)
                pause = 0.2
                continue
            except grpc.RpcError as exc:
                if exc.code() not in RECONNECT_CODES:
                    raise grpc_error(exc, self.address) from None
                first = exc
            if time.monotonic() + pause > deadline:
                err = grpc_error(first, self.address)
                raise errors.OperationalError(
                    f"the coordinator at {self.address} did not come back within "
                    f"{self.reconnect_timeout:g} s: {err}") from None
            time.sleep(pause)
            pause = min(pause * 2, 5.0)

    def _fetch(self, resp) -> pa.Table:
        source = _RemotePartitions(self, resp)
        try:
            batches = []
            while (b := source.next_batch()) is not None:
                batches.append(b)
        finally:
            source.close()
        return pa.Table.from_batches(batches, schema=source.schema)

    def _release(self, query_id: str) -> None:
        if not query_id:
            return
        try:
            self.stub.ReleaseQuery(pb.ReleaseQueryRequest(query_id=query_id),
                                   metadata=self.md, timeout=10)
        except grpc.RpcError:
            pass

    def status(self) -> dict:
        rid = self._current
        if rid is None:
            return {"state": "idle"}
        try:
            r = self.stub.GetQueryStatus(pb.QueryStatusRequest(request_id=rid),
                                         metadata=self.md, timeout=10)
        except grpc.RpcError as exc:
            raise grpc_error(exc, self.address) from None
        return {"state": r.state, "stages_done": r.stages_done, "stages": r.stages,
                "tasks_done": r.tasks_done, "tasks": r.tasks}

    def cancel(self) -> None:
        rid = self._current
        if rid is not None:
            try:
                self.stub.CancelQuery(pb.CancelQueryRequest(request_id=rid), metadata=self.md,
                                      timeout=10)
            except grpc.RpcError as exc:
                raise grpc_error(exc, self.address) from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.stub.CloseSession(pb.CloseSessionRequest(session_id=self.session_id),
                                   metadata=self.md, timeout=5)
        except grpc.RpcError:
            pass
        self.flight.close()
        self.channel.close()
        if self.owned is not None:
            self.owned.stop()


class _RemotePartitions:
    """A result's final partitions, fetched from their workers over Flight one
    batch at a time, in partition order, as the client reads them (a
    ResultStream source). With `replies` (ExecuteQueryStream), partitions are
    announced as they finish, so the first is read while the query still
    runs; the final reply lists them all. The query is released at the end
    or on close(); closing early cancels a query still running."""

    def __init__(self, session: "ClusterSession", resp, replies=None,
                 request_id: str | None = None, request=None):
        self.session = session
        self._request = request        # to wait for the answer if the coordinator restarts
        self.schema = schema_from_bytes(resp.schema)
        self.query_id = resp.query_id
        self._replies = replies
        self._request_id = request_id
        self._known: dict[int, object] = {}
        self._next = 0                 # the index of the next partition to read
        self._final = False            # the final reply arrived
        self._total: int | None = None
        self._current = None           # (partition, batch iterator)
        self._first: pa.RecordBatch | None = None
        self._closed = False
        self._note(resp)

    @property
    def total_rows(self) -> int | None:
        return self._total

    def _note(self, resp) -> None:
        if resp.query_id:
            self.query_id = resp.query_id
        for i, part in enumerate(resp.partitions):
            index = part.index if resp.more or part.index else i
            if index >= self._next:
                self._known[index] = part
        if not resp.more:
            self._final = True
            self._total = sum(p.rows for p in resp.partitions)
            self._done_streaming()

    def _done_streaming(self) -> None:
        if self._request_id is not None and self.session._current == self._request_id:
            self.session._current = None

    def open_first(self) -> None:
        self._first = self._pull()

    def next_batch(self) -> pa.RecordBatch | None:
        if self._first is not None:
            b, self._first = self._first, None
            return b
        b = self._pull()
        if b is None:
            self.close()
        return b

    def _next_partition(self):
        """The next partition to read, waiting for its announcement; None at the end."""
        while self._next not in self._known:
            if self._final or self._replies is None:
                return None
            try:
                resp = next(self._replies)
            except StopIteration:
                raise errors.OperationalError("the coordinator ended the result early") from None
            except grpc.RpcError as exc:
                if (self._request is None or exc.code() not in RECONNECT_CODES
                        or self.session.reconnect_timeout <= 0):
                    raise grpc_error(exc, self.session.address) from None
                # the coordinator went away mid-stream: its final answer lists
                # every partition (those read already are skipped by index)
                self._replies = None
                resp = self.session._await(self._request, exc)
            if not resp.ok:           # the query failed after announcing some partitions
                self._final = True
                self._done_streaming()
                raise error_from(resp.error_class, resp.error_message)
            self._note(resp)
        part = self._known.pop(self._next)
        self._next += 1
        return part

    def _pull(self) -> pa.RecordBatch | None:
        while not self._closed:
            if self._current is None:
                part = self._next_partition()
                if part is None:
                    return None
                self._current = (part, self.session.flight.fetch_result(part.address, part.ticket))
            part, it = self._current
            try:
                b = next(it, None)
            except flight.FlightUnauthenticatedError as exc:
                raise errors.OperationalError(
                    f"authentication failed at worker {part.address}: {exc}") from None
            except (flight.FlightUnavailableError, flight.FlightTimedOutError) as exc:
                self.session.flight.forget(part.address)
                raise ResultLost(
                    f"cannot fetch a result partition from worker {part.address}: "
                    f"{str(exc).splitlines()[0]}") from None
            except flight.FlightError as exc:
                msg = str(exc).splitlines()[0]
                self._raise_query_error()       # the query failed: its files are gone
                if "checksum mismatch" in msg or "no shuffle output" in msg:
                    raise ResultLost(f"cannot fetch a result partition from worker "
                                     f"{part.address}: {msg}") from None
                raise errors.OperationalError(
                    f"cannot fetch a result partition from worker {part.address}: "
                    f"{msg}") from None
            if b is None:
                self._current = None
                continue
            return _conform(b, self.schema)
        return None

    def _raise_query_error(self) -> None:
        """A partition could not be read: if the query itself failed meanwhile
        (and dropped its files), raise the query's own error instead."""
        while not self._final and self._replies is not None:
            try:
                resp = next(self._replies)
            except (StopIteration, grpc.RpcError):
                return
            if not resp.ok:
                self._final = True
                self._done_streaming()
                raise error_from(resp.error_class, resp.error_message)
            self._note(resp)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._current is not None:
            self._current[1].close()
            self._current = None
        if self._replies is not None and not self._final:
            self._replies.cancel()        # the coordinator stops the query
        self._done_streaming()
        self._known = {}
        if self.query_id:
            self.session._release(self.query_id)


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    cols = [c if c.type == f.type else c.cast(f.type) for c, f in zip(batch.columns, schema)]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


# --- local clusters -------------------------------------------------------------

class _Proc:
    """A child process whose stdout lines are collected by a reader thread.
    Its stdin is its lifeline: a pipe we hold open and never write, which
    reaches EOF when this process ends, however it ends (lifeline.py)."""

    def __init__(self, args: list[str], log_path: str, env: dict):
        self.log = open(log_path, "ab")
        # a session of its own: Ctrl-C at the owner's terminal (cancel a query
        # in the shell) must not reach it; the lifeline stops it with its owner
        self.popen = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log,
                                      stdin=subprocess.PIPE, env=lifeline.child_env(env),
                                      text=True, start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_line(self, needle: str, deadline: float, what: str) -> str:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise errors.OperationalError(f"{what} did not start in time (log: {self.log.name})")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise errors.OperationalError(
                    f"{what} exited with status {self.popen.wait()} (log: {self.log.name})")
            if needle in line:
                return line

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        with contextlib.suppress(OSError):
            self.popen.stdin.close()
        self.log.close()


class LocalCluster:
    """A coordinator and N workers as subprocesses on one host, in a temp
    folder (or `state_dir`). They never outlive this process: stop() ends
    them, so does exiting without stop() (atexit), and if this process is
    killed they stop themselves and a reaper process removes the temp
    folder (lifeline.py). A `state_dir` given by the caller is kept."""

    def __init__(self, workers: int, host: str = "127.0.0.1", token: str | None = None,
                 state_dir: str | None = None, slots: int | None = None,
                 coordinator_args: tuple = (), worker_args: tuple = (),
                 per_worker_args: list | None = None, log_level: str = "info"):
        self.n = workers
        self.host = host
        self.token = token
        self.own_root = state_dir is None        # a temp folder: removed by stop()
        self.root = os.path.abspath(state_dir or tempfile.mkdtemp(prefix="quiver-local-"))
        # the workers share this machine's cores: more slots than cores only
        # adds partitions, context switches and memory held at once
        self.slots = slots or max(1, (os.cpu_count() or 2) // max(1, workers))
        self.coordinator_args = tuple(coordinator_args)
        self.worker_args = tuple(worker_args)
        self.per_worker_args = per_worker_args or [()] * workers
        self.log_level = log_level
        self.coordinator: _Proc | None = None
        self.workers: list[_Proc] = []
        self.address: str | None = None
        self.reaper: lifeline.Reaper | None = None
        self._stopped = False
        self.flight_sql_address: str | None = None
        self.web_url: str | None = None

    def _env(self) -> dict:
        env = dict(os.environ)
        env.pop("QUIVER_CONNECT", None)
        if self.token:
            env["QUIVER_TOKEN"] = self.token
        return env

    def start(self, timeout: float = 60) -> "LocalCluster":
        deadline = time.monotonic() + timeout
        os.makedirs(os.path.join(self.root, "logs"), exist_ok=True)
        py = [sys.executable, "-m", "quiver.cli"]
        atexit.register(self.stop)
        try:
            self.reaper = lifeline.Reaper(self.root, remove_root=self.own_root)
            self.coordinator = _Proc(
                py + ["coordinator", "--host", self.host, "--port", "0",
                      "--state-dir", os.path.join(self.root, "coordinator"),
                      "--log-level", self.log_level, *self.coordinator_args],
                os.path.join(self.root, "logs", "coordinator.log"), self._env())
            self.reaper.watch(self.coordinator.popen.pid)
            line = self.coordinator.wait_line("quiver://", deadline, "the coordinator")
            self.address = line[line.index("quiver://") + len("quiver://"):].split()[0]
            if "--flight-sql-port" in self.coordinator_args:
                line = self.coordinator.wait_line("Flight SQL endpoint", deadline,
                                                  "the coordinator's Flight SQL endpoint")
                self.flight_sql_address = line.split("://", 1)[1].split()[0]
            if "--web-port" in self.coordinator_args:
                line = self.coordinator.wait_line("web view on", deadline,
                                                  "the coordinator's web view")
                self.web_url = line.split()[-1]
            for i in range(self.n):
                self.workers.append(_Proc(
                    py + ["worker", "--coordinator", self.address, "--host", self.host,
                          "--name", f"w{i + 1}",
                          "--slots", str(self.slots), "--log-level", self.log_level,
                          "--data-dir", os.path.join(self.root, f"worker-{i + 1}"),
                          *self.worker_args, *self.per_worker_args[i]],
                    os.path.join(self.root, "logs", f"worker-{i + 1}.log"), self._env()))
                self.reaper.watch(self.workers[-1].popen.pid)
            for i, w in enumerate(self.workers):
                w.wait_line("registered", deadline, f"worker {i + 1}")
        except BaseException:
            self.own_root = False              # keep the logs the error names
            if self.reaper is not None:
                self.reaper.keep_root()
            self.stop()
            raise
        return self

    @property
    def pids(self) -> list[int]:
        procs = ([self.coordinator] if self.coordinator else []) + self.workers
        return [p.popen.pid for p in procs]

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        for w in self.workers:
            w.stop()
        if self.coordinator is not None:
            self.coordinator.stop()
        if self.reaper is not None:
            self.reaper.close()
        if self.own_root:
            shutil.rmtree(self.root, ignore_errors=True)
