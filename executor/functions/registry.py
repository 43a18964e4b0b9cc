"""The name -> implementation table of scalar functions, and the small helpers
the implementations share (broadcasting, error mapping, numpy round trips)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import DataError, NotSupportedError

Datum = pa.Array | pa.Scalar
Impl = Callable[..., Datum]
REGISTRY: dict[str, Impl] = {}


def register(*names: str) -> Callable[[Impl], Impl]:
    def deco(f: Impl) -> Impl:
        for n in names:
            REGISTRY[n] = f
        return f
    return deco


def lookup(name: str) -> Impl:
    impl = REGISTRY.get(name)
    if impl is None:
        raise NotSupportedError(f"function {name} has no implementation")
    return impl


def as_array(d: Datum, n: int) -> pa.Array:
    """A Datum as an Array of n values (a Scalar is repeated)."""
    if isinstance(d, pa.ChunkedArray):
        return d.combine_chunks()
    if isinstance(d, pa.Scalar):
        return pa.repeat(d, n) if d.is_valid else pa.nulls(n, d.type)
    return d


def is_scalar(d: Datum) -> bool:
    return isinstance(d, pa.Scalar)


def py(d: pa.Scalar):
    """The Python value of a constant argument."""
    return d.as_py()


def null_of(t: pa.DataType) -> pa.Scalar:
    return pa.scalar(None, t)


def valid_mask(a: pa.Array) -> np.ndarray:
    """numpy bool mask of the non-null positions."""
    if a.null_count == 0:
        return np.ones(len(a), dtype=bool)
    return pc.is_valid(a).to_numpy(zero_copy_only=False)


def to_int_numpy(a: pa.Array, int_type: pa.DataType = pa.int64()) -> np.ndarray:
    """Values of an integer-like array (ints, date32 as days) with nulls as 0."""
    a = a.cast(int_type) if a.type != int_type else a
    return a.fill_null(0).to_numpy(zero_copy_only=False)


def from_numpy(values: np.ndarray, t: pa.DataType, valid: np.ndarray | None) -> pa.Array:
    """An Arrow array of type t from numpy values and a validity mask."""
    storage = {pa.date32(): pa.int32()}.get(t)
    if storage is None and pa.types.is_timestamp(t):
        storage = pa.int64()
    mask = None if valid is None or valid.all() else ~valid
    arr = pa.array(values, type=storage or t, mask=mask)
    return arr.cast(t) if storage is not None else arr


def arrow_call(fn: Callable, *args, **kwargs):
    """Call a pyarrow.compute kernel, turning its value errors into DataError."""
    try:
        return fn(*args, **kwargs)
    except pa.ArrowInvalid as e:
        msg = str(e)
        if "divide by zero" in msg:
            raise DataError("division by zero") from None
        if "overflow" in msg.lower():
            raise DataError(f"numeric overflow: {msg}") from None
        raise DataError(msg) from None


def per_unique(values: pa.Array, pattern: Datum, n: int, fn: Callable[[pa.Array, pa.Scalar], pa.Array],
               out_type: pa.DataType) -> pa.Array:
    """Apply `fn(values_subset, scalar_pattern)` once per distinct pattern
    value, for kernels that take only a scalar pattern (a loop over distinct
    patterns, not rows). Rows with a NULL pattern give NULL."""
    if is_scalar(pattern):
        return fn(as_array(values, n), pattern)
    values = as_array(values, n)
    out = pa.nulls(n, out_type)
    for p in pc.unique(pattern.drop_null()):
        mask = pc.fill_null(pc.equal(pattern, p), False)
        part = fn(values.filter(mask), p)
        out = pc.replace_with_mask(out, mask, part.cast(out_type))
    return out
