"""Durable stage outputs: a shared exchange location (`--exchange URI`).

With `quiver coordinator --exchange URI` (any fsspec location: a shared
folder, `s3://bucket/prefix`, ...) every worker writes its stage outputs
there instead of to its own disk, and consumers read them from there: a
lost worker then costs no recomputation (the scheduler keeps the outputs
of a lost worker, cluster_scheduler.exchange_address). Final partitions
lie there too; a client fetches them through any alive worker's Flight
server, which reads the exchange. Local disk stays the default.

Owns `ExchangeFiles`, the same interface as flight_shuffle.ShuffleFiles
(`write`, `exists`, `read`, `first_schema`, `drop_query`, `drop_all`) over
fsspec, laid out as `<uri>/<query>/<stage>/<partition>/<task>.arrow` (folders
cost an object store nothing; the local ShuffleFiles keeps one folder per
query).
A write is atomic: a temporary name renamed on a local folder, a single
object PUT on an object store. And `held_outputs(files)`: the (query,
stage, task) outputs a worker's local folder holds (it reports them when it
registers again, so they are not recomputed).

Storage options (credentials, endpoint) come with `--exchange-option
key=value` on the coordinator, which hands them to every worker, or from
the usual environment of the filesystem (AWS_* for s3).
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pyarrow as pa
import pyarrow.ipc as ipc

from .flight_shuffle import BadTicket, _QUERY_ID

EXCHANGE_ADDRESS = "exchange://"     # the producer address consumers are given


class ExchangeFiles:
    def __init__(self, uri: str, storage_options: dict | None = None):
        import fsspec
        self.uri = uri
        self.fs, root = fsspec.core.url_to_fs(uri, **(storage_options or {}))
        self.root = root.rstrip("/")
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.local = protocol in ("file", "local")
        if self.local:
            os.makedirs(self.root, exist_ok=True)

    def path(self, query_id: str, stage_id: int, partition: int, task: int) -> str:
        if not _QUERY_ID.match(query_id):
            raise BadTicket(f"bad query id {query_id!r}")
        return f"{self.root}/{query_id}/{stage_id}/{partition}/{task}.arrow"

    def write(self, query_id, stage_id, partition, task, batches) -> int:
        path = self.path(query_id, stage_id, partition, task)
        batches = [b for b in batches if b.num_rows]
        sink = pa.BufferOutputStream()
        if batches:
            with ipc.new_file(sink, batches[0].schema) as w:
                for b in batches:
                    w.write_batch(b if b.schema.equals(batches[0].schema)
                                  else b.cast(batches[0].schema))
        data = sink.getvalue().to_pybytes() if batches else b""
        if self.local:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        else:
            self.fs.pipe_file(path, data)
        return len(data)

    def exists(self, query_id, stage_id, partition, task) -> bool:
        return self.fs.exists(self.path(query_id, stage_id, partition, task))

    def _open(self, path: str):
        data = self.fs.cat_file(path)
        if not data:
            return None
        return ipc.open_file(pa.BufferReader(data))

    def read(self, query_id, stage_id, partition, task) -> Iterator[pa.RecordBatch]:
        reader = self._open(self.path(query_id, stage_id, partition, task))
        if reader is None:
            return
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)

    def first_schema(self, query_id, stage_id, partition, tasks) -> pa.Schema:
        for t in tasks:
            reader = self._open(self.path(query_id, stage_id, partition, t))
            if reader is not None:
                return reader.schema
        return pa.schema([])

    def drop_query(self, query_id: str) -> None:
        if _QUERY_ID.match(query_id):
            try:
                self.fs.rm(f"{self.root}/{query_id}", recursive=True)
            except (FileNotFoundError, OSError):
                pass

    def drop_all(self) -> None:
        pass          # shared by every worker: only whole queries are dropped

    def queries(self) -> list[str]:
        try:
            names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.root, detail=False)]
        except FileNotFoundError:
            return []
        return sorted(n for n in names if _QUERY_ID.match(n))


def held_outputs(files) -> list[tuple[str, int, int]]:
    """(query, stage, task) of every output file in a worker's local folder."""
    if isinstance(files, ExchangeFiles):
        return []
    return files.outputs()
