"""Numba kernels for MIN/MAX over window frames.

Each returns, per row i, the index of a smallest (or largest) valid value in
the frame [fs[i], fe[i]), or -1 when the frame holds no valid value. Values
are int64 codes (integers, dates, or dense ranks of any orderable type), so
the operator takes the result from the original array by index.

- `frame_arg_extreme`: O(n) monotone deque; needs fs and fe non-decreasing
  (true for ROWS/RANGE frames with constant offsets, in window order).
- `frame_arg_extreme_scan`: plain scan of each frame, for anything else.
"""

from __future__ import annotations

import numpy as np
from .jit import njit


@njit(cache=True, nogil=True)
def frame_arg_extreme(codes, valid, fs, fe, want_max):
    n = codes.shape[0]
    out = np.empty(n, dtype=np.int64)
    q = np.empty(n, dtype=np.int64)
    head = 0
    tail = 0
    nxt = 0                      # next row to enter the deque
    for i in range(n):
        end = fe[i]
        while nxt < end:
            if valid[nxt]:
                c = codes[nxt]
                if want_max:
                    while tail > head and codes[q[tail - 1]] < c:
                        tail -= 1
                else:
                    while tail > head and codes[q[tail - 1]] > c:
                        tail -= 1
                q[tail] = nxt
                tail += 1
            nxt += 1
        start = fs[i]
        while head < tail and q[head] < start:
            head += 1
        if head < tail and fs[i] < fe[i]:
            out[i] = q[head]
        else:
            out[i] = -1
    return out


@njit(cache=True, nogil=True)
def frame_arg_extreme_scan(codes, valid, fs, fe, want_max):
    n = codes.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        best = -1
        for j in range(fs[i], fe[i]):
            if valid[j]:
                if best < 0:
                    best = j
                elif want_max and codes[j] > codes[best]:
                    best = j
                elif not want_max and codes[j] < codes[best]:
                    best = j
        out[i] = best
    return out
