"""frame_sum_f64 against a plain numpy sum of each frame, including inf,
NaN and values whose running-sum differences would cancel catastrophically."""

from __future__ import annotations

import numpy as np
import pytest

from quiver.executor.kernels.window_sums import frame_sum_f64


def _reference(x, fs, fe):
    with np.errstate(invalid="ignore"):
        return np.array([x[a:b].sum() if b > a else 0.0 for a, b in zip(fs, fe)])


@pytest.mark.parametrize("seed", range(5))
def test_random_frames_match_numpy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    x = np.round(rng.normal(0, 100, n), 3)
    fs = rng.integers(0, n, 200)
    fe = np.minimum(fs + rng.integers(0, 20, 200), n)
    np.testing.assert_allclose(frame_sum_f64(x, fs, fe), _reference(x, fs, fe), rtol=1e-12,
                               atol=1e-9)


def test_inf_and_nan_stay_in_their_frames():
    x = np.array([1.0, np.inf, 2.0, 3.0, np.nan, 4.0, -np.inf, np.inf, 5.0])
    fs = np.arange(9, dtype=np.int64)
    fe = np.minimum(fs + 2, 9)
    got = frame_sum_f64(x, fs, fe)
    want = _reference(x, fs, fe)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[~np.isnan(got)], want[~np.isnan(want)])


def test_no_cancellation_after_a_huge_value():
    x = np.array([1e20, 1.0, 2.0, 3.0])
    got = frame_sum_f64(x, np.array([1, 2, 3, 1]), np.array([2, 3, 4, 4]))
    assert got.tolist() == [1.0, 2.0, 3.0, 6.0]


def test_empty_frames_and_empty_input():
    x = np.array([5.0, 6.0])
    assert frame_sum_f64(x, np.array([1, 2]), np.array([1, 2])).tolist() == [0.0, 0.0]
    assert frame_sum_f64(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)).size == 0
