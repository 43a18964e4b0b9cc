"""External merge sort: what SortExec does when the memory pool refuses to
let a partition's rows stay in memory (its reservation, ctx.reserve).

`ExternalSort` takes the held batches (data columns followed by the evaluated
key columns) whenever they go over budget, sorts them with `sort_indices`
and writes them as one sorted *run*: an Arrow IPC stream file in a private
folder under ctx.spill_dir (a temporary folder when None). `merged(tail)`
then merges the runs and the in-memory tail into one sorted stream.

Merging never loads a whole run: each run is read batch by batch (memory
mapped) and only its current batch is held. One merge step:

  1. concatenate the unread rest of every run's current batch, in run order;
  2. sort those candidates with `sort_indices` (stable);
  3. B = the run-last row that sorts first; every row up to B in that order
     is final (any unread row of run r sorts after r's current last row,
     which sorts at or after B), so emit that prefix and advance each run by
     how many of its rows were emitted (always a prefix of its batch).

Runs are numbered in input order and each run is sorted stably, so the
stable sort of the candidates breaks ties by (run, row): the merge gives
exactly the order of one stable in-memory sort of the whole input, with the
same per-key direction, NULLS placement, NaN and string rules.

More than FANIN runs are first merged in groups of FANIN consecutive runs
(consecutive, so ties stay in input order) into longer runs. The folder and
its files are removed by `close()`, which `sort.py` calls in a `finally`, so
errors and consumers that stop early clean up too.

Not here: evaluating keys, top-N, output batching (sort.py).
"""

from __future__ import annotations

import os
import shutil
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa

from ...planner.expr import SortKey
from ..kernels.sort_order import sort_indices
from ..spill_reading import open_ipc_stream

FANIN = 16                 # runs merged at once
MIN_CHUNK_ROWS = 64        # smallest batch written to a run


class _Cursor:
    """The unread rest of one sorted run, one batch at a time."""

    def __init__(self, batches: Iterator[pa.RecordBatch]):
        self._batches = batches
        self.batch: pa.RecordBatch | None = None
        self._next()

    def _next(self) -> None:
        self.batch = None
        for b in self._batches:
            if b.num_rows:
                self.batch = b
                return

    def advance(self, n: int) -> None:
        if n >= self.batch.num_rows:
            self._next()
        elif n:
            self.batch = self.batch.slice(n)


def merge_sorted(runs: Sequence[Iterator[pa.RecordBatch]], key_columns: Sequence[int],
                 keys: Sequence[SortKey], check=None) -> Iterator[pa.Table | pa.RecordBatch]:
    """Merge sorted runs (each an iterator of batches of one schema, sorted by
    the columns `key_columns` per `keys`) into sorted pieces; ties keep run
    order, then row order. `check()` is called once per step (cancellation)."""
    cursors = [_Cursor(iter(r)) for r in runs]
    while True:
        if check is not None:
            check()
        live = [c for c in cursors if c.batch is not None]
        if not live:
            return
        if len(live) == 1:                       # nothing left to merge with
            yield live[0].batch
            live[0].advance(live[0].batch.num_rows)
            continue
        lens = np.array([c.batch.num_rows for c in live], dtype=np.int64)
        cand = pa.Table.from_batches([c.batch for c in live])
        perm = sort_indices([cand.column(i) for i in key_columns], keys)
        rank = np.empty_like(perm)
        rank[perm] = np.arange(perm.size, dtype=np.int64)
        bound = int(rank[np.cumsum(lens) - 1].min())
        take = perm[:bound + 1]
        run_of = np.repeat(np.arange(len(live), dtype=np.int64), lens)
        counts = np.bincount(run_of[take], minlength=len(live))
        yield cand.take(pa.array(take))
        for c, n in zip(live, counts):
            c.advance(int(n))


