"""executor/kernels/window_*.py against plain Python references."""
import numpy as np
import pytest

from quiver.executor.kernels.window_frames import range_lower, range_upper
from quiver.executor.kernels.window_minmax import frame_arg_extreme, frame_arg_extreme_scan
from quiver.executor.kernels.window_sums import (frame_sum_i128, segmented_cumsum_f64,
                                                 segmented_cumsum_i128)


def _partitions(rng, n):
    starts = rng.random(n) < 0.1
    starts[0] = True
    first = np.flatnonzero(starts)
    run = np.cumsum(starts) - 1
    return starts, first[run], np.append(first[1:], n)[run]


@pytest.mark.parametrize("seed", range(5))
def test_range_bounds(seed):
    rng = np.random.default_rng(seed)
    n = 200
    starts, pb, pe = _partitions(rng, n)
    w = rng.integers(0, 10, n).astype(float)
    for b, e in zip(pb[starts], pe[starts]):
        w[b:e] = np.sort(w[b:e])
    for delta in (-3.0, -1.0, 0.0, 2.0):
        lo, hi = range_lower(w, pb, pe, w + delta), range_upper(w, pb, pe, w + delta)
        for i in range(n):
            idx = [j for j in range(pb[i], pe[i]) if w[j] >= w[i] + delta]
            assert lo[i] == (idx[0] if idx else pe[i])
            idx = [j for j in range(pb[i], pe[i]) if w[j] > w[i] + delta]
            assert hi[i] == (idx[0] if idx else pe[i])


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("want_max", [False, True])
def test_frame_arg_extreme(seed, want_max):
    rng = np.random.default_rng(seed)
    n = 300
    starts, pb, pe = _partitions(rng, n)
    codes = rng.integers(0, 20, n)
    valid = rng.random(n) < 0.7
    i = np.arange(n)
    a, b = sorted(rng.integers(-4, 4, 2))
    fs = np.clip(i + a, pb, pe)
    fe = np.maximum(np.clip(i + b + 1, pb, pe), fs)
    fast = frame_arg_extreme(codes, valid, fs, fe, want_max)
    scan = frame_arg_extreme_scan(codes, valid, fs, fe, want_max)
    for r in range(n):
        vals = [codes[j] for j in range(fs[r], fe[r]) if valid[j]]
        if not vals:
            assert fast[r] == -1 and scan[r] == -1
        else:
            best = max(vals) if want_max else min(vals)
            assert codes[fast[r]] == best and codes[scan[r]] == best


def test_segmented_sums():
    rng = np.random.default_rng(3)
    n = 500
    starts, pb, pe = _partitions(rng, n)
    x = rng.normal(size=n)
    c = segmented_cumsum_f64(x, starts)
    ref = np.array([x[pb[i]:i + 1].sum() for i in range(n)])
    assert np.allclose(c, ref)
    big = [int(v) for v in rng.integers(-2**62, 2**62, n)]
    vals = [v * (2**40) for v in big]                      # needs 128 bits
    lo = np.array([v & (2**64 - 1) for v in vals], dtype=np.uint64)
    hi = np.array([v >> 64 for v in vals], dtype=np.int64)
    clo, chi = segmented_cumsum_i128(lo, hi, starts)
    i = np.arange(n)
    fs = np.clip(i - 2, pb, pe)
    fe = np.clip(i + 2, pb, pe)
    slo, shi = frame_sum_i128(clo, chi, fs, fe, pb)
    for r in range(n):
        ref = sum(vals[fs[r]:fe[r]])
        got = (int(shi[r]) << 64) + int(slo[r])
        assert got == ref
