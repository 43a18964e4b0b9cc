"""Reading spilled Arrow IPC files back: into memory the pool can see.

Spill files are read with plain file reads, not `pa.memory_map`. A mapped
file's pages count in the process's resident memory as they are touched, yet
no reservation knows of them and the allocator cannot give them back: with
the whole build side of a spilled join mapped, a 2 GB limit grew to ~3 GB of
RSS (TPC-H Q21 at SF10). Read batches are ordinary Arrow allocations that the
operator holding them reserves, and that go away when it drops them.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa


def read_ipc_file(path: str) -> Iterator[pa.RecordBatch]:
    """The batches of an Arrow IPC *file* (random-access format), one at a time."""
    with pa.OSFile(path, "rb") as source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


def read_ipc_stream(path: str) -> Iterator[pa.RecordBatch]:
    """The batches of an Arrow IPC *stream*, one at a time."""
    with pa.OSFile(path, "rb") as source:
        yield from pa.ipc.open_stream(source)


def open_ipc_stream(path: str) -> tuple[pa.NativeFile, pa.ipc.RecordBatchStreamReader]:
    """An open file and a stream reader over it, for a caller that reads
    batches on demand and closes the file itself."""
    source = pa.OSFile(path, "rb")
    return source, pa.ipc.open_stream(source)
