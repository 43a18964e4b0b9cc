"""A tree of DECIMAL +, -, * evaluated in int64 in one go.

`l_extendedprice * (1 - l_discount) * (1 + l_tax)` (TPC-H Q1; the revenue
expression of most TPC-H queries is its first half) evaluated node by node
builds a decimal128 array per node: per node, the operands' 16-byte words
are read back, their largest magnitudes scanned, and 16 bytes per row
written. Here the whole tree runs on the operands' unscaled int64 values
with numpy, and one decimal128 array is written at the end.

Exactness as in kernels/decimal_arith.py: a bound on every node's largest
magnitude is carried up (leaves: the largest |value| of their rows; a
product: the product of the bounds; a sum: the sum of the rescaled
bounds); if any bound could leave int64, or a leaf's values do not fit
int64, or a node's scale is not the natural one, `fused_decimal` returns
None and the caller evaluates node by node (where decimal_binop checks row
by row and Arrow takes what it cannot). Rows that are NULL in an operand
are NULL in the result; their (meaningless) values may wrap harmlessly.

Within executor.eval.shared_subexpressions a node's int64 values are kept
with the batch, so Q1's `l_extendedprice * (1 - l_discount)`, summed alone
and inside the longer product, is computed once.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..planner.expr import Call
from .kernels.arrow_buffers import bitmap_buffer
from .kernels.decimal_arith import SAFE_BOUND, int64_operand, max_abs, widen_to_words

_OPS = ("add", "sub", "mul")


class _Value:
    """Unscaled int64 values (an array, or an int for a constant), their
    scale, a bound on their magnitude and their validity (None: no NULLs)."""
    __slots__ = ("values", "scale", "bound", "valid")

    def __init__(self, values, scale: int, bound: float, valid):
        self.values, self.scale, self.bound, self.valid = values, scale, bound, valid


def is_fusable(expr) -> bool:
    """A decimal128 +, -, * of two decimal128 operands with at least one
    more such node under it (a single node is decimal_binop's)."""
    return _node(expr) and any(_node(a) for a in expr.args)


def _node(expr) -> bool:
    return (isinstance(expr, Call) and expr.fn in _OPS and len(expr.args) == 2
            and pa.types.is_decimal128(expr.dtype)
            and all(pa.types.is_decimal128(a.dtype) for a in expr.args))


def fused_decimal(expr: Call, batch: pa.RecordBatch, eval_leaf, memo: dict | None):
    """`expr` over `batch` as a decimal128 Array, or None when the int64
    path cannot be proven exact (see the module docstring). `eval_leaf`
    evaluates a non-arithmetic operand (executor.eval._eval)."""
    value = _evaluate(expr, batch, eval_leaf, memo)
    if value is None or not isinstance(value.values, np.ndarray):
        return None
    return _to_array(value, expr.dtype)


def _evaluate(expr, batch, eval_leaf, memo) -> _Value | None:
    if not _node(expr):
        return _leaf(eval_leaf(expr, batch), expr.dtype)
    key = ("decimal-int64", expr)
    if memo is not None:
        hit = memo.get(key)
        if hit is not None and hit[0] is batch:
            return hit[1]
    a = _evaluate(expr.args[0], batch, eval_leaf, memo)
    if a is None:
        return None
    b = _evaluate(expr.args[1], batch, eval_leaf, memo)
    if b is None:
        return None
    out = _combine(expr.fn, a, b, expr.dtype.scale)
    if out is not None and memo is not None:
        memo[key] = (batch, out)
    return out


def _combine(fn: str, a: _Value, b: _Value, scale: int) -> _Value | None:
    if fn == "mul":
        if scale != a.scale + b.scale:
            return None
        bound = a.bound * b.bound
        if bound >= SAFE_BOUND:
            return None
        values = a.values * b.values
    else:
        if scale != max(a.scale, b.scale):
            return None
        fa, fb = 10 ** (scale - a.scale), 10 ** (scale - b.scale)
        bound = a.bound * fa + b.bound * fb
        if bound >= SAFE_BOUND:
            return None
        x = a.values * fa if fa != 1 else a.values
        y = b.values * fb if fb != 1 else b.values
        values = x + y if fn == "add" else x - y
    return _Value(values, scale, bound, _both(a.valid, b.valid))


def _both(a, b):
    if a is None:
        return b
    return a if b is None else a & b


def _leaf(datum, dtype: pa.DataType) -> _Value | None:
    if isinstance(datum, pa.ChunkedArray):
        datum = datum.combine_chunks()
    if not pa.types.is_decimal128(datum.type) or datum.type.scale != dtype.scale:
        return None
    scale = datum.type.scale
    got = int64_operand(datum, scale)
    if got is None:
        return None
    values, valid = got
    if isinstance(datum, pa.Scalar):
        one = int(values[0])
        return _Value(one, scale, float(abs(one)), None)
    return _Value(values, scale, max_abs(values), valid)


def _to_array(value: _Value, dtype: pa.DataType) -> pa.Array:
    n = len(value.values)
    words = np.empty((n, 2), dtype=np.int64)
    widen_to_words(value.values, words)
    valid = value.valid
    nulls = 0 if valid is None else int(n - np.count_nonzero(valid))
    return pa.Array.from_buffers(dtype, n, [bitmap_buffer(valid), pa.py_buffer(words)],
                                 null_count=nulls)
