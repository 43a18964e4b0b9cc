"""The cluster's data plane: shuffle output as Arrow IPC files, served and
fetched over Arrow Flight.

Owns:
- `ShuffleFiles`: a worker's data folder. Producer task `t` of stage `s` of
  query `q` writes output partition `p` to `<dir>/<q>/s<s>-p<p>-t<t>.arrow`
  (written to a temporary name, then renamed: a reader never sees half a
  file; one folder per query, because creating folders per stage and
  partition was 2.6% of a worker's CPU time over TPC-H SF1, in ext4's inode
  allocation) in the checksummed block format of shuffle_checksum.py, verified
  on every read: a corrupt file raises `Corrupt`, never decodes.
- `ShuffleFlightServer`: a pyarrow.flight server whose `do_get` serves those
  files. Ticket: `q/s/p/t1,t2,...` streams the tasks' batches in that order
  (clients fetching results); `b:q/s/p/t1,...` streams the checksummed
  blocks themselves (shuffle reads), which the consumer verifies again.
  Tickets are parsed strictly (no path can escape the data folder).
- `FlightShuffleStore`: the executor's ShuffleStore seam (executor/shuffle.py)
  for one task on a worker: `write` goes to the local files, `read` fetches
  partition `p` of every producer task from the producers' Flight servers
  (files directly when the producer is this worker, or a worker whose
  folder this process can read: host-local reads), in producer order. A
  producer that does not answer, a missing file or a checksum mismatch
  raises `FetchFailed` (with its `kind`), which the worker reports so the
  coordinator reruns that producer.
- `FlightClients`: one cached Flight client per address (token, TLS), and
  per address the producer's data folder when it is readable here
  (`peer_files`: the server names its folder and the folder's identity, the
  `shuffle-dir` action; off with `host_local_reads=False`). A
  fetch fails with `FetchStalled` when it makes no progress (no batch) for
  `timeout` seconds (default DEFAULT_STALL_TIMEOUT), however long the whole
  stream takes, so a frozen peer cannot hang a consumer and a long healthy
  fetch is never cut: the consumer task reports FETCH_FAILED and the
  producer reruns elsewhere.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import threading
import time
import uuid
from typing import Iterator

import pyarrow as pa
import pyarrow.ipc as ipc
from pyarrow import flight

from . import shuffle_checksum as C
from .security import flight_call_options, flight_middleware, read_file

_QUERY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_OUTPUT_FILE = re.compile(r"^s(\d+)-p(\d+)-t(\d+)\.arrow$")     # ShuffleFiles.path

DEFAULT_STALL_TIMEOUT = 10.0      # seconds a fetch may go without receiving a batch
DEFAULT_FETCH_TIMEOUT = DEFAULT_STALL_TIMEOUT     # the old name of the same setting
CONNECT_RETRY_SECONDS = 1.0       # how long a refused fetch connection is retried
# each client its own subchannels, reconnecting within 2 s: gRPC otherwise
# shares subchannels process-wide, and one left in backoff by an earlier
# server on the same port refuses a new server's first call at once. (Not
# grpc.min_reconnect_backoff_ms: it is also the connect timeout, and a short
# one fails a merely slow producer; a frozen one is the stall timeout's job.)
FLIGHT_CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1),
                          ("grpc.initial_reconnect_backoff_ms", 200),
                          ("grpc.max_reconnect_backoff_ms", 2000)]
BLOCKS = b"b:"                    # ticket prefix: stream checksummed blocks


class FetchFailed(Exception):
    """An input partition could not be fetched from its producer. `kind`:
    unreachable, stalled, missing (file gone) or checksum (mismatch);
    `tasks`: the producer tasks concerned (None: every one at `address`)."""

    def __init__(self, address: str, stage_id: int, detail: str, kind: str = "unreachable",
                 tasks: list[int] | None = None):
        self.address, self.stage_id, self.kind, self.tasks = address, stage_id, kind, tasks
        super().__init__(f"could not fetch stage {stage_id} output from {address}: {detail}")


class FetchStalled(flight.FlightTimedOutError):
    """A Flight fetch received nothing for the stall timeout."""


def _failure_kind(message: str) -> str:
    if "checksum" in message or "corrupt" in message.lower():
        return "checksum"
    if "no shuffle output" in message:
        return "missing"
    return "unreachable"


class BadTicket(ValueError):
    pass


def make_ticket(query_id: str, stage_id: int, partition: int, tasks: list[int]) -> bytes:
    return f"{query_id}/{stage_id}/{partition}/{','.join(map(str, tasks))}".encode()


def parse_ticket(ticket: bytes) -> tuple[str, int, int, list[int]]:
    if ticket.startswith(BLOCKS):
        ticket = ticket[len(BLOCKS):]
    try:
        q, s, p, ts = ticket.decode("ascii").split("/")
        if not _QUERY_ID.match(q):
            raise ValueError
        tasks = [int(t) for t in ts.split(",")]
        stage, part = int(s), int(p)
        if stage < 0 or part < 0 or any(t < 0 for t in tasks) or not tasks:
            raise ValueError
        return q, stage, part, tasks
    except (ValueError, UnicodeDecodeError):
        raise BadTicket(f"malformed ticket {ticket[:100]!r}: expected query/stage/partition/tasks") \
            from None


DIR_MARKER = ".quiver-shuffle-dir"    # names a data folder (host-local reads)
SHUFFLE_DIR_ACTION = "shuffle-dir"


class ShuffleFiles:
    def __init__(self, root: str, create: bool = True):
        """`create` off: a peer's folder, opened only to read (host-local reads)."""
        self.root = os.path.abspath(root)
        if create:
            os.makedirs(self.root, exist_ok=True)

    def identity(self) -> str:
        """A random name kept in the folder (written once): a process that
        finds the same name at the same path reads the same folder."""
        path = os.path.join(self.root, DIR_MARKER)
        try:
            with open(path) as f:
                return f.read().strip()
        except FileNotFoundError:
            pass
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w") as f:
            f.write(uuid.uuid4().hex)
        try:
            os.link(tmp, path)               # the first writer wins, never overwritten
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        with open(path) as f:
            return f.read().strip()

    def has_identity(self, name: str) -> bool:
        try:
            with open(os.path.join(self.root, DIR_MARKER)) as f:
                return f.read().strip() == name
        except OSError:
            return False

    def path(self, query_id: str, stage_id: int, partition: int, task: int) -> str:
        if not _QUERY_ID.match(query_id):
            raise BadTicket(f"bad query id {query_id!r}")
        return os.path.join(self.root, query_id, f"s{stage_id}-p{partition}-t{task}.arrow")

    def write(self, query_id, stage_id, partition, task, batches) -> int:
        """Write one producer partition; returns the bytes written."""
        path = self.path(query_id, stage_id, partition, task)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        size = C.write_file(tmp, (b for b in batches if b.num_rows))   # streamed
        os.replace(tmp, path)
        return size

    def exists(self, query_id, stage_id, partition, task) -> bool:
        return os.path.exists(self.path(query_id, stage_id, partition, task))

    def blocks(self, query_id, stage_id, partition, task, verify: bool = True):
        """The file's (kind, payload, crc) blocks, each crc checked unless
        `verify` is off (a streamed block is checked by its consumer);
        raises C.Corrupt."""
        path = self.path(query_id, stage_id, partition, task)
        with pa.memory_map(path) as source:
            buf = source.read_buffer()
        return C.read_blocks(buf, f"shuffle file {query_id}/{stage_id}/{partition}/{task}",
                             verify)

    def read(self, query_id, stage_id, partition, task) -> Iterator[pa.RecordBatch]:
        where = f"shuffle file {query_id}/{stage_id}/{partition}/{task}"
        return C.decode(self.blocks(query_id, stage_id, partition, task), where)

    def first_schema(self, query_id, stage_id, partition, tasks) -> pa.Schema:
        for t in tasks:
            schema = C.file_schema(self.blocks(query_id, stage_id, partition, t))
            if schema is not None:
                return schema
        return pa.schema([])

    def drop_query(self, query_id: str) -> None:
        if _QUERY_ID.match(query_id):
            shutil.rmtree(os.path.join(self.root, query_id), ignore_errors=True)

    def drop_all(self) -> None:
        for name in os.listdir(self.root):
            if _QUERY_ID.match(name):
                shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)

    def queries(self) -> list[str]:
        return sorted(n for n in os.listdir(self.root) if _QUERY_ID.match(n))

    def outputs(self) -> list[tuple[str, int, int]]:
        """(query, stage, task) of every output file held here."""
        out = set()
        for q in self.queries():
            try:
                names = os.listdir(os.path.join(self.root, q))
            except FileNotFoundError:
                continue
            for name in names:
                m = _OUTPUT_FILE.match(name)
                if m:
                    out.add((q, int(m.group(1)), int(m.group(3))))
        return sorted(out)


