"""The seam between stages: producers write hash partitions, consumers read
them. This is the one interface the network hides behind: the embedded
engine uses `MemoryShuffleStore`; the cluster implements the same methods
with Arrow IPC files served over Flight (cluster/flight_shuffle.py).
"""

from __future__ import annotations

import threading
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
    and producer task (so a rerun task replaces, never duplicates, its output)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[int, dict[int, dict[int, list[pa.RecordBatch]]]] = \
            defaultdict(lambda: defaultdict(dict))

    def write(self, stage_id, task, partition, batches):
        with self._lock:
            self._data[stage_id][partition][task] = list(batches)

    def read(self, stage_id, partition, schema):
        with self._lock:
            parts = self._data.get(stage_id, {})
            if partition is None:
                keys = sorted(parts)
            else:
                keys = [partition] if partition in parts else []
            chunks = [parts[k][t] for k in keys for t in sorted(parts[k])]
        for batches in chunks:
            yield from batches

    def drop_stage(self, stage_id):
        with self._lock:
            self._data.pop(stage_id, None)

    def nbytes(self, stage_id: int) -> int:
        with self._lock:
            parts = self._data.get(stage_id, {})
            return sum(b.nbytes for p in parts.values() for bs in p.values() for b in bs)
