"""`compare_with_scalar(op, array, scalar)`: a decimal128 column compared
with a decimal constant of the same type, as 128-bit integers in numba.

Why: scan filters such as TPC-H Q6's `l_discount BETWEEN 0.05 AND 0.07`
compare every row with a constant; Arrow's decimal128 comparison took
3.2 ms per 1.5M rows on this machine (0.7 ms for int64). Both sides share
the type, so the unscaled values compare as (high word signed, low word
unsigned) pairs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrow_buffers import bitmap_buffer, decimal_words, mask_array, validity
from .jit import njit

# op codes, and each op with its sides swapped (constant on the left)
_OPS = {"eq": 0, "ne": 1, "lt": 2, "le": 3, "gt": 4, "ge": 5}
_SWAPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
_MIN_ROWS = 4096              # below this Arrow's call costs less than the setup


@njit(cache=True, nogil=True)
def _compare(lo, hi, c_lo, c_hi, op):
    out = np.empty(len(lo), dtype=np.bool_)
    for i in range(len(lo)):
        h = hi[i]
        if h != c_hi:
            c = -1 if h < c_hi else 1
        else:
            w = lo[i]
            c = 0 if w == c_lo else (-1 if w < c_lo else 1)
        if op == 0:
            out[i] = c == 0
        elif op == 1:
            out[i] = c != 0
        elif op == 2:
            out[i] = c < 0
        elif op == 3:
            out[i] = c <= 0
        elif op == 4:
            out[i] = c > 0
        else:
            out[i] = c >= 0
    return out


def compare_with_scalar(op: str, left, right) -> pa.BooleanArray | None:
    """`left op right` when one side is a decimal128 Array and the other a
    valid decimal128 Scalar of the same type; None otherwise (the caller
    uses Arrow). NULL rows give NULL."""
    if isinstance(left, pa.Scalar) and isinstance(right, pa.Array):
        left, right, op = right, left, _SWAPPED[op]
    if not (isinstance(left, pa.Array) and isinstance(right, pa.Scalar)):
        return None
    t = left.type
    if not (pa.types.is_decimal(t) and t.bit_width == 128 and right.type == t
            and right.is_valid and len(left) >= _MIN_ROWS):
        return None
    # the constant's own words (exact; Python's Decimal arithmetic rounds to
    # 28 digits, and DECIMAL(38) constants have more)
    c_lo, c_hi = decimal_words(pa.repeat(right, 1))
    lo, hi = decimal_words(left)
    out = _compare(lo, hi, c_lo[0], c_hi[0], _OPS[op])
    valid = validity(left)
    if valid is None:
        return mask_array(out)
    data = mask_array(out).buffers()[1]
    return pa.Array.from_buffers(pa.bool_(), len(out), [bitmap_buffer(valid), data],
                                 null_count=int(len(out) - np.count_nonzero(valid)))