class ShuffleFlightServer(flight.FlightServerBase):
    """Serves a worker's ShuffleFiles over Flight (read-only)."""

    def __init__(self, files: ShuffleFiles, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, tls_cert: str | None = None,
                 tls_key: str | None = None):
        tls = bool(tls_cert and tls_key)
        scheme = "grpc+tls" if tls else "grpc+tcp"
        kwargs = {}
        if tls:
            kwargs["tls_certificates"] = [flight.CertKeyPair(read_file(tls_cert), read_file(tls_key))]
        super().__init__(f"{scheme}://{host}:{port}", middleware=flight_middleware(token), **kwargs)
        self.files = files
        self.address = f"{scheme}://{host}:{self.port}"

    on_get = None          # chaos hook: called with (query, stage, partition, tasks)

    def do_action(self, context, action):
        """`shuffle-dir`: this server's data folder and its identity, so a
        consumer on the same host reads the files directly (FlightClients.
        peer_files); empty while a chaos hook must see every fetch."""
        if action.type != SHUFFLE_DIR_ACTION:
            raise flight.FlightServerError(f"unknown action {action.type!r}")
        if self.on_get is not None or not isinstance(self.files, ShuffleFiles):
            return iter([])
        body = json.dumps({"root": self.files.root, "id": self.files.identity()})
        return iter([flight.Result(body.encode())])

    def do_get(self, context, ticket):
        try:
            q, s, p, tasks = parse_ticket(ticket.ticket)
        except BadTicket as exc:
            raise flight.FlightServerError(str(exc)) from None
        if self.on_get is not None:
            self.on_get(q, s, p, tasks)
        for t in tasks:
            if not self.files.exists(q, s, p, t):
                raise flight.FlightServerError(f"no shuffle output {q}/{s}/{p}/{t} on this worker")
        try:
            if ticket.ticket.startswith(BLOCKS):
                blocks = [blk for t in tasks for blk in self.files.blocks(q, s, p, t, False)]
                return flight.GeneratorStream(C.BLOCK_SCHEMA, C.block_batches(blocks))
            schema = self.files.first_schema(q, s, p, tasks)
            batches = [b for t in tasks for b in self.files.read(q, s, p, t)]
        except C.Corrupt as exc:
            raise flight.FlightServerError(f"checksum mismatch: {exc}") from None
        return flight.GeneratorStream(
            schema, (b if b.schema.equals(schema) else b.cast(schema) for b in batches))


