"""The bounded window between a running query and its client.

Owns `ResultWindow`: the final stage's batches wait here, per partition, until
the client takes them in partition order. It holds at most `limit` bytes (plus
one batch, so the partition the client is reading can always make progress):
a final-stage task asks `may_put(partition)` before it produces the next
batch and parks when the answer is no (local_runner.DagRun resumes it once the
client has taken enough). When the process has a memory pool, the buffered
bytes are reserved from it under the owner "ResultWindow"; a refused
reservation parks the producers too.

Does not own running tasks (executor/local_runner.py) or the client's
cursor (dbapi.py).
"""

from __future__ import annotations

import threading
from collections import deque

import pyarrow as pa

DEFAULT_WINDOW = 32 << 20      # bytes of unconsumed result a query may hold


class ResultWindow:
    def __init__(self, partitions: int, limit: int | None = DEFAULT_WINDOW,
                 reservation=None):
        self._lock = threading.Lock()
        self.limit = limit                       # None: unbounded (collect everything)
        self.partitions = partitions
        self._buffers: list[deque[pa.RecordBatch]] = [deque() for _ in range(partitions)]
        self._finished = [False] * partitions
        self.current = 0                          # the partition the client reads
        self.buffered = 0                         # bytes waiting in the window
        self.buffered_rows = 0
        self.peak = 0
        self._reservation = reservation           # a memory-pool Reservation, or None
        self._reserved = 0                        # of `buffered`, the bytes the pool granted
        self._refused = False                     # the pool said no since the last take

    # -- producers -------------------------------------------------------------
    def may_put(self, partition: int) -> bool:
        """May the task of `partition` produce one more batch now?"""
        with self._lock:
            if not self._refused and (self.limit is None or self.buffered < self.limit):
                return True
            # the window is full; the partition the client waits on may still
            # add a batch when it has none buffered, or the client would starve
            return partition == self.current and not self._buffers[partition]

    def put(self, partition: int, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        n = batch.nbytes
        granted = self._reservation is not None and self._reservation.try_grow(n)
        with self._lock:
            self._buffers[partition].append(batch)
            self.buffered += n
            self.buffered_rows += batch.num_rows
            self.peak = max(self.peak, self.buffered)
            if granted:
                self._reserved += n
            elif self._reservation is not None:
                # the pool refused: the batch exists already, so keep it, but
                # producers park until the client has taken some
                self._refused = True

    def finish(self, partition: int) -> None:
        with self._lock:
            self._finished[partition] = True

    # -- the client -------------------------------------------------------------
    def take(self) -> pa.RecordBatch | None:
        """The next batch in partition order, or None when none is ready yet
        (or the result is complete: see `exhausted`)."""
        with self._lock:
            while self.current < self.partitions:
                buf = self._buffers[self.current]
                if buf:
                    batch = buf.popleft()
                    self.buffered -= batch.nbytes
                    self.buffered_rows -= batch.num_rows
                    give_back = max(0, self._reserved - self.buffered)
                    self._reserved -= give_back
                    self._refused = False
                    break
                if not self._finished[self.current]:
                    return None
                self.current += 1
            else:
                return None
        if self._reservation is not None and give_back:
            self._reservation.shrink(give_back)
        return batch

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self.current >= self.partitions or (
                all(self._finished[self.current:])
                and not any(self._buffers[p] for p in range(self.current, self.partitions)))

    def clear(self) -> None:
        """Drop everything buffered (the client closed the result early)."""
        with self._lock:
            for buf in self._buffers:
                buf.clear()
            self.buffered = self.buffered_rows = 0
            self._reserved = 0
        if self._reservation is not None:
            self._reservation.free()
