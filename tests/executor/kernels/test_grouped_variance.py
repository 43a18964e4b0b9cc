"""batch_moments (executor/kernels/grouped_variance.py): per-group count,
mean and M2 against numpy, with skipped rows (invalid, negative ids), and a
constant group's M2 exactly 0."""
import numpy as np

from quiver.executor.kernels.grouped_variance import batch_moments


def test_moments_match_numpy():
    rng = np.random.default_rng(0)
    n_rows, n = 5000, 7
    ids = rng.integers(-1, n, n_rows)
    x = rng.normal(1e6, 3.0, n_rows)
    valid = rng.random(n_rows) < 0.8
    c, mean, m2 = batch_moments(ids, x, valid, n)
    for g in range(n):
        v = x[(ids == g) & valid]
        assert c[g] == len(v)
        assert np.isclose(mean[g], v.mean(), rtol=1e-12)
        assert np.isclose(m2[g], ((v - v.mean()) ** 2).sum(), rtol=1e-9)


def test_all_rows_count_without_a_mask_and_constants_have_no_spread():
    ids = np.array([0, 1, 0, 1, 2], dtype=np.int64)
    x = np.array([0.1, 5.0, 0.1, 7.0, 3.0])
    c, mean, m2 = batch_moments(ids, x, np.zeros(0, dtype=np.bool_), 4)
    assert c.tolist() == [2, 2, 1, 0]
    assert m2[0] == 0.0 and mean[0] == 0.1 and m2[2] == 0.0
    assert m2[1] == 2.0 and mean[1] == 6.0
