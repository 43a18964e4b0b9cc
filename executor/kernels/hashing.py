"""Row hashes of key columns: `hash_arrays(arrays) -> uint64 per row`.

Deterministic everywhere (no Python `hash()`, no per-process seed): the same
key tuple hashes to the same value in every batch, process and machine, so
hash partitioning agrees between producers. Equal SQL values hash equal
within a type: integers of any width by their int64 value, -0.0 like 0.0,
every NaN alike, decimals by both 64-bit words, strings and binaries by their
bytes (read from the offsets and data buffers, never as Python str),
dictionaries by their values. NULL hashes to a fixed value.

The numba kernels here (`fmix64`, `hash_bytes_row`) are also used by the hash
tables in hash_tables.py. Partitioning uses the high bits of a hash
(partition.py) and tables the low bits, so the two do not correlate.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from .jit import njit

from .arrow_buffers import (decimal_words, decode, fixed_bytes_parts, is_bytes_type,
                            key_words, string_parts, validity)

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_BYTE_MUL = np.uint64(0x87C37B91114253D5)
_S33 = np.uint64(33)
_S47 = np.uint64(47)
_S8 = np.uint64(8)
SEED = np.uint64(0x2545F4914F6CDD1D)
NULL_HASH = np.uint64(0x6A09E667F3BCC909)
_EMPTY_BOOL = np.zeros(0, dtype=np.bool_)


@njit(cache=True, nogil=True)
def fmix64(k):
    """Murmur3's 64-bit finalizer: a bijective avalanche of a uint64."""
    k ^= k >> _S33
    k *= _M1
    k ^= k >> _S33
    k *= _M2
    k ^= k >> _S33
    return k


@njit(cache=True, nogil=True)
def combine(acc, h):
    """Fold one column's hash into a row's running hash (order-sensitive)."""
    return fmix64((acc * _GOLD) ^ h)


@njit(cache=True, nogil=True)
def hash_bytes_row(data, start, end):
    """Hash of data[start:end], read 8 bytes at a time."""
    h = SEED
    j = start
    while j + 8 <= end:
        w = np.uint64(0)
        for k in range(8):
            w |= np.uint64(data[j + k]) << (np.uint64(k) * _S8)
        h = (h ^ fmix64(w)) * _BYTE_MUL
        h ^= h >> _S47
        j += 8
    if j < end:
        w = np.uint64(0)
        k = 0
        while j < end:
            w |= np.uint64(data[j]) << (np.uint64(k) * _S8)
            j += 1
            k += 1
        h = (h ^ fmix64(w)) * _BYTE_MUL
        h ^= h >> _S47
    return fmix64(h ^ np.uint64(end - start))


@njit(cache=True, nogil=True)
def hash_words(words, valid):
    """uint64 hash per row of 64-bit words (NULL -> NULL_HASH)."""
    n = len(words)
    out = np.empty(n, dtype=np.uint64)
    has_valid = len(valid) > 0
    for i in range(n):
        if has_valid and not valid[i]:
            out[i] = NULL_HASH
        else:
            out[i] = fmix64(words[i])
    return out


@njit(cache=True, nogil=True)
def _hash_words2(lo, hi, valid):
    n = len(lo)
    out = np.empty(n, dtype=np.uint64)
    has_valid = len(valid) > 0
    for i in range(n):
        if has_valid and not valid[i]:
            out[i] = NULL_HASH
        else:
            out[i] = fmix64(lo[i] ^ fmix64(hi[i] + _GOLD))
    return out


@njit(cache=True, nogil=True)
def hash_bytes(offsets, data, valid):
    """uint64 hash per row of byte strings (NULL -> NULL_HASH)."""
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.uint64)
    has_valid = len(valid) > 0
    for i in range(n):
        if has_valid and not valid[i]:
            out[i] = NULL_HASH
        else:
            out[i] = hash_bytes_row(data, offsets[i], offsets[i + 1])
    return out


@njit(cache=True, nogil=True)
def _fold(out, col):
    for i in range(len(out)):
        out[i] = combine(out[i], col[i])


def column_hash(arr: pa.Array) -> np.ndarray:
    """uint64 hash per row of one column (not yet combined with other columns)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        values = column_hash(arr.dictionary)
        valid = validity(arr)
        idx = key_words(arr.indices)
        if valid is not None:
            idx = np.where(valid, idx, 0)
        col = values[idx] if len(values) else np.full(len(arr), NULL_HASH, dtype=np.uint64)
        if valid is not None:
            col[~valid] = NULL_HASH
        return col
    arr = decode(arr)
    t = arr.type
    valid = validity(arr)
    v = _EMPTY_BOOL if valid is None else valid
    if is_bytes_type(t):
        offsets, data = string_parts(arr)
        return hash_bytes(offsets, data, v)
    if pa.types.is_decimal128(t):
        lo, hi = decimal_words(arr)
        return _hash_words2(lo, hi.view(np.uint64), v)
    if pa.types.is_decimal(t) or pa.types.is_fixed_size_binary(t):
        offsets, data = fixed_bytes_parts(arr)
        return hash_bytes(offsets, data, v)
    return hash_words(key_words(arr).view(np.uint64), v)


def hash_arrays(arrays: list[pa.Array | pa.ChunkedArray]) -> np.ndarray:
    """uint64 hash per row of the key tuple (arrays[0][i], arrays[1][i], ...)."""
    if not arrays:
        return np.zeros(0, dtype=np.uint64)
    arrays = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays]
    n = len(arrays[0])
    out = np.full(n, SEED, dtype=np.uint64)
    for arr in arrays:
        if len(arr) != n:
            raise ValueError("hash_arrays: arrays differ in length")
        _fold(out, column_hash(arr))
    return out