class ExternalSort:
    """Sorted runs of one partition on disk, and their merge."""

    def __init__(self, keys: Sequence[SortKey], key_columns: Sequence[int], ctx,
                 reservation=None):
        self.keys = tuple(keys)
        self.key_columns = list(key_columns)
        self.ctx = ctx
        self.reservation = reservation        # counts the bytes spilled
        self.folder = ctx.spill_folder("quiver-sort-")
        self.runs: list[str] = []                # paths, in input order
        self._maps: list = []                    # open memory maps
        self._count = 0
        self.schema: pa.Schema | None = None

    # -- writing runs -----------------------------------------------------

    def _chunk_rows(self, table: pa.Table | pa.RecordBatch) -> int:
        """Rows per run batch: a merge holds FANIN of them within budget."""
        row_bytes = max(1, table.nbytes // max(1, table.num_rows))
        rows = int(self.ctx.effective_limit()) // (2 * FANIN * row_bytes)
        return max(MIN_CHUNK_ROWS, min(rows, max(MIN_CHUNK_ROWS, int(self.ctx.batch_size))))

    def _new_path(self) -> str:
        self._count += 1
        return os.path.join(self.folder, f"run-{self._count}.arrows")

    def _write(self, pieces: Iterator[pa.Table | pa.RecordBatch], schema: pa.Schema) -> str:
        path = self._new_path()
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            for piece in pieces:
                if isinstance(piece, pa.Table):
                    writer.write_table(piece)
                else:
                    writer.write_batch(piece)
        if self.reservation is not None:
            self.reservation.record_spill(os.path.getsize(path))
        return path

    def spill(self, batches: list[pa.RecordBatch]) -> None:
        """Sort `batches` (the next rows of the input) into a new run."""
        table = pa.Table.from_batches(batches)
        if self.schema is None:
            self.schema = table.schema
        step = self._chunk_rows(table)
        ordered = sort_table(table, self.key_columns, self.keys)
        self.runs.append(self._write(
            (ordered.slice(s, step) for s in range(0, ordered.num_rows, step)),
            self.schema))

    # -- reading and merging ---------------------------------------------

    def _read(self, path: str) -> Iterator[pa.RecordBatch]:
        source, reader = open_ipc_stream(path)
        self._maps.append(source)
        yield from reader

    def _merge(self, runs: Sequence[Iterator[pa.RecordBatch]]) -> Iterator:
        return merge_sorted(runs, self.key_columns, self.keys, self.ctx.check_cancelled)

    def _reduce(self, room: int) -> None:
        """Merge groups of consecutive runs until at most `room` are left."""
        while len(self.runs) > room:
            groups = [self.runs[i:i + FANIN] for i in range(0, len(self.runs), FANIN)]
            merged = []
            for group in groups:
                if len(group) == 1:
                    merged.append(group[0])
                    continue
                merged.append(self._write(self._merge([self._read(p) for p in group]),
                                          self.schema))
                self._release()
                for p in group:
                    os.remove(p)
            self.runs = merged

    def merged(self, tail: list[pa.RecordBatch]) -> Iterator[pa.Table | pa.RecordBatch]:
        """The whole input in sorted pieces: the runs plus `tail`, the rows
        still held in memory (they came last)."""
        tail = [b for b in tail if b.num_rows]
        self._reduce(FANIN - 1 if tail else FANIN)
        sources: list = [self._read(p) for p in self.runs]
        if tail:
            table = pa.Table.from_batches(tail)
            step = self._chunk_rows(table)
            ordered = sort_table(table, self.key_columns, self.keys).combine_chunks()
            sources.append(ordered.to_batches(max_chunksize=step))
        yield from self._merge(sources)

    def _release(self) -> None:
        maps, self._maps = self._maps, []
        for m in maps:
            m.close()

    def close(self) -> None:
        """Close every file and remove the folder (safe to call twice)."""
        self._release()
        shutil.rmtree(self.folder, ignore_errors=True)


def sort_table(table: pa.Table, key_columns: Sequence[int],
               keys: Sequence[SortKey]) -> pa.Table:
    idx = sort_indices([table.column(i) for i in key_columns], keys)
    return table.take(pa.array(idx))
