"""The cluster's data plane: shuffle output as Arrow IPC files, served and
fetched over Arrow Flight.

Owns:
- `ShuffleFiles`: a worker's data folder. Producer task `t` of stage `s` of
  query `q` writes output partition `p` to `<dir>/<q>/<s>/<p>/<t>.arrow`
  (written to a temporary name, then renamed: a reader never sees half a
  file). An empty partition is a zero-byte file, so "no rows" differs from
  "not written".
- `ShuffleFlightServer`: a pyarrow.flight server whose `do_get` serves those
  files. Ticket: `q/s/p/t1,t2,...` streams the tasks' files in that order.
  Tickets are parsed strictly (no path can escape the data folder).
- `FlightShuffleStore`: the executor's ShuffleStore seam (executor/shuffle.py)
  for one task on a worker: `write` goes to the local files, `read` fetches
  partition `p` of every producer task from the producers' Flight servers
  (local files directly when the producer is this worker), in producer
  order. A producer that does not answer raises `FetchFailed`, which the
  worker reports so the coordinator reruns that producer.
- `FlightClients`: one cached Flight client per address (token, TLS), every
  fetch bounded by a deadline (`timeout`, default DEFAULT_FETCH_TIMEOUT
  seconds for the whole stream of one ticket) so a frozen peer cannot hang
  a consumer forever: the fetch fails (a consumer task then reports
  FETCH_FAILED and the producer reruns elsewhere).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from typing import Iterator

import pyarrow as pa
import pyarrow.ipc as ipc
from pyarrow import flight

from .security import flight_call_options, flight_middleware, read_file

_QUERY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

DEFAULT_FETCH_TIMEOUT = 300.0      # seconds for one ticket's whole stream


class FetchFailed(Exception):
    """An input partition could not be fetched from its producer."""

    def __init__(self, address: str, stage_id: int, detail: str):
        self.address, self.stage_id = address, stage_id
        super().__init__(f"could not fetch stage {stage_id} output from {address}: {detail}")


class BadTicket(ValueError):
    pass


def make_ticket(query_id: str, stage_id: int, partition: int, tasks: list[int]) -> bytes:
    return f"{query_id}/{stage_id}/{partition}/{','.join(map(str, tasks))}".encode()


def parse_ticket(ticket: bytes) -> tuple[str, int, int, list[int]]:
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


class ShuffleFiles:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)

    def path(self, query_id: str, stage_id: int, partition: int, task: int) -> str:
        if not _QUERY_ID.match(query_id):
            raise BadTicket(f"bad query id {query_id!r}")
        return os.path.join(self.root, query_id, str(stage_id), str(partition), f"{task}.arrow")

    def write(self, query_id, stage_id, partition, task, batches) -> int:
        """Write one producer partition; returns the bytes written."""
        path = self.path(query_id, stage_id, partition, task)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        sink = writer = schema = None
        try:                          # streamed: a spilled task output is never all in memory
            for b in batches:
                if not b.num_rows:
                    continue
                if writer is None:
                    sink = pa.OSFile(tmp, "wb")
                    schema = b.schema
                    writer = ipc.new_file(sink, schema)
                writer.write_batch(b if b.schema.equals(schema) else b.cast(schema))
        finally:
            if writer is not None:
                writer.close()
            if sink is not None:
                sink.close()
        if writer is None:
            open(tmp, "wb").close()
        os.replace(tmp, path)
        return os.path.getsize(path)

    def exists(self, query_id, stage_id, partition, task) -> bool:
        return os.path.exists(self.path(query_id, stage_id, partition, task))

    def read(self, query_id, stage_id, partition, task) -> Iterator[pa.RecordBatch]:
        path = self.path(query_id, stage_id, partition, task)
        if os.path.getsize(path) == 0:
            return
        with pa.memory_map(path) as source:
            reader = ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)

    def first_schema(self, query_id, stage_id, partition, tasks) -> pa.Schema:
        for t in tasks:
            path = self.path(query_id, stage_id, partition, t)
            if os.path.getsize(path):
                with pa.memory_map(path) as source:
                    return ipc.open_file(source).schema
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

    def do_get(self, context, ticket):
        try:
            q, s, p, tasks = parse_ticket(ticket.ticket)
        except BadTicket as exc:
            raise flight.FlightServerError(str(exc)) from None
        for t in tasks:
            if not self.files.exists(q, s, p, t):
                raise flight.FlightServerError(f"no shuffle output {q}/{s}/{p}/{t} on this worker")
        schema = self.files.first_schema(q, s, p, tasks)

        def gen():
            for t in tasks:
                for b in self.files.read(q, s, p, t):
                    yield b if b.schema.equals(schema) else b.cast(schema)
        return flight.GeneratorStream(schema, gen())


class FlightClients:
    """One Flight client per address, shared by the tasks of a process."""

    def __init__(self, token: str | None = None, tls_root: str | None = None,
                 timeout: float | None = None):
        self.token = token
        self.tls_root = read_file(tls_root) if tls_root else None
        self._lock = threading.Lock()
        self._clients: dict[str, flight.FlightClient] = {}
        self.timeout = float(timeout) if timeout and timeout > 0 else DEFAULT_FETCH_TIMEOUT
        self.options = flight_call_options(token, self.timeout)

    def get(self, address: str) -> flight.FlightClient:
        with self._lock:
            c = self._clients.get(address)
            if c is None:
                kwargs = {"tls_root_certs": self.tls_root} if self.tls_root else {}
                c = flight.connect(address, **kwargs)
                self._clients[address] = c
            return c

    def fetch(self, address: str, ticket: bytes) -> Iterator[pa.RecordBatch]:
        reader = self.get(address).do_get(flight.Ticket(ticket), self.options)
        for chunk in reader:
            if chunk.data is not None and chunk.data.num_rows:
                yield chunk.data

    def forget(self, address: str) -> None:
        with self._lock:
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

    def write(self, stage_id, task, partition, batches):
        def counted(batches):
            for b in batches:
                self.rows_written += b.num_rows
                yield b
        self.bytes_written += self.files.write(self.query_id, stage_id, partition, task,
                                               counted(batches))

    def read(self, stage_id, partition, schema):
        if stage_id not in self.inputs:
            raise FetchFailed("?", stage_id, "no location known for this stage")
        count, addresses = self.inputs[stage_id]
        parts = range(count) if partition is None else [partition]
        for p in parts:
            for address, tasks in _runs(addresses):
                if address == self.own:
                    for t in tasks:
                        try:
                            yield from self.files.read(self.query_id, stage_id, p, t)
                        except FileNotFoundError:
                            raise FetchFailed(address, stage_id,
                                              f"output of task {t} is gone from this "
                                              "worker") from None
                    continue
                ticket = make_ticket(self.query_id, stage_id, p, tasks)
                try:
                    for b in self.clients.fetch(address, ticket):
                        self.bytes_read += b.nbytes
                        yield b
                except flight.FlightTimedOutError:
                    self.clients.forget(address)
                    raise FetchFailed(address, stage_id,
                                      f"no complete answer within {self.clients.timeout:g} s "
                                      "(fetch timeout)") from None
                except (flight.FlightError, ConnectionError) as exc:
                    self.clients.forget(address)
                    raise FetchFailed(address, stage_id, str(exc).splitlines()[0]) from None

    def drop_stage(self, stage_id):
        pass          # the coordinator tells workers when a query's files can go


def _runs(addresses: list[str]) -> list[tuple[str, list[int]]]:
    """Consecutive producer tasks on the same address, in task order."""
    out: list[tuple[str, list[int]]] = []
    for t, a in enumerate(addresses):
        if out and out[-1][0] == a:
            out[-1][1].append(t)
        else:
            out.append((a, [t]))
    return out
