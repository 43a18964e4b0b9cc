"""radix_order is a stable sort of uint64 words by their low bits, and
leaves input made of a few sorted runs to numpy's timsort."""

from __future__ import annotations

import numpy as np
import pytest

from quiver.executor.kernels.radix_sort import radix_order


@pytest.mark.parametrize("n", [10, 20_000, 100_000])
def test_radix_order_is_a_stable_sort(n):
    rng = np.random.default_rng(n)
    for bits in (1, 9, 33, 64):
        words = rng.integers(0, 2**bits - 1, n, dtype=np.uint64, endpoint=True)
        assert np.array_equal(radix_order(words, bits), np.argsort(words, kind="stable"))
    runs = np.concatenate([np.sort(rng.integers(0, 1000, n // 2, dtype=np.uint64))] * 2)
    assert np.array_equal(radix_order(runs, 10), np.argsort(runs, kind="stable"))
