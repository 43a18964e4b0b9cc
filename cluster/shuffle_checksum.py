"""Checksummed shuffle blocks: the byte format of a shuffle file and of the
Flight stream that carries one, verified before any byte is decoded.

A shuffle file is

    MAGIC                                      8 bytes  b"QVSHUF01"
    block*: [u32 length][u64 checksum][u8 kind] payload
    trailer: b"QEND" [u32 block count] [u64 checksum of every block header]

Each block's payload is one Arrow IPC message: kind SCHEMA (the schema, first),
BATCH (a record batch of that schema) or STREAM (a whole IPC stream holding
one batch, used when the schema has dictionaries, which a lone batch message
cannot carry). A partition with no rows has no blocks at all.

Every byte is covered: the magic and trailer are compared, each block has
the XXH64 of its payload seeded with its kind (executor/kernels/checksum.py:
several times faster than zlib.crc32), and the trailer's checksum covers
every header (lengths, checksums, kinds), so a flipped, missing or extra byte anywhere raises `Corrupt` (a
ValueError) before Arrow sees the payload: a corrupted file costs a
recomputation, never a wrong answer or a crash in the IPC decoder.

Over Flight a producer sends the verified blocks themselves (`block_batches`:
record batches of a binary column `block`, a uint8 `kind` and the uint64
`checksum` stored in the file), unverified, and the consumer checks each
block (`decode_blocks`): one pass per block end to end, covering the disk
and the wire. `CHECKSUMS` (module switch, env QUIVER_SHUFFLE_CHECKSUMS=0)
turns the computation off (every checksum 0) to measure what it costs; the
format stays.

This module owns the format only; flight_shuffle.py owns files and transport.
"""

from __future__ import annotations

import itertools
import os
import struct
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from ..executor.kernels.checksum import xxh64

MAGIC = b"QVSHUF01"
END = b"QEND"
SCHEMA, BATCH, STREAM = 0, 1, 2
_HEADER = struct.Struct("<IQB")
_TRAILER = struct.Struct("<4sIQ")
CHECKSUMS = os.environ.get("QUIVER_SHUFFLE_CHECKSUMS", "1") != "0"

BLOCK_SCHEMA = pa.schema([("block", pa.binary()), ("kind", pa.uint8()),
                          ("checksum", pa.uint64())])


class Corrupt(ValueError):
    """Shuffle bytes whose checksum or framing does not match."""


def crc(data) -> int:
    return xxh64(data) if CHECKSUMS else 0


def block_crc(kind: int, payload) -> int:
    return xxh64(payload, kind) if CHECKSUMS else 0


def _has_dictionary(schema: pa.Schema) -> bool:
    return any(pa.types.is_dictionary(f.type) for f in schema)


def encode_blocks(batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[int, bytes | pa.Buffer]]:
    """(kind, payload) for the batches (all of one schema, none empty); the
    batches may be a generator, consumed one at a time (a spilled task's
    output is never all in memory)."""
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return
    schema = first.schema
    dictionary = _has_dictionary(schema)
    if not dictionary:
        yield SCHEMA, schema.serialize()
    for b in itertools.chain((first,), it):
        if dictionary:
            sink = pa.BufferOutputStream()
            with ipc.new_stream(sink, schema) as w:
                w.write_batch(b)
            yield STREAM, sink.getvalue()
        else:
            yield BATCH, (b if b.schema.equals(schema) else b.cast(schema)).serialize()


def write_file(path: str, batches: Iterable[pa.RecordBatch]) -> int:
    """Write the checksummed file at `path`; returns its size in bytes."""
    headers = bytearray()
    n = 0
    with open(path, "wb") as f:
        f.write(MAGIC)
        for kind, payload in encode_blocks(batches):
            h = _HEADER.pack(len(payload), block_crc(kind, payload), kind)
            f.write(h)
            f.write(payload)
            headers += h
            n += 1
        f.write(_TRAILER.pack(END, n, crc(headers)))
        return f.tell()


