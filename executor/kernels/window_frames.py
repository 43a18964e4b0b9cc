"""Numba kernels for RANGE frames with offsets (`RANGE BETWEEN 3 PRECEDING
AND 2 FOLLOWING`, `RANGE INTERVAL 30 DAY PRECEDING`): per row, binary
searches in the sorted order key of its window partition.

Inputs are numpy arrays in window order: `w` the order key as float64,
negated for a DESC key so it is always ascending within a partition; `lo` and
`hi` the bounds [lo, hi) of the non-NULL keys of each row's partition;
`target` each row's bound in the same units as `w` (its key plus the offset,
which for a calendar interval differs from row to row).
The operator (executor/operators/window_layout.py) handles NULL keys and
UNBOUNDED / CURRENT ROW bounds itself.
"""

from __future__ import annotations

import numpy as np
from .jit import njit


@njit(cache=True, nogil=True)
def range_lower(w, lo, hi, target):
    """First j in [lo[i], hi[i]) with w[j] >= target[i] (hi[i] if none)."""
    n = w.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        a = lo[i]
        b = hi[i]
        t = target[i]
        while a < b:
            m = (a + b) >> 1
            if w[m] < t:
                a = m + 1
            else:
                b = m
        out[i] = a
    return out


@njit(cache=True, nogil=True)
def range_upper(w, lo, hi, target):
    """First j in [lo[i], hi[i]) with w[j] > target[i] (hi[i] if none)."""
    n = w.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        a = lo[i]
        b = hi[i]
        t = target[i]
        while a < b:
            m = (a + b) >> 1
            if w[m] <= t:
                a = m + 1
            else:
                b = m
        out[i] = a
    return out
