"""Aggregates as window functions over frames: count_star, count, sum, avg,
min, max (and bool_and/bool_or as min/max, first as first_value), and the
variance family (var_samp, var_pop, stddev_samp, stddev_pop).

Every row's frame is [fs, fe) in window order (window_layout.frame_bounds).
Counts and integer sums are differences of prefix sums (exact: integer
arithmetic wraps but differences of wrapped sums are exact when the result
fits). Float and DECIMAL sums use running sums that restart at each window
partition (executor/kernels/window_sums.py; DECIMAL in 128 bits), so frames
that start at the partition start, the common case, are plain running sums;
a float frame starting later is summed from a segment tree over its own
values (never a difference of running sums, which an earlier inf/NaN or a
large value would spoil). MIN/MAX take the index of the extreme
value per frame from a monotone-deque kernel over int64 codes (integers and
dates directly, any other orderable type through its dense rank).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import NotSupportedError
from ..kernels.arrow_buffers import decimal_from_words, decimal_words
from ..kernels.window_minmax import frame_arg_extreme, frame_arg_extreme_scan
from ..kernels.window_sums import (frame_sum_f64, frame_sum_i128, segmented_cumsum_f64,
                                   segmented_cumsum_i128)
from .window_functions import _pick, first_value
from .window_layout import Layout


def _valid(arr: pa.Array) -> np.ndarray:
    if not arr.null_count:
        return np.ones(len(arr), dtype=bool)
    return arr.is_valid().to_numpy(zero_copy_only=False)


def _counts(valid: np.ndarray, fs: np.ndarray, fe: np.ndarray) -> np.ndarray:
    before = np.concatenate(([0], np.cumsum(valid, dtype=np.int64)))
    return before[fe] - before[fs]


def _running_at(c: np.ndarray, k: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """Running (partition-restarting) sum of rows [pb, k): c[k-1], or 0 at k == pb."""
    return np.where(k > pb, c[np.maximum(k - 1, 0)], 0)


def count_star(call, lay: Layout, args, frame):
    fs, fe = frame()
    return pa.array(fe - fs, pa.int64())


def count(call, lay: Layout, args, frame):
    fs, fe = frame()
    return pa.array(_counts(_valid(args[0]), fs, fe), pa.int64())


def _sums(call, lay: Layout, x: pa.Array, fs, fe):
    """(sum array of the natural sum type, or float64 numpy for floats; counts)."""
    valid = _valid(x)
    n_valid = _counts(valid, fs, fe)
    t = x.type
    if pa.types.is_decimal(t):
        if not pa.types.is_decimal128(t):
            x = x.cast(pa.decimal128(38, t.scale))
        lo, hi = decimal_words(x)
        lo = np.where(valid, lo, np.uint64(0))
        hi = np.where(valid, hi, np.int64(0))
        clo, chi = segmented_cumsum_i128(lo, hi, lay.part_start)
        slo, shi = frame_sum_i128(clo, chi, fs, fe, lay.pb)
        return ("decimal", slo, shi, t.scale), n_valid
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        v = pc.fill_null(x.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        before = np.concatenate(([0], np.cumsum(v, dtype=np.int64)))
        return ("int", before[fe] - before[fs]), n_valid
    if pa.types.is_floating(t):
        v = pc.fill_null(x.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        c = segmented_cumsum_f64(v, lay.part_start)
        s = _running_at(c, fe, lay.pb)
        later = fs > lay.pb
        if later.any():
            # a frame starting after its partition's first row: sum its own
            # values (a difference of running sums would let an earlier
            # inf/NaN or a large value's rounding leak in)
            rows = np.flatnonzero(later)
            s = s.copy()
            s[rows] = frame_sum_f64(v, fs[rows].astype(np.int64), fe[rows].astype(np.int64))
        return ("float", s), n_valid
    raise NotSupportedError(f"sum over {t} in a window")


def sum_(call, lay: Layout, args, frame):
    fs, fe = frame()
    s, n_valid = _sums(call, lay, args[0], fs, fe)
    return sum_array(s, n_valid)


def sum_array(s, n_valid: np.ndarray) -> pa.Array:
    """The SUM column from _sums' result: NULL where a frame has no value."""
    has = n_valid > 0
    if s[0] == "decimal":
        _, lo, hi, scale = s
        return decimal_from_words(lo, hi, has, pa.decimal128(38, scale))
    typ = pa.int64() if s[0] == "int" else pa.float64()
    return pa.array(s[1], typ, mask=None if has.all() else ~has)


def avg(call, lay: Layout, args, frame):
    fs, fe = frame()
    s, n_valid = _sums(call, lay, args[0], fs, fe)
    return mean_array(s, n_valid)


