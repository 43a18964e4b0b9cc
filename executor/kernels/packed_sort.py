"""A sort order from one packed uint64 key per row: `packed_order`.

Why: Arrow's multi-key `sort_indices` compares rows key by key through a
generic comparator; sorting 1.5M rows by (DECIMAL DESC, BIGINT) took it
0.62 s on this machine, and the final re-sort of four such sorted runs
0.37 s. Here each key is mapped to an unsigned word in the key's order
(integers, dates, times, timestamps, booleans, floats, DECIMAL(<=18 digits)
by value; strings by their rank among the key's distinct values),
descending keys flipped, rebased on the key's minimum so it takes only the
bits its range needs, plus one bit for NULL placement when it has NULLs; if
all of them fit in 64 bits, one stable sort of the packed words
(radix_sort.py) gives the order Arrow would. Otherwise (wider decimals,
ranges too large) the caller sorts with Arrow.

Order semantics match sort_order.sort_indices: per-key direction and NULLS
FIRST/LAST, NaN above every other float (-0.0 equal to 0.0), stable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow_buffers import decimal_words, decode, is_bytes_type, key_words, validity
from .jit import njit
from .radix_sort import radix_order

if TYPE_CHECKING:
    from ...planner.expr import SortKey

_SIGN = np.uint64(1 << 63)


def packed_order(arrays: Sequence[pa.Array | pa.ChunkedArray],
                 keys: Sequence["SortKey"]) -> np.ndarray | None:
    """Stable row order (int64) by the keys, or None when they cannot be
    packed into 64 bits (wide decimals, ranges too large)."""
    columns = []
    total = 0
    n = None
    for arr, key in zip(arrays, keys):
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        n = len(arr)
        if pa.types.is_null(arr.type):
            continue                                  # all NULL: every row ties
        words = ordered_words(arr)
        if words is None:
            return None
        valid = validity(arr)
        mask = _NO_MASK if valid is None else valid
        low, high, live = _min_max(words, mask)
        bits = int(high - low).bit_length() if live else 0
        nullable = valid is not None
        total += bits + nullable
        if total > 64:
            return None
        columns.append((words, mask, low, high, bits, nullable, key))
    if n is None:
        return None
    packed = np.zeros(n, dtype=np.uint64)
    for words, mask, low, high, bits, nullable, key in columns:
        _pack(packed, words, mask, np.uint64(low), np.uint64(high), key.ascending, bits,
              nullable, key.nulls_first)
    return radix_order(packed, total)


_NO_MASK = np.zeros(0, dtype=np.bool_)


@njit(cache=True, nogil=True)
def _min_max(words, valid):
    """(min, max, any valid row) of words over the valid rows (empty mask: all)."""
    low = np.uint64(0xFFFFFFFFFFFFFFFF)
    high = np.uint64(0)
    live = False
    check = len(valid) > 0
    for i in range(len(words)):
        if check and not valid[i]:
            continue
        w = words[i]
        live = True
        if w < low:
            low = w
        if w > high:
            high = w
    return low, high, live


@njit(cache=True, nogil=True)
def _pack(packed, words, valid, low, high, ascending, bits, nullable, nulls_first):
    """Shift each packed word left by this key's width and add the key's
    rebased value (flipped when descending), under its NULL placement bit."""
    width = bits + (1 if nullable else 0)
    check = len(valid) > 0
    for i in range(len(words)):
        if check and not valid[i]:
            part = np.uint64(0) if nulls_first else np.uint64(1) << np.uint64(bits)
        else:
            part = words[i] - low if ascending else high - words[i]
            if nullable and nulls_first:
                part |= np.uint64(1) << np.uint64(bits)
        if width == 64:
            packed[i] = part
        elif width > 0:
            packed[i] = (packed[i] << np.uint64(width)) | part


def ordered_words(arr: pa.Array) -> np.ndarray | None:
    """uint64 per row whose unsigned order is the values' order (values under
    NULLs undefined), or None for types it cannot map."""
    if pa.types.is_dictionary(arr.type) and is_bytes_type(arr.type.value_type):
        return _string_ranks(arr.indices, arr.dictionary)
    arr = decode(arr)
    t = arr.type
    if is_bytes_type(t):
        encoded = pc.dictionary_encode(arr)
        return _string_ranks(encoded.indices, encoded.dictionary)
    if pa.types.is_fixed_size_binary(t) or pa.types.is_interval(t):
        return None
    if pa.types.is_decimal(t):
        if t.bit_width != 128:
            return None
        lo, hi = decimal_words(arr)
        valid = validity(arr)
        return _decimal_ordered(lo, hi, _NO_MASK if valid is None else valid)
    if pa.types.is_floating(t):
        bits = key_words(arr).view(np.uint64)         # -0.0 is 0.0, one NaN (positive)
        negative = (bits & _SIGN) != 0
        return np.where(negative, ~bits, bits | _SIGN)
    if pa.types.is_unsigned_integer(t):
        return key_words(arr).view(np.uint64)
    if not (pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_temporal(t)):
        return None
    try:
        return key_words(arr).view(np.uint64) ^ _SIGN
    except TypeError:
        return None


def _string_ranks(indices: pa.Array, dictionary: pa.Array) -> np.ndarray | None:
    """Each row's rank among the distinct strings (Arrow's byte order): a
    string key sorts as a small integer, and repeated values (the usual
    string sort key: a name, a segment, a flag) take few bits."""
    if dictionary.null_count:
        return None                       # a NULL inside the dictionary: Arrow's sort decides
    if len(dictionary) == 0:              # every row NULL
        return np.zeros(len(indices), dtype=np.uint64)
    ranks = pc.rank(dictionary, sort_keys="ascending", tiebreaker="dense")
    ranks = ranks.to_numpy().astype(np.uint64) - np.uint64(1)
    rows = indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return ranks[rows]


@njit(cache=True, nogil=True)
def _decimal_ordered(lo, hi, valid):
    """Ordered words of DECIMAL(<=18) values, or None when a valid value
    needs the high word (more than 64 bits)."""
    out = np.empty(len(lo), dtype=np.uint64)
    check = len(valid) > 0
    for i in range(len(lo)):
        v = np.int64(lo[i])
        if hi[i] != (v >> 63) and not (check and not valid[i]):
            return None
        out[i] = np.uint64(v) ^ np.uint64(0x8000000000000000)
    return out