def read_blocks(buf: pa.Buffer, where: str, verify: bool = True
                ) -> Iterator[tuple[int, pa.Buffer, int]]:
    """(kind, payload, crc) of a whole file's bytes, framing checked and,
    with `verify`, every block's crc; raises Corrupt."""
    view = memoryview(buf)
    size = len(view)
    if size < len(MAGIC) + _TRAILER.size or bytes(view[:len(MAGIC)]) != MAGIC:
        raise Corrupt(f"{where}: not a checksummed shuffle file (bad magic or too short)")
    end = size - _TRAILER.size
    tag, count, headers_crc = _TRAILER.unpack_from(view, end)
    if tag != END:
        raise Corrupt(f"{where}: bad trailer")
    pos, n, headers = len(MAGIC), 0, bytearray()
    blocks = []
    while pos < end:
        if pos + _HEADER.size > end:
            raise Corrupt(f"{where}: truncated block header at byte {pos}")
        length, want, kind = _HEADER.unpack_from(view, pos)
        headers += view[pos:pos + _HEADER.size]
        start = pos + _HEADER.size
        if start + length > end or kind > STREAM:
            raise Corrupt(f"{where}: block {n} at byte {pos} runs past the end or has kind {kind}")
        payload = buf.slice(start, length)
        if verify and block_crc(kind, view[start:start + length]) != want:
            raise Corrupt(f"{where}: checksum mismatch in block {n} (bytes {start}-{start + length})")
        blocks.append((kind, payload, want))
        pos, n = start + length, n + 1
    if n != count or crc(headers) != headers_crc:
        raise Corrupt(f"{where}: the trailer lists {count} blocks, found {n}, or a header changed")
    return iter(blocks)


def decode(blocks: Iterable[tuple], where: str) -> Iterator[pa.RecordBatch]:
    """Record batches of verified (kind, payload, crc) blocks."""
    schema = None
    for kind, payload, _ in blocks:
        try:
            if kind == SCHEMA:
                schema = ipc.read_schema(payload)
            elif kind == BATCH:
                if schema is None:
                    raise Corrupt(f"{where}: a batch block before the schema")
                yield ipc.read_record_batch(payload, schema)
            else:
                yield from ipc.open_stream(payload)
        except pa.ArrowException as exc:      # verified bytes that do not decode
            raise Corrupt(f"{where}: undecodable block: {exc}") from None


def file_schema(blocks: Iterable[tuple]) -> pa.Schema | None:
    for kind, payload, _ in blocks:
        if kind == SCHEMA:
            return ipc.read_schema(payload)
        if kind == STREAM:
            return ipc.open_stream(payload).schema
    return None


# -- over Flight --------------------------------------------------------------

def block_batches(blocks: Iterable[tuple], per_batch: int = 16) -> Iterator[pa.RecordBatch]:
    """(kind, payload, crc) blocks as Flight record batches."""
    chunk: list[tuple] = []
    for block in blocks:
        chunk.append(block)
        if len(chunk) >= per_batch:
            yield _chunk_batch(chunk)
            chunk = []
    if chunk:
        yield _chunk_batch(chunk)


def _chunk_batch(chunk: list[tuple]) -> pa.RecordBatch:
    sizes = np.array([p.size for _, p, _ in chunk], dtype=np.int64)
    offsets = np.zeros(len(chunk) + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    data = pa.py_buffer(b"".join(memoryview(p) for _, p, _ in chunk))
    blocks = pa.BinaryArray.from_buffers(pa.binary(), len(chunk),
                                         [None, pa.py_buffer(offsets), data])
    return pa.record_batch([blocks, pa.array([k for k, _, _ in chunk], pa.uint8()),
                            pa.array([c for _, _, c in chunk], pa.uint64())],
                           schema=BLOCK_SCHEMA)


def decode_blocks(batch: pa.RecordBatch, where: str) -> Iterator[tuple[int, pa.Buffer, int]]:
    """Verify the blocks of one Flight batch; raises Corrupt."""
    if not batch.schema.equals(BLOCK_SCHEMA):
        raise Corrupt(f"{where}: not a block stream (schema {batch.schema})")
    blocks = batch.column(0)
    kinds = batch.column(1).to_numpy(zero_copy_only=False)
    crcs = batch.column(2).to_numpy(zero_copy_only=False)
    _, offs, data = blocks.buffers()
    offsets = np.frombuffer(offs, dtype=np.int32)[blocks.offset:blocks.offset + len(blocks) + 1]
    out = []
    for i in range(len(blocks)):
        lo, hi, kind = int(offsets[i]), int(offsets[i + 1]), int(kinds[i])
        want = int(crcs[i])
        if hi < lo or kind > STREAM or block_crc(kind, memoryview(data)[lo:hi]) != want:
            raise Corrupt(f"{where}: checksum mismatch in a streamed block")
        out.append((kind, data.slice(lo, hi - lo), want))
    return iter(out)
