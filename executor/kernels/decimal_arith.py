"""Fast exact DECIMAL add/sub/mul for values that fit in 64 bits.

pyarrow's decimal128 kernels are slow (and a product wider than 38 digits
needs a round trip through decimal256). Most decimals in practice (money,
quantities, rates) are small: when every operand's unscaled value fits in an
int64, `decimal_binop` rescales and combines them as int64 in a numba kernel
and writes decimal128 words directly. It gives up (returns None) on
anything it cannot do exactly: a result that would overflow int64, a NULL
scalar, a result type whose scale is not the natural one; the caller then
takes the general Arrow path, so answers never depend on the fast path.

    decimal_binop("mul", price, one_minus_discount, pa.decimal128(31, 4))
        -> pa.Array (decimal128(31, 4)) or None
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
from .jit import njit

from .arrow_buffers import bitmap_buffer, decimal_words, validity

_OPS = {"add": 0, "sub": 1, "mul": 2}
# a float product/sum below this magnitude is certainly exact in int64
SAFE_BOUND = 9.0e18


@njit(cache=True, nogil=True)
def _fits_int64(lo, hi):
    """True if every (lo, hi) decimal128 value is the sign extension of lo."""
    for i in range(len(lo)):
        v = np.int64(lo[i])
        if hi[i] != (v >> np.int64(63)):
            return False
    return True


def max_abs(x: np.ndarray) -> float:
    """The largest |value| (numpy's vectorized min/max: 4x a scalar loop)."""
    if not len(x):
        return 0.0
    return float(max(abs(int(x.min())), abs(int(x.max()))))


@njit(cache=True, nogil=True)
def _binop_unchecked(a, fa, b, fb, op, out):
    """_binop when the caller has proven from the operands' largest
    magnitudes that nothing can overflow (a loop LLVM can vectorize)."""
    n = out.shape[0]
    sa = 0 if len(a) == 1 else 1
    sb = 0 if len(b) == 1 else 1
    for i in range(n):
        x = a[i * sa]
        y = b[i * sb]
        if op == 2:
            r = x * y
        elif op == 0:
            r = x * fa + y * fb
        else:
            r = x * fa - y * fb
        out[i, 0] = r
        out[i, 1] = r >> np.int64(63)


@njit(cache=True, nogil=True)
def widen_to_words(values, out):
    """out[i] = the decimal128 words (low, sign) of int64 values[i] (10x
    numpy's two strided column writes)."""
    for i in range(len(values)):
        v = values[i]
        out[i, 0] = v
        out[i, 1] = v >> np.int64(63)


@njit(cache=True, nogil=True)
def _binop(a, fa, b, fb, op, out):
    """out[i] = (a[i]*fa) op (b[i]*fb) (add/sub) or a[i]*b[i] (mul), as
    decimal128 words; a or b of length 1 broadcasts. False on overflow."""
    n = out.shape[0]
    sa = 0 if len(a) == 1 else 1
    sb = 0 if len(b) == 1 else 1
    for i in range(n):
        x = a[i * sa]
        y = b[i * sb]
        if op == 2:
            if abs(float(x) * float(y)) >= SAFE_BOUND:
                return False
            r = x * y
        else:
            if fa != 1:
                if abs(float(x) * float(fa)) >= SAFE_BOUND:
                    return False
                x = x * fa
            if fb != 1:
                if abs(float(y) * float(fb)) >= SAFE_BOUND:
                    return False
                y = y * fb
            if abs(float(x)) + abs(float(y)) >= SAFE_BOUND:
                return False
            r = x + y if op == 0 else x - y
        out[i, 0] = r
        out[i, 1] = r >> np.int64(63)
    return True


def int64_operand(v, scale: int):
    """(int64 unscaled values, validity or None) of a decimal array, or of
    a scalar as one value; None if they do not fit int64 (or a NULL
    scalar). Used here and by executor/decimal_fusion.py."""
    if isinstance(v, pa.Scalar):
        if not v.is_valid:
            return None
        unscaled = int(Decimal(v.as_py()).scaleb(scale))
        if not -(1 << 62) < unscaled < (1 << 62):
            return None
        return np.array([unscaled], dtype=np.int64), None
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    lo, hi = decimal_words(v)
    if v.type.precision > 18 and not _fits_int64(lo, hi):
        return None
    return lo.view(np.int64), validity(v)


def decimal_binop(fn: str, a, b, out: pa.DataType) -> pa.Array | None:
    """a fn b as an `out` array, or None when the fast path does not apply
    (see the module docstring). At least one of a, b is an array."""
    op = _OPS.get(fn)
    if op is None or not (pa.types.is_decimal128(a.type) and pa.types.is_decimal128(b.type)
                          and pa.types.is_decimal128(out)):
        return None
    sa, sb = a.type.scale, b.type.scale
    if op == 2:
        if out.scale != sa + sb:
            return None
        fa = fb = 1
    else:
        if out.scale != max(sa, sb):
            return None
        fa, fb = 10 ** (out.scale - sa), 10 ** (out.scale - sb)
    pa_ = int64_operand(a, sa)
    pb_ = int64_operand(b, sb)
    if pa_ is None or pb_ is None:
        return None
    (xa, va), (xb, vb) = pa_, pb_
    n = len(xb) if isinstance(a, pa.Scalar) else len(xa)
    words = np.empty((n, 2), dtype=np.int64)
    if n:
        ma, mb = max_abs(xa), max_abs(xb)
        bound = ma * mb if op == 2 else ma * fa + mb * fb
        if bound < SAFE_BOUND:
            _binop_unchecked(xa, np.int64(fa), xb, np.int64(fb), op, words)
        elif not _binop(xa, np.int64(fa), xb, np.int64(fb), op, words):
            return None
    valid = va if vb is None else (vb if va is None else va & vb)
    nulls = 0 if valid is None else int(n - np.count_nonzero(valid))
    return pa.Array.from_buffers(out, n, [bitmap_buffer(valid), pa.py_buffer(words)],
                                 null_count=nulls)
