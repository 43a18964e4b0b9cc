"""Strings of at most 7 bytes as one int64 word each, so key tables can
treat them as integers.

Why: hashing and comparing byte strings costs ~45 ns a row in BytesTable,
an int64 word ~5 ns in Int64Table; short string keys are common (flags,
status and country codes: TPC-H Q1 groups 6M rows by two 1-byte strings).

A word holds the length in its low byte and the bytes above it, so distinct
strings (of at most 7 bytes) give distinct words. NULL_WORD (-1, length
byte 0xFF) is no string's word.
"""

from __future__ import annotations

import numpy as np

from .jit import njit

MAX_SHORT = 7
NULL_WORD = -1


@njit(cache=True, nogil=True)
def _pack(offsets, data, valid, out):
    has_valid = len(valid) > 0
    for i in range(len(out)):
        if has_valid and not valid[i]:
            out[i] = -1
            continue
        b0 = offsets[i]
        n = offsets[i + 1] - b0
        w = np.int64(n)
        for k in range(n):
            w |= np.int64(data[b0 + k]) << np.int64(8 * (k + 1))
        out[i] = w


def pack(offsets: np.ndarray, data: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """One word per row (NULL_WORD where `valid` is False); every valid row
    must be at most MAX_SHORT bytes long."""
    out = np.empty(len(offsets) - 1, dtype=np.int64)
    _pack(offsets, data, np.zeros(0, dtype=np.bool_) if valid is None else valid, out)
    return out


@njit(cache=True, nogil=True)
def _first_rows(ids, first_id, out):
    found = 0
    for i in range(len(ids)):
        j = ids[i] - first_id
        if j >= 0 and out[j] < 0:
            out[j] = i
            found += 1
            if found == len(out):
                break


def first_rows(ids: np.ndarray, first_id: int, count: int) -> np.ndarray:
    """For each id in first_id .. first_id+count-1, the first row holding it."""
    out = np.full(count, -1, dtype=np.int64)
    _first_rows(ids, first_id, out)
    return out


@njit(cache=True, nogil=True)
def _gather(offsets, data, rows, new_offsets, new_data):
    pos = 0
    for j in range(len(rows)):
        b0 = offsets[rows[j]]
        b1 = offsets[rows[j] + 1]
        for k in range(b1 - b0):
            new_data[pos + k] = data[b0 + k]
        pos += b1 - b0
        new_offsets[j + 1] = pos


def gather(offsets: np.ndarray, data: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of the strings at `rows`."""
    lengths = offsets[rows + 1].astype(np.int64) - offsets[rows]
    new_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    new_data = np.empty(int(lengths.sum()), dtype=np.uint8)
    _gather(offsets, data, rows, new_offsets, new_data)
    return new_offsets, new_data


@njit(cache=True, nogil=True)
def _codes_of(ids, codes, out):
    for i in range(len(ids)):
        j = ids[i]
        out[i] = codes[j] if j >= 0 else -1


def codes_of(ids: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """codes[id] per row, -1 where the id is -1."""
    out = np.empty(len(ids), dtype=np.int64)
    _codes_of(ids, codes, out)
    return out