class FlightClients:
    """One Flight client per address, shared by the tasks of a process."""

    def __init__(self, token: str | None = None, tls_root: str | None = None,
                 timeout: float | None = None, host_local_reads: bool = True):
        self.token = token
        self.tls_root = read_file(tls_root) if tls_root else None
        self._lock = threading.Lock()
        self._clients: dict[str, flight.FlightClient] = {}
        self.host_local_reads = host_local_reads
        self._peers: dict[str, tuple[ShuffleFiles, str] | None] = {}
        self.timeout = float(timeout) if timeout and timeout > 0 else DEFAULT_STALL_TIMEOUT
        self.options = flight_call_options(token, None)

    def get(self, address: str) -> flight.FlightClient:
        with self._lock:
            c = self._clients.get(address)
            if c is None:
                kwargs = {"tls_root_certs": self.tls_root} if self.tls_root else {}
                c = flight.connect(address, generic_options=FLIGHT_CHANNEL_OPTIONS, **kwargs)
                self._clients[address] = c
            return c

    def fetch(self, address: str, ticket: bytes) -> Iterator[pa.RecordBatch]:
        """The ticket's batches; FetchStalled when nothing arrives for
        `timeout` seconds (a pump thread reads, this generator waits on it)."""
        q: queue.Queue = queue.Queue(maxsize=4)
        state: dict = {"reader": None, "closed": False}

        def put(item) -> bool:
            while not state["closed"]:
                try:
                    q.put(item, timeout=0.5)
                    return True
                except queue.Full:
                    pass
            return False

        def pump():
            try:
                reader = self._open(address, ticket)
                state["reader"] = reader
                if state["closed"]:
                    reader.cancel()
                    return
                for chunk in reader:
                    if chunk.data is not None and chunk.data.num_rows and not put(chunk.data):
                        return
                put(_DONE)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                put(exc)

        threading.Thread(target=pump, name="quiver-fetch", daemon=True).start()
        try:
            while True:
                try:
                    item = q.get(timeout=self.timeout)
                except queue.Empty:
                    raise FetchStalled(f"no data from {address} for {self.timeout:g} s "
                                       "(fetch stall)") from None
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            state["closed"] = True
            reader = state["reader"]
            if reader is not None:
                try:
                    reader.cancel()
                except Exception:  # noqa: BLE001 - cancelling a finished stream
                    pass

    def fetch_result(self, address: str, ticket: bytes) -> Iterator[pa.RecordBatch]:
        """A result partition (a `q/s/p/t1,...` ticket): read from the
        worker's folder when it is readable here, else fetched like `fetch`.
        A file that is gone or corrupt is left to the Flight fetch, whose
        errors say so."""
        files = self.peer_files(address)
        if files is not None:
            try:
                q, s, p, tasks = parse_ticket(ticket)
                parts = [files.read(q, s, p, t) for t in tasks]    # opened and verified
            except (OSError, C.Corrupt, BadTicket):
                pass
            else:
                return _as_first_schema(b for part in parts for b in part)
        return self.fetch(address, ticket)

    def _open(self, address: str, ticket: bytes):
        """do_get, retrying a refused connection for up to a second (at most
        the stall timeout): a worker restarting on its old port may not listen
        yet. A dead worker is still reported within that second."""
        deadline = time.monotonic() + min(self.timeout, CONNECT_RETRY_SECONDS)
        pause = 0.05
        while True:
            try:
                return self.get(address).do_get(flight.Ticket(ticket), self.options)
            except flight.FlightUnavailableError:
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def peer_files(self, address: str) -> "ShuffleFiles | None":
        """The data folder of the worker at `address` when this process can
        read it directly (same host, or a shared mount: the folder holds the
        identity the worker named), else None: fetch over Flight. Like
        Spark's host-local shuffle reads: the producer's process serves no
        bytes and no copy crosses a socket. Asked once per address (until
        `forget`); the identity is checked again on every use."""
        if not self.host_local_reads:
            return None
        with self._lock:
            known = address in self._peers
            peer = self._peers.get(address)
        if not known:
            peer = self._discover(address)
            with self._lock:
                self._peers[address] = peer
        if peer is None:
            return None
        files, name = peer
        return files if files.has_identity(name) else None

    def _discover(self, address: str):
        try:
            options = flight_call_options(self.token, min(self.timeout, 2.0))
            results = list(self.get(address).do_action(
                flight.Action(SHUFFLE_DIR_ACTION, b""), options))
            if not results:
                return None
            info = json.loads(results[0].body.to_pybytes())
            files = ShuffleFiles(str(info["root"]), create=False)
            name = str(info["id"])
        except Exception:  # noqa: BLE001 - no such folder here: Flight it is
            return None
        return (files, name) if files.has_identity(name) else None

    def forget(self, address: str) -> None:
        with self._lock:
            self._peers.pop(address, None)
            c = self._clients.pop(address, None)
        if c is not None:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass

    def close(self) -> None:
        for a in list(self._clients):
            self.forget(a)


