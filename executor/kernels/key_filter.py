"""A membership filter over an int64 hash table's keys: their range and,
when the keys are dense enough, a bitmap of that range.

Why: a join's probe side is usually much larger than its build side, and
most probe keys miss (a fact table probing a filtered dimension). In an
open-addressing table a miss still costs a random read of the slot arrays,
which do not fit in cache once the build side has a few hundred thousand
keys. A key outside the range, or whose bit is clear, is answered from the
filter alone: two compares, or one read of a bitmap 1/64 the size of the
table's slots (64 bits per key at most). Integer keys of TPC-H and star
schemas (order, part, customer keys) are dense, so most filters carry a
bitmap.
"""

from __future__ import annotations

import numpy as np

from .jit import njit

# A bitmap is kept when the key range spans at most this many bits per key
# (its size is then at most the table's own 16 bytes per key)...
_BITS_PER_KEY = 64
# ... and fits in this many bits (64 MiB), whatever the number of keys.
_MAX_BITS = 1 << 29

_NO_BITS = np.zeros(0, dtype=np.uint64)


@njit(cache=True, nogil=True)
def _key_range(slots):
    lo = np.int64(0)
    hi = np.int64(-1)
    first = True
    for j in range(slots.shape[0]):
        if slots[j, 1] == 0:
            continue
        k = slots[j, 0]
        if first:
            lo = k
            hi = k
            first = False
        elif k < lo:
            lo = k
        elif k > hi:
            hi = k
    return lo, hi


@njit(cache=True, nogil=True)
def _set_bits(slots, lo, bits):
    for j in range(slots.shape[0]):
        if slots[j, 1] == 0:
            continue
        d = np.uint64(slots[j, 0] - lo)
        bits[d >> np.uint64(6)] |= np.uint64(1) << (d & np.uint64(63))


class KeyFilter:
    """Range [lo, hi] of the keys (empty when lo > hi) and an optional
    bitmap with bit (key - lo) set for each key."""

    __slots__ = ("lo", "hi", "bits")

    def __init__(self, lo: int, hi: int, bits: np.ndarray) -> None:
        self.lo, self.hi, self.bits = lo, hi, bits

    @property
    def nbytes(self) -> int:
        return self.bits.nbytes

    @classmethod
    def of_table(cls, slots: np.ndarray, count: int, bitmap_bits: int = 0) -> "KeyFilter":
        """Of an Int64Table's (key, id + 1) slots, 0 ids for empty ones (read
        in place by kernels: selecting the keys first would copy them all).
        `bitmap_bits`: a bitmap spanning up to this many bits is kept however
        few the keys are."""
        lo, hi = _key_range(slots)
        lo, hi = int(lo), int(hi)
        if lo > hi:
            return cls(1, 0, _NO_BITS)
        span = hi - lo + 1
        if span > min(_MAX_BITS, max(_BITS_PER_KEY * max(count, 1), bitmap_bits)):
            return cls(lo, hi, _NO_BITS)
        bits = np.zeros((span + 63) // 64, dtype=np.uint64)
        _set_bits(slots, np.int64(lo), bits)
        return cls(lo, hi, bits)

    @classmethod
    def of_values(cls, values: np.ndarray, max_bits: int = _MAX_BITS) -> "KeyFilter | None":
        """The filter of int64 `values` with a bitmap of their range, or
        None when the range spans more than `max_bits` (a runtime filter:
        operators/runtime_filter.py)."""
        if not len(values):
            return cls(1, 0, _NO_BITS)
        lo, hi = int(values.min()), int(values.max())
        span = hi - lo + 1
        if span > max_bits:
            return None
        bits = np.zeros((span + 63) // 64, dtype=np.uint64)
        _set_value_bits(values, np.int64(lo), bits)
        return cls(lo, hi, bits)

    def contains(self, values: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """True where the value's bit is set (False for NULLs, where `valid`
        is False); with no bitmap, where it lies in the range."""
        out = np.empty(len(values), dtype=np.bool_)
        _contains(values, _NO_VALID if valid is None else valid, np.int64(self.lo),
                  np.int64(self.hi), self.bits, out)
        return out


_NO_VALID = np.zeros(0, dtype=np.bool_)


@njit(cache=True, nogil=True)
def _set_value_bits(values, lo, bits):
    for i in range(len(values)):
        d = np.uint64(values[i] - lo)
        bits[d >> np.uint64(6)] |= np.uint64(1) << (d & np.uint64(63))


@njit(cache=True, nogil=True)
def _contains(values, valid, lo, hi, bits, out):
    has_valid = len(valid) > 0
    has_bits = len(bits) > 0
    for i in range(len(values)):
        if has_valid and not valid[i]:
            out[i] = False
            continue
        k = values[i]
        if k < lo or k > hi:
            out[i] = False
        elif has_bits:
            d = np.uint64(k - lo)
            out[i] = ((bits[d >> np.uint64(6)] >> (d & np.uint64(63))) & np.uint64(1)) == 1
        else:
            out[i] = True
