"""Numba kernels for SUM/AVG over window frames: prefix sums that restart at
every window partition (so a frame starting at the partition's first row is
an exact running sum, with no subtraction of an earlier partition's total).

- `segmented_cumsum_f64(x, starts)`: inclusive float64 running sums.
- `segmented_cumsum_i128(lo, hi, starts)`: the same over 128-bit integers
  given as (lo uint64, hi int64) words: exact DECIMAL sums.
- `frame_sum_i128(clo, chi, fs, fe, pb)`: the 128-bit sum of [fs, fe) from the
  running sums (C[fe-1] - C[fs-1], a missing side counting 0); `pb` is each
  row's partition start.
- `frame_sum_f64(x, fs, fe)`: float64 sums of [fs, fe) from a segment tree
  (O(log n) per row): only the frame's own values take part, so an earlier
  inf/NaN or a huge value cannot leak in as it would through a difference
  of running sums.
NULL values must already be zeroed by the caller.
"""

from __future__ import annotations

import numpy as np
from .jit import njit


@njit(cache=True, nogil=True)
def segmented_cumsum_f64(x, starts):
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    acc = 0.0
    for i in range(n):
        if starts[i]:
            acc = 0.0
        acc += x[i]
        out[i] = acc
    return out


@njit(cache=True, nogil=True)
def segmented_cumsum_i128(lo, hi, starts):
    n = lo.shape[0]
    olo = np.empty(n, dtype=np.uint64)
    ohi = np.empty(n, dtype=np.int64)
    alo = np.uint64(0)
    ahi = np.int64(0)
    for i in range(n):
        if starts[i]:
            alo = np.uint64(0)
            ahi = np.int64(0)
        s = alo + lo[i]
        carry = np.int64(1) if s < alo else np.int64(0)
        alo = s
        ahi = ahi + hi[i] + carry
        olo[i] = alo
        ohi[i] = ahi
    return olo, ohi


@njit(cache=True, nogil=True)
def frame_sum_i128(clo, chi, fs, fe, pb):
    n = fs.shape[0]
    olo = np.zeros(n, dtype=np.uint64)
    ohi = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if fe[i] <= fs[i]:
            continue
        alo = clo[fe[i] - 1]
        ahi = chi[fe[i] - 1]
        if fs[i] > pb[i]:
            blo = clo[fs[i] - 1]
            bhi = chi[fs[i] - 1]
            borrow = np.int64(1) if alo < blo else np.int64(0)
            alo = alo - blo
            ahi = ahi - bhi - borrow
        olo[i] = alo
        ohi[i] = ahi
    return olo, ohi


@njit(cache=True, nogil=True)
def frame_sum_f64(x, fs, fe):
    n = x.shape[0]
    size = 1
    while size < max(n, 1):
        size *= 2
    tree = np.zeros(2 * size, dtype=np.float64)
    for i in range(n):
        tree[size + i] = x[i]
    for i in range(size - 1, 0, -1):
        tree[i] = tree[2 * i] + tree[2 * i + 1]
    m = fs.shape[0]
    out = np.zeros(m, dtype=np.float64)
    for r in range(m):
        lo = fs[r] + size
        hi = fe[r] + size
        left = 0.0
        right = 0.0
        while lo < hi:
            if lo & 1:
                left += tree[lo]
                lo += 1
            if hi & 1:
                hi -= 1
                right = tree[hi] + right
            lo >>= 1
            hi >>= 1
        out[r] = left + right
    return out