class FlightShuffleStore:
    """The ShuffleStore seam for one task on a worker (see module docstring).

    `inputs`: stage_id -> (output partitions of that stage, producer address
    of each producer task)."""

    def __init__(self, files: ShuffleFiles, query_id: str, own_address: str,
                 inputs: dict[int, tuple[int, list[str]]], clients: FlightClients):
        self.files, self.query_id, self.own = files, query_id, own_address
        self.inputs, self.clients = inputs, clients
        self.bytes_written = 0
        self.rows_written = 0
        self.bytes_read = 0
        self.paths: list[str] = []        # files this task wrote

    def write(self, stage_id, task, partition, batches):
        def counted(batches):
            for b in batches:
                self.rows_written += b.num_rows
                yield b
        self.bytes_written += self.files.write(self.query_id, stage_id, partition, task,
                                               counted(batches))
        self.paths.append(self.files.path(self.query_id, stage_id, partition, task))

    def read(self, stage_id, partition, schema):
        if stage_id not in self.inputs:
            raise FetchFailed("?", stage_id, "no location known for this stage")
        count, addresses = self.inputs[stage_id]
        parts = range(count) if partition is None else [partition]
        # a hash partition's rows are unordered across producers: one fetch
        # per worker; a whole output ('all') keeps the producers' order
        groups = _runs(addresses) if partition is None else _by_address(addresses)
        for p in parts:
            for address, tasks in groups:
                files = self.files if address == self.own else self.clients.peer_files(address)
                if files is not None:
                    yield from self._read_files(files, address, stage_id, p, tasks)
                    continue
                ticket = BLOCKS + make_ticket(self.query_id, stage_id, p, tasks)
                where = f"stage {stage_id} partition {p} from {address}"
                try:
                    blocks = self._blocks(self.clients.fetch(address, ticket), where)
                    yield from self._decoded(C.decode(blocks, where), address, stage_id, tasks)
                except FetchStalled:
                    self.clients.forget(address)
                    raise FetchFailed(address, stage_id,
                                      f"no progress for {self.clients.timeout:g} s "
                                      "(fetch stall)", "stalled") from None
                except (flight.FlightError, ConnectionError) as exc:
                    self.clients.forget(address)
                    msg = str(exc).splitlines()[0]
                    kind = _failure_kind(msg)
                    raise FetchFailed(address, stage_id, msg, kind,
                                      tasks if kind != "unreachable" else None) from None

    def _read_files(self, files, address, stage_id, partition, tasks):
        """The producers' files read directly: this worker's own, or those of
        a worker on this host (FlightClients.peer_files)."""
        whose = "this worker" if files is self.files else f"{address}'s folder"
        for t in tasks:
            try:
                batches = files.read(self.query_id, stage_id, partition, t)
            except FileNotFoundError:
                raise FetchFailed(address, stage_id, f"output of task {t} is gone from "
                                  f"{whose}", "missing", [t]) from None
            except C.Corrupt as exc:
                raise FetchFailed(address, stage_id, f"checksum mismatch: {exc}",
                                  "checksum", [t]) from None
            yield from self._decoded(batches, address, stage_id, [t])

    def _blocks(self, batches, where):
        for b in batches:
            self.bytes_read += b.nbytes
            yield from C.decode_blocks(b, where)

    @staticmethod
    def _decoded(batches, address, stage_id, tasks):
        try:
            yield from batches
        except C.Corrupt as exc:
            raise FetchFailed(address, stage_id, f"checksum mismatch: {exc}", "checksum",
                              tasks) from None

    def drop_stage(self, stage_id):
        pass          # the coordinator tells workers when a query's files can go


_DONE = object()


def _as_first_schema(batches):
    """The batches, each cast to the first one's schema (as do_get sends them)."""
    schema = None
    for b in batches:
        if schema is None:
            schema = b.schema
        yield b if b.schema.equals(schema) else b.cast(schema)


def _by_address(addresses: list[str]) -> list[tuple[str, list[int]]]:
    """Producer tasks grouped by address, addresses in first-task order
    (tasks alternate between workers: _runs would fetch each on its own)."""
    out: dict[str, list[int]] = {}
    for t, a in enumerate(addresses):
        out.setdefault(a, []).append(t)
    return list(out.items())


def _runs(addresses: list[str]) -> list[tuple[str, list[int]]]:
    """Consecutive producer tasks on the same address, in task order."""
    out: list[tuple[str, list[int]]] = []
    for t, a in enumerate(addresses):
        if out and out[-1][0] == a:
            out[-1][1].append(t)
        else:
            out.append((a, [t]))
    return out
