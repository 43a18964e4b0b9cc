"""Ranking and value window functions over a Layout (window_layout.py):
row_number, rank, dense_rank, percent_rank, cume_dist, ntile, lag, lead,
first_value, last_value, nth_value.

Each takes (call, layout, args, frame) where `args` are the call's argument
arrays already in window order and `frame` a callable giving (fs, fe), and
returns an array in window order. All arithmetic is numpy over whole columns.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import DataError
from .window_layout import Layout


def _int_arg(arr: pa.Array, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(int64 values, valid mask) of an integer argument."""
    arr = arr.cast(pa.int64())
    valid = np.ones(n, dtype=bool) if not arr.null_count else \
        arr.is_valid().to_numpy(zero_copy_only=False)
    return pc.fill_null(arr, 0).to_numpy(zero_copy_only=False), valid


def _ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None or valid.all() else ~valid
    return pa.array(values.astype(np.int64, copy=False), pa.int64(), mask=mask)


def _pick(arr: pa.Array, idx: np.ndarray, valid: np.ndarray) -> pa.Array:
    """arr[idx] where valid, NULL elsewhere."""
    idx = np.where(valid, idx, 0)
    mask = None if valid.all() else ~valid
    if len(arr) == 0:
        return pa.nulls(len(idx), arr.type)
    return arr.take(pa.array(idx, pa.int64(), mask=mask))


def row_number(call, lay: Layout, args, frame):
    return _ints(np.arange(lay.n) - lay.pb + 1)


def rank(call, lay: Layout, args, frame):
    return _ints(lay.peer_b - lay.pb + 1)


def dense_rank(call, lay: Layout, args, frame):
    peer_id = np.cumsum(lay.peer_start) - 1
    return _ints(peer_id - peer_id[lay.pb] + 1)


def percent_rank(call, lay: Layout, args, frame):
    size = (lay.pe - lay.pb).astype(np.float64)
    r = (lay.peer_b - lay.pb).astype(np.float64)
    return pa.array(np.where(size > 1, r / np.maximum(size - 1, 1), 0.0), pa.float64())


def cume_dist(call, lay: Layout, args, frame):
    size = (lay.pe - lay.pb).astype(np.float64)
    return pa.array((lay.peer_e - lay.pb) / size, pa.float64())


def ntile(call, lay: Layout, args, frame):
    k, valid = _int_arg(args[0], lay.n)
    if np.any(valid & (k <= 0)):
        raise DataError("argument of ntile must be greater than zero")
    return ntile_buckets(k, valid, np.arange(lay.n) - lay.pb, lay.pe - lay.pb)


def ntile_buckets(k: np.ndarray, valid: np.ndarray, pos: np.ndarray,
                  size: np.ndarray | int) -> pa.Array:
    """ntile(k) of the row at 0-based position `pos` of a partition of `size` rows."""
    k = np.where(valid, k, 1)
    q, r = size // k, size % k
    big = r * (q + 1)                    # rows in the first r buckets of q+1 rows
    bucket = np.where(pos < big, pos // (q + 1),
                      r + (pos - big) // np.maximum(q, 1)) + 1
    return _ints(bucket, valid)


def _shift(call, lay: Layout, args, sign: int):
    x = args[0]
    if len(args) > 1:
        off, valid = _int_arg(args[1], lay.n)
    else:
        off, valid = np.ones(lay.n, dtype=np.int64), np.ones(lay.n, dtype=bool)
    target = np.arange(lay.n) + sign * off
    inside = valid & (target >= lay.pb) & (target < lay.pe)
    out = _pick(x, target, inside)
    if len(args) > 2:
        default = args[2]
        if default.type != out.type:
            default = default.cast(out.type)
        out = pc.if_else(pa.array(inside | ~valid), out, default)
    return out


def lag(call, lay: Layout, args, frame):
    return _shift(call, lay, args, -1)


def lead(call, lay: Layout, args, frame):
    return _shift(call, lay, args, 1)


def first_value(call, lay: Layout, args, frame):
    fs, fe = frame()
    return _pick(args[0], fs, fs < fe)


def last_value(call, lay: Layout, args, frame):
    fs, fe = frame()
    return _pick(args[0], fe - 1, fs < fe)


def nth_value(call, lay: Layout, args, frame):
    fs, fe = frame()
    nth, valid = _int_arg(args[1], lay.n)
    if np.any(valid & (nth <= 0)):
        raise DataError("argument of nth_value must be greater than zero")
    target = fs + nth - 1
    return _pick(args[0], target, valid & (target < fe))


FUNCTIONS = {
    "row_number": row_number, "rank": rank, "dense_rank": dense_rank,
    "percent_rank": percent_rank, "cume_dist": cume_dist, "ntile": ntile,
    "lag": lag, "lead": lead, "first_value": first_value,
    "last_value": last_value, "nth_value": nth_value,
}
