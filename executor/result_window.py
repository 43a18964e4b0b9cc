"""The bounded window between a running query and its client.

Owns `ResultWindow`: the final stage's batches wait here, per partition, until
the client takes them in partition order. It holds at most `limit` bytes of
unread result (plus one batch, so the partition the client is reading can
always make progress): a final-stage task asks `may_put(partition)` before it
produces the next batch and parks when the answer is no (local_runner.DagRun
resumes it once the client has taken enough).

Memory: when the process has a memory pool, the batches held in memory are
reserved from it under the owner "ResultWindow". A batch the pool refuses, and
any held batch when an operator of the same query needs room (the pool's
reclaim asks `spill`), moves to an Arrow IPC file in the spill folder and is
read back, in order, when the client reaches it. Unread results therefore
never starve a join or an aggregate still running: the client may be the very
thread that runs them.

Does not own running tasks (executor/local_runner.py) or the client's
cursor (dbapi.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections import deque

import pyarrow as pa
from .spill_reading import open_ipc_stream

DEFAULT_WINDOW = 32 << 20      # bytes of unconsumed result a query may hold


class _SpilledRun:
    """Consecutive batches of one partition, written to one IPC file."""

    def __init__(self, path: str, nbytes: int, rows: int):
        self.path, self.nbytes, self.rows = path, nbytes, rows
        self._source = None
        self._reader = None

    def next_batch(self) -> pa.RecordBatch | None:
        if self._reader is None:
            self._source, self._reader = open_ipc_stream(self.path)
        try:
            return self._reader.read_next_batch()
        except StopIteration:
            self.discard()
            return None

    def discard(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = self._reader = None
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


class ResultWindow:
    def __init__(self, partitions: int, limit: int | None = DEFAULT_WINDOW,
                 reservation=None, spill_dir: str | None = None):
        """`reservation`: the pool's, or None for no accounting (and no
        spilling); spilled files go to a folder under `spill_dir` (None: the
        system's temp folder), removed by `clear`."""
        self._lock = threading.Lock()
        self.limit = limit                       # None: unbounded (collect everything)
        self.partitions = partitions
        self._buffers: list[deque] = [deque() for _ in range(partitions)]
        self._finished = [False] * partitions
        self.current = 0                          # the partition the client reads
        self.buffered = 0                         # bytes waiting, in memory or spilled
        self.buffered_rows = 0
        self.peak = 0
        self.spilled = 0                          # bytes ever moved to disk
        self._reservation = reservation           # a memory-pool Reservation, or None
        self._in_memory = 0                       # of `buffered`, the bytes held in memory
        self._reserved = 0                        # of `_in_memory`, the bytes the pool granted
        self._refused = False                     # the pool said no since the last take
        self._spill_dir = spill_dir
        self._folder: str | None = None
        self._cleared = False                     # clear() ran: nothing more is kept
        self._remove_folder = None                # a weakref.finalize removing _folder

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
        refused = self._reservation is not None and not granted
        item = batch
        if refused:
            with self._lock:
                folder = None if self._cleared else self._run_folder()
            if folder is None:
                return                              # the result was dropped meanwhile
            try:
                item = self._write_run([batch], folder)   # outside the lock: disk I/O
            except OSError:
                if self._cleared:                   # clear() removed the folder meanwhile
                    return
                raise
        with self._lock:
            if self._cleared:
                # a producer still running when the result was dropped keeps nothing
                if isinstance(item, _SpilledRun):
                    item.discard()
                elif granted:
                    self._reservation.shrink(n)
                return
            self._buffers[partition].append(item)
            self.buffered += n
            self.buffered_rows += batch.num_rows
            self.peak = max(self.peak, self.buffered)
            if isinstance(item, _SpilledRun):
                self.spilled += n
            else:
                self._in_memory += n
            if granted:
                self._reserved += n
            if refused:
                # producers park until the client has taken some
                self._refused = True
        if refused and isinstance(item, _SpilledRun):
            self._reservation.record_spill(n)

    def finish(self, partition: int) -> None:
        with self._lock:
            self._finished[partition] = True

    # -- memory ----------------------------------------------------------------
    def spill(self, n: int) -> None:
        """Move held batches to disk until about `n` bytes are freed, the
        partitions the client reaches last first (a pool spiller)."""
        if self._reservation is None:
            return
        freed = 0
        for partition in reversed(range(self.partitions)):
            if freed >= n:
                break
            with self._lock:
                buf = self._buffers[partition]
                held = [b for b in buf if isinstance(b, pa.RecordBatch)]
                if not held:
                    continue
                # the whole deque becomes spilled runs, in order
                items = list(buf)
                buf.clear()
                out, group = [], []
                for item in items:
                    if isinstance(item, pa.RecordBatch):
                        group.append(item)
                        continue
                    if group:
                        out.append(self._write_run(group, self._run_folder()))
                        group = []
                    out.append(item)
                if group:
                    out.append(self._write_run(group, self._run_folder()))
                buf.extend(out)
                size = sum(b.nbytes for b in held)
                self._in_memory -= size
                self.spilled += size
                give_back = max(0, self._reserved - self._in_memory)
                self._reserved -= give_back
            if self._reservation is not None:
                if give_back:
                    self._reservation.shrink(give_back)
                self._reservation.record_spill(size)
            freed += size

    def _run_folder(self) -> str:
        """The folder of spilled runs, made on first use (call under the lock).
        A finalizer removes it should the process end with the result still
        open (a cursor neither read to its end nor closed)."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="quiver-result-", dir=self._spill_dir)
            res = self._reservation
            if res is not None:           # the query's spill limit measures it
                res.pool.add_spill_folder(res.query_id, self._folder)
            self._remove_folder = weakref.finalize(
                self, shutil.rmtree, self._folder, ignore_errors=True)
        return self._folder

    @staticmethod
    def _write_run(batches: list[pa.RecordBatch], folder: str) -> _SpilledRun:
        fd, path = tempfile.mkstemp(suffix=".arrow", dir=folder)
        os.close(fd)
        schema = batches[0].schema
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            for b in batches:
                writer.write_batch(b if b.schema.equals(schema) else b.cast(schema))
        return _SpilledRun(path, sum(b.nbytes for b in batches),
                           sum(b.num_rows for b in batches))

    # -- the client -------------------------------------------------------------
    def take(self) -> pa.RecordBatch | None:
        """The next batch in partition order, or None when none is ready yet
        (or the result is complete: see `exhausted`)."""
        give_back = 0
        with self._lock:
            while self.current < self.partitions:
                buf = self._buffers[self.current]
                if buf:
                    head = buf[0]
                    if isinstance(head, _SpilledRun):
                        batch = head.next_batch()
                        if batch is None:
                            buf.popleft()
                            continue
                        self.buffered -= batch.nbytes
                    else:
                        batch = buf.popleft()
                        self.buffered -= batch.nbytes
                        self._in_memory -= batch.nbytes
                        give_back = max(0, self._reserved - self._in_memory)
                        self._reserved -= give_back
                    self.buffered = max(0, self.buffered)
                    self.buffered_rows -= batch.num_rows
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
                for item in buf:
                    if isinstance(item, _SpilledRun):
                        item.discard()
                buf.clear()
            self.buffered = self.buffered_rows = 0
            self._in_memory = self._reserved = 0
            self._cleared = True
            self._folder = None
            remove, self._remove_folder = self._remove_folder, None
        if self._reservation is not None:
            self._reservation.free()
        if remove is not None:
            remove()                                # removes the folder, once
