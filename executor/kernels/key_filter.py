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
def _key_range(slot_keys, slot_ids):
    lo = np.int64(0)
    hi = np.int64(-1)
    first = True
    for j in range(len(slot_ids)):
        if slot_ids[j] < 0:
            continue
        k = slot_keys[j]
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
def _set_bits(slot_keys, slot_ids, lo, bits):
    for j in range(len(slot_ids)):
        if slot_ids[j] < 0:
            continue
        d = np.uint64(slot_keys[j] - lo)
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
    def of_table(cls, slot_keys: np.ndarray, slot_ids: np.ndarray, count: int) -> "KeyFilter":
        lo, hi = _key_range(slot_keys, slot_ids)
        lo, hi = int(lo), int(hi)
        if lo > hi:
            return cls(1, 0, _NO_BITS)
        span = hi - lo + 1
        if span > min(_MAX_BITS, _BITS_PER_KEY * max(count, 1)):
            return cls(lo, hi, _NO_BITS)
        bits = np.zeros((span + 63) // 64, dtype=np.uint64)
        _set_bits(slot_keys, slot_ids, np.int64(lo), bits)
        return cls(lo, hi, bits)
