"""Several key columns as one byte string per row, for one hash table lookup.

A key of several columns holding strings (TPC-H Q10 groups by c_custkey,
c_name, c_acctbal, c_phone, n_name, c_address, c_comment) costs, column by
column, a hash table probe per column and one more per column combined:
~1.7 us a row at SF10. Written as one byte string per row it is one hash and
one probe (~0.2 us). The encoding is injective, so equal strings are equal
keys and nothing else:

    per column: 1 marker byte (0 NULL, 1 value), then
      fixed-width values: their 8-byte key word (arrow_buffers.key_words:
        -0.0 and 0.0, and all NaNs, are one word), zeros for NULL;
      decimals wider than 18 digits: their 16 bytes, zeros for NULL;
      strings and binaries: a 4-byte length, then the bytes (length 0 for NULL).

    row_key_parts(arrays) -> (offsets int64[n + 1], data uint8[], valid bool[n] | None)

`valid` is False where some column is NULL (for joins, where a NULL key
matches nothing); a NULL is still encoded, so GROUP BY keeps it as a value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrow_buffers import (decimal_words, decode, fixed_bytes_parts, is_bytes_type,
                            is_wide_fixed_type, key_words, string_parts, validity)
from .jit import njit

_NO_VALID = np.zeros(0, dtype=np.bool_)


def wants_row_keys(types: list[pa.DataType]) -> bool:
    """Row keys pay off for two or more columns of which one holds strings."""
    if len(types) < 2:
        return False
    return any(is_bytes_type(t.value_type if pa.types.is_dictionary(t) else t) for t in types)


@njit(cache=True, nogil=True)
def _add_bytes_lengths(lengths, offsets, valid):
    has_valid = len(valid) > 0
    for i in range(len(lengths)):
        if has_valid and not valid[i]:
            lengths[i] += 5
        else:
            lengths[i] += 5 + (offsets[i + 1] - offsets[i])


@njit(cache=True, nogil=True)
def _put_le(out, p, value, width):
    """`value` as `width` little-endian bytes at out[p:]."""
    v = np.uint64(value)
    for k in range(width):
        out[p + k] = np.uint8((v >> np.uint64(8 * k)) & np.uint64(255))


@njit(cache=True, nogil=True)
def _put_word(pos, out, words, valid):
    has_valid = len(valid) > 0
    for i in range(len(pos)):
        p = pos[i]
        null = has_valid and not valid[i]
        out[p] = 0 if null else 1
        _put_le(out, p + 1, 0 if null else words[i], 8)
        pos[i] = p + 9


@njit(cache=True, nogil=True)
def _put_bytes(pos, out, offsets, data, valid):
    has_valid = len(valid) > 0
    for i in range(len(pos)):
        p = pos[i]
        if has_valid and not valid[i]:
            out[p] = 0
            _put_le(out, p + 1, 0, 4)
            pos[i] = p + 5
            continue
        s = offsets[i]
        e = offsets[i + 1]
        length = e - s
        out[p] = 1
        _put_le(out, p + 1, length, 4)
        q = p + 5
        for j in range(length):
            out[q + j] = data[s + j]
        pos[i] = q + length


def _parts(arr: pa.Array):
    """('word', words) or ('bytes', (offsets, data)) of one key column."""
    arr = decode(arr)
    t = arr.type
    if pa.types.is_decimal128(t) and t.precision <= 18:
        return "word", np.ascontiguousarray(decimal_words(arr)[0].view(np.int64))
    if is_bytes_type(t):
        return "bytes", string_parts(arr)
    if is_wide_fixed_type(t):
        return "bytes", fixed_bytes_parts(arr)
    return "word", key_words(arr)


def row_key_parts(arrays: list[pa.Array]):
    n = len(arrays[0])
    columns = []
    lengths = np.zeros(n, dtype=np.int64)
    all_valid = None
    for arr in arrays:
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        valid = validity(arr)
        kind, parts = _parts(arr)
        v = _NO_VALID if valid is None else valid
        if kind == "word":
            lengths += 9
        else:
            _add_bytes_lengths(lengths, parts[0], v)
        columns.append((kind, parts, v))
        if valid is not None:
            all_valid = valid.copy() if all_valid is None else (all_valid & valid)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    pos = offsets[:-1].copy()
    for kind, parts, v in columns:
        if kind == "word":
            _put_word(pos, data, parts, v)
        else:
            _put_bytes(pos, data, parts[0], parts[1], v)
    return offsets, data, all_valid