def mean_array(s, n_valid: np.ndarray) -> pa.Array:
    """The AVG column from _sums' result and the frames' value counts."""
    has = n_valid > 0
    if s[0] == "decimal":
        _, lo, hi, scale = s
        lo_s = lo.view(np.int64)           # hi*2^64 + lo == (hi + [lo_s<0])*2^64 + lo_s
        high = (hi + (lo_s < 0)).astype(np.float64)
        total = (high * 18446744073709551616.0 + lo_s.astype(np.float64)) / (10.0 ** scale)
    else:
        total = s[1].astype(np.float64)
    mean = total / np.maximum(n_valid, 1)
    return pa.array(mean, pa.float64(), mask=None if has.all() else ~has)


def _codes(x: pa.Array) -> np.ndarray:
    t = x.type
    if pa.types.is_date32(t):
        x = x.cast(pa.int32())
        t = x.type
    if pa.types.is_uint64(t):    # order-preserving: flip the top bit, read as int64
        v = pc.fill_null(x, 0).to_numpy(zero_copy_only=False).astype(np.uint64)
        return v.view(np.int64) ^ np.int64(-(1 << 63))
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return pc.fill_null(x.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    if pa.types.is_timestamp(t) or pa.types.is_date64(t):
        return pc.fill_null(x.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    ranks = pc.rank(x, sort_keys="ascending", tiebreaker="dense")
    return ranks.to_numpy(zero_copy_only=False).astype(np.int64)


def _extreme(lay: Layout, x: pa.Array, frame, want_max: bool) -> pa.Array:
    fs, fe = frame()
    if pa.types.is_null(x.type) or len(x) == 0:
        return pa.nulls(lay.n, x.type)
    codes = _codes(x)
    valid = _valid(x)
    fs = np.ascontiguousarray(fs, dtype=np.int64)
    fe = np.ascontiguousarray(fe, dtype=np.int64)
    monotone = bool(np.all(np.diff(fs) >= 0) and np.all(np.diff(fe) >= 0))
    kernel = frame_arg_extreme if monotone else frame_arg_extreme_scan
    idx = kernel(codes, valid, fs, fe, want_max)
    return _pick(x, idx, idx >= 0)


def min_(call, lay: Layout, args, frame):
    return _extreme(lay, args[0], frame, False)


def max_(call, lay: Layout, args, frame):
    return _extreme(lay, args[0], frame, True)


def _variance(lay: Layout, x: pa.Array, frame, sample: bool, root: bool) -> pa.Array:
    """var_pop / var_samp (and their square roots) per frame. The values are
    first shifted by their partition's mean, so the frame sums of y and y^2
    (from a segment tree, never differences of running sums) lose no digits
    to cancellation when the mean is large against the spread."""
    fs, fe = frame()
    fs = np.ascontiguousarray(fs, dtype=np.int64)
    fe = np.ascontiguousarray(fe, dtype=np.int64)
    valid = _valid(x)
    v = pc.fill_null(x.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
    v = np.where(valid, v, 0.0)
    pid = np.cumsum(lay.part_start) - 1
    with np.errstate(invalid="ignore"):
        total = np.bincount(pid, weights=v)
        count = np.bincount(pid, weights=valid.astype(np.float64))
        shift = (total / np.maximum(count, 1.0))[pid]
        shift = np.where(np.isfinite(shift), shift, 0.0)
        y = np.where(valid, v - shift, 0.0)
        n = _counts(valid, fs, fe).astype(np.float64)
        s1 = frame_sum_f64(y, fs, fe)
        s2 = frame_sum_f64(y * y, fs, fe)
        m2 = np.maximum(s2 - s1 * s1 / np.maximum(n, 1.0), 0.0)
        m2 = np.where(np.isnan(s2) | np.isnan(s1), np.nan, m2)
        denom = n - 1.0 if sample else n
        out = m2 / np.maximum(denom, 1.0)
        if root:
            out = np.sqrt(out)
    empty = denom <= 0
    return pa.array(out, pa.float64(), mask=empty if empty.any() else None)


def var_samp(call, lay: Layout, args, frame):
    return _variance(lay, args[0], frame, True, False)


def var_pop(call, lay: Layout, args, frame):
    return _variance(lay, args[0], frame, False, False)


def stddev_samp(call, lay: Layout, args, frame):
    return _variance(lay, args[0], frame, True, True)


def stddev_pop(call, lay: Layout, args, frame):
    return _variance(lay, args[0], frame, False, True)


AGGREGATES = {
    "var_samp": var_samp, "var_pop": var_pop, "stddev_samp": stddev_samp,
    "stddev_pop": stddev_pop,
    "count_star": count_star, "count": count, "sum": sum_, "avg": avg,
    "min": min_, "max": max_, "bool_and": min_, "bool_or": max_,
    "first": first_value,
}
