"""The seam between stages: producers write hash partitions, consumers read
them. This is the one interface the network hides behind: the embedded
engine uses `MemoryShuffleStore`; the cluster implements the same methods
with Arrow IPC files served over Flight (cluster/flight_shuffle.py).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import defaultdict
from typing import Iterator, Protocol

import pyarrow as pa
from .spill_reading import read_ipc_stream


class ShuffleStore(Protocol):
    def write(self, stage_id: int, task: int, partition: int,
              batches: list[pa.RecordBatch]) -> None:
        """Store one producer task's output for one consumer partition.
        Called once per (stage, task, partition); a retried task overwrites."""

    def read(self, stage_id: int, partition: int | None,
             schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        """Every producer task's batches for `partition` (None: all partitions)."""

    def drop_stage(self, stage_id: int) -> None:
        """Free a stage's output once no consumer needs it."""


class MemoryShuffleStore:
    """In-process shuffle: batches stay in memory, keyed by stage, partition
    and producer task (so a rerun task replaces, never duplicates, its output).

    Given the query's ExecContext, the store reserves what it holds from the
    memory pool (one reservation per producer stage, freed by drop_stage);
    once the pool refuses, the rest of that task's partition goes to an Arrow
    IPC file in the spill folder, read back after the batches held (so the
    order stays the producer's)."""

    def __init__(self, ctx=None) -> None:
        self._lock = threading.Lock()
        self._ctx = ctx
        self._data: dict[int, dict[int, dict[int, tuple[list, str | None]]]] = \
            defaultdict(lambda: defaultdict(dict))
        self._res: dict[int, object] = {}
        self._folder: str | None = None
        if ctx is not None:
            ctx.add_spiller(self.spill)

    def _reservation(self, stage_id: int):
        with self._lock:
            res = self._res.get(stage_id)
            if res is None:
                res = self._res[stage_id] = self._ctx.reserve(f"stage {stage_id} output")
            return res

    def _spill_path(self, stage_id: int, partition: int, task: int) -> str:
        with self._lock:
            if self._folder is None:
                self._folder = self._ctx.spill_folder("quiver-shuffle-")
                folder = self._folder
                self._ctx.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        return os.path.join(self._folder, f"s{stage_id}-p{partition}-t{task}.arrow")

    def write(self, stage_id, task, partition, batches):
        if self._ctx is None:
            with self._lock:
                self._data[stage_id][partition][task] = (list(batches), None)
            return
        res = self._reservation(stage_id)
        held, path, writer, sink, schema = [], None, None, None, None
        try:
            for b in batches:
                if writer is None and self._ctx.try_grow_buffer(res, b.nbytes):
                    held.append(b)
                    continue
                if writer is None:
                    path = self._spill_path(stage_id, partition, task)
                    sink = pa.OSFile(path, "wb")
                    schema = b.schema
                    writer = pa.ipc.new_stream(sink, schema)
                writer.write_batch(b if b.schema.equals(schema) else b.cast(schema))
                res.record_spill(b.nbytes)
        finally:
            if writer is not None:
                writer.close()
                sink.close()
        self._put(stage_id, partition, task, held, path, res)

    def _put(self, stage_id, partition, task, held, path, res) -> None:
        """Keep a task's output (batches held, and/or a file); an output it
        replaces (a rerun) gives its reservation back."""
        with self._lock:
            old = self._data[stage_id][partition].get(task)
            self._data[stage_id][partition][task] = (held, path)
        if old is not None and old[0]:
            res.shrink(sum(b.nbytes for b in old[0]))

    def adopt(self, stage_id: int, task: int, partition: int, path: str) -> None:
        """Take a producer task's output for one partition that is already an
        Arrow IPC stream file (a shuffle write's spill): moved into the
        store's folder instead of read back and written again."""
        if self._ctx is None:
            self.write(stage_id, task, partition, read_ipc_stream(path))
            return
        res = self._reservation(stage_id)      # drop_stage frees and removes as usual
        target = self._spill_path(stage_id, partition, task)
        os.replace(path, target)
        self._put(stage_id, partition, task, [], target, res)

    def spill(self, n: int) -> None:
        """Move held outputs to disk until about `n` bytes are freed."""
        freed = 0
        with self._lock:
            entries = [(s, p, t, batches, path) for s, parts in self._data.items()
                       for p, tasks in parts.items() for t, (batches, path) in tasks.items()
                       if batches and path is None]
        for stage_id, partition, task, batches, _ in entries:
            if freed >= n:
                break
            path = self._spill_path(stage_id, partition, task) + ".out"
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, batches[0].schema) as w:
                for b in batches:
                    w.write_batch(b if b.schema.equals(batches[0].schema)
                                  else b.cast(batches[0].schema))
            size = sum(b.nbytes for b in batches)
            with self._lock:
                tasks = self._data.get(stage_id, {}).get(partition, {})
                if tasks.get(task, (None,))[0] is not batches:
                    os.remove(path)              # dropped or replaced meanwhile
                    continue
                tasks[task] = ([], path)
                res = self._res.get(stage_id)
            if res is not None:
                res.shrink(size)
                res.record_spill(size)
            freed += size

    def read(self, stage_id, partition, schema):
        with self._lock:
            parts = self._data.get(stage_id, {})
            if partition is None:
                keys = sorted(parts)
            else:
                keys = [partition] if partition in parts else []
            chunks = [parts[k][t] for k in keys for t in sorted(parts[k])]
        for batches, path in chunks:
            yield from batches
            if path is not None:
                yield from read_ipc_stream(path)

    def partition_rows(self, stage_id: int, partition: int | None) -> int:
        """Rows of a stage's output for one partition, or all of them with
        None (a file's are counted from its batch headers, memory-mapped:
        the data is not read)."""
        with self._lock:
            parts = self._data.get(stage_id, {})
            keys = list(parts) if partition is None else [partition]
            tasks = [t for k in keys for t in parts.get(k, {}).values()]
        total = 0
        for batches, path in tasks:
            total += sum(b.num_rows for b in batches)
            if path is not None:
                with pa.memory_map(path) as source:
                    total += sum(b.num_rows for b in pa.ipc.open_stream(source))
        return total

    def drop_stage(self, stage_id):
        with self._lock:
            parts = self._data.pop(stage_id, {})
            res = self._res.pop(stage_id, None)
        if res is not None:
            res.free()
        for entries in parts.values():
            for _batches, path in entries.values():
                if path is not None and os.path.exists(path):
                    os.remove(path)

    def nbytes(self, stage_id: int) -> int:
        """Bytes of the stage's output held in memory."""
        with self._lock:
            parts = self._data.get(stage_id, {})
            return sum(b.nbytes for p in parts.values() for bs, _ in p.values() for b in bs)
