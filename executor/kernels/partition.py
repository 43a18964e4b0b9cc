"""Hash partitioning: `partition_rows(hashes, n) -> (order, offsets)`.

A stable counting sort of row indices by partition. The partition of a row
is taken from the HIGH 32 bits of its hash (multiply-shift range reduction),
so it does not correlate with hash-table slots, which use the low bits.
"""

from __future__ import annotations

import numpy as np
from .jit import njit

_S32 = np.uint64(32)


@njit(cache=True, nogil=True)
def partition_of(hashes, n):
    """Partition number (int64 in [0, n)) of each hash."""
    out = np.empty(len(hashes), dtype=np.int64)
    nn = np.uint64(n)
    for i in range(len(hashes)):
        out[i] = np.int64(((hashes[i] >> _S32) * nn) >> _S32)
    return out


@njit(cache=True, nogil=True)
def _counting_sort(parts, n):
    counts = np.zeros(n + 1, dtype=np.int64)
    for i in range(len(parts)):
        counts[parts[i] + 1] += 1
    for p in range(n):
        counts[p + 1] += counts[p]
    offsets = counts.copy()
    order = np.empty(len(parts), dtype=np.int64)
    for i in range(len(parts)):
        p = parts[i]
        order[counts[p]] = i
        counts[p] += 1
    return order, offsets


def partition_rows(hashes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, offsets): rows of partition p are order[offsets[p]:offsets[p+1]],
    in input order; `order` is int64 row indices, `offsets` int64[n+1]."""
    if n < 1:
        raise ValueError("partition_rows: n must be >= 1")
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    return _counting_sort(partition_of(hashes, n), n)
