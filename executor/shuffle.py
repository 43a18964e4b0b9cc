"""The seam between stages: producers write hash partitions, consumers read
them. This is the one interface the network hides behind: the embedded
engine uses `MemoryShuffleStore`; the cluster implements the same methods
with Arrow IPC files served over Flight (cluster/flight_shuffle.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from collections import defaultdict
from typing import Iterator, Protocol

import pyarrow as pa


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

    What it holds is reserved from the process's memory pool (one
    `Reservation` named "ShuffleStore", from `reservation`); when the pool
    refuses, that output is written to the spill folder as an Arrow IPC file
    instead and read back batch by batch. Without a reservation nothing is
    accounted (unit tests of operators)."""

    def __init__(self, reservation=None, spill_dir: str | None = None) -> None:
        self._lock = threading.Lock()
        self._data: dict[int, dict[int, dict[int, _Stored]]] = \
            defaultdict(lambda: defaultdict(dict))
        self._reservation = reservation
        self._spill_root = spill_dir
        self._spill_dir: str | None = None
        self.spilled_bytes = 0

    def write(self, stage_id, task, partition, batches):
        batches = [b for b in batches if b.num_rows]
        size = sum(b.nbytes for b in batches)
        if self._reservation is None or self._reservation.try_grow(size):
            stored = _Stored(batches, size)
        else:
            stored = _Stored(None, 0, self._spill(stage_id, task, partition, batches))
            self._reservation.record_spill(size)
        with self._lock:
            old = self._data[stage_id][partition].get(task)
            self._data[stage_id][partition][task] = stored
        if old is not None:
            self._forget(old)

    def read(self, stage_id, partition, schema):
        with self._lock:
            parts = self._data.get(stage_id, {})
            if partition is None:
                keys = sorted(parts)
            else:
                keys = [partition] if partition in parts else []
            chunks = [parts[k][t] for k in keys for t in sorted(parts[k])]
        for stored in chunks:
            yield from stored.batches()

    def drop_stage(self, stage_id):
        with self._lock:
            parts = self._data.pop(stage_id, {})
        for tasks in parts.values():
            for stored in tasks.values():
                self._forget(stored)

    def close(self) -> None:
        """Free everything (the query ended): memory, and the spill folder."""
        with self._lock:
            stages = list(self._data)
        for stage_id in stages:
            self.drop_stage(stage_id)
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None

    def nbytes(self, stage_id: int) -> int:
        """Bytes of the stage's output held in memory (spilled output not counted)."""
        with self._lock:
            parts = self._data.get(stage_id, {})
            return sum(st.size for p in parts.values() for st in p.values())

    def _spill(self, stage_id, task, partition, batches) -> str:
        with self._lock:
            if self._spill_dir is None:
                self._spill_dir = tempfile.mkdtemp(prefix="quiver-shuffle-", dir=self._spill_root)
        path = os.path.join(self._spill_dir, f"s{stage_id}-p{partition}-t{task}-{uuid.uuid4().hex[:8]}.arrow")
        if batches:
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, batches[0].schema) as w:
                for b in batches:
                    w.write_batch(b)
            with self._lock:
                self.spilled_bytes += os.path.getsize(path)
        else:
            open(path, "wb").close()
        return path

    def _forget(self, stored: "_Stored") -> None:
        if stored.path is not None:
            try:
                os.unlink(stored.path)
            except OSError:
                pass
        elif self._reservation is not None and stored.size:
            self._reservation.shrink(stored.size)


class _Stored:
    """One producer task's output for one partition: batches, or a spill file."""

    __slots__ = ("_batches", "size", "path")

    def __init__(self, batches, size: int, path: str | None = None):
        self._batches, self.size, self.path = batches, size, path

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.path is None:
            yield from self._batches
            return
        if os.path.getsize(self.path) == 0:
            return
        with pa.OSFile(self.path, "rb") as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
