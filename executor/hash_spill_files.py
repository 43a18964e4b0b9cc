"""Hash-partitioned spill files: how a spilling join, aggregate or window
splits what it cannot hold into sub-problems it can redo one at a time.

Owns `HashSpillFiles`: `fanout` Arrow IPC files of one input under a spill
folder. Each row goes to the file its key columns' re-mixed hash picks
(`salt` differs per operator and per level, so a file split again one
level down spreads its rows instead of sending them all to one file), so
rows with equal keys always share a file. Files are made only for parts
that get rows; their bytes are recorded on the owner's reservation
(`record_spill`) as they are written. Read back with plain reads
(spill_reading.py), never memory-mapped.

Not here: the folder's life (the operator removes it) and what a part
means (each operator's *_spill.py).
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from .kernels import join_index as ji
from .kernels.hashing import hash_arrays
from .kernels.partition import partition_rows
from .row_take import take_rows
from .spill_reading import read_ipc_file

FANOUT = 16


class HashSpillFiles:
    def __init__(self, folder: str, tag: str, schema: pa.Schema, res, fanout: int = FANOUT):
        self.fanout = fanout
        self.paths = [f"{folder}/{tag}-{i}.arrow" for i in range(fanout)]
        self.schema = schema
        self.res = res                     # counts the bytes spilled
        self.writers: list = [None] * fanout
        self.rows = [0] * fanout
        self.bytes_written = 0

    def write(self, batch: pa.RecordBatch, keys: list, salt: int,
              keep=()) -> list[tuple[int, pa.RecordBatch]]:
        """Append each part's rows to its file, except the parts in `keep`:
        those come back as (part, rows) instead. `keys` are arrays, one
        per key, as long as the batch; the batch takes this file's schema
        (same columns, maybe other names)."""
        if batch.num_rows == 0:
            return []
        if not batch.schema.equals(self.schema):
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        order, offsets = partition_rows(ji.remix(hash_arrays(keys), salt), self.fanout)
        kept = []
        for p in range(self.fanout):
            lo, hi = int(offsets[p]), int(offsets[p + 1])
            if hi == lo:
                continue
            part = take_rows(batch, order[lo:hi])      # computed indices: unchecked
            if p in keep:
                kept.append((p, part))
                continue
            if self.writers[p] is None:
                self.writers[p] = pa.ipc.new_file(self.paths[p], self.schema)
            self.writers[p].write_batch(part)
            self.rows[p] += hi - lo
            self.bytes_written += part.nbytes
            self.res.record_spill(part.nbytes)
        return kept

    def finish(self) -> None:
        """Close the files for reading (once every row is written)."""
        for w in self.writers:
            if w is not None:
                w.close()

    def abandon(self) -> None:
        """Close whatever is open, ignoring errors (the folder is about to go)."""
        for w in self.writers:
            if w is not None:
                try:
                    w.close()
                except (OSError, pa.ArrowInvalid):
                    pass

    def written(self) -> list[int]:
        """The parts that have a file, in order."""
        return [p for p in range(self.fanout) if self.writers[p] is not None]

    def read(self, p: int) -> Iterator[pa.RecordBatch]:
        """Part p's batches (none if it got no rows); after finish()."""
        if self.writers[p] is None:
            return
        yield from read_ipc_file(self.paths[p])
