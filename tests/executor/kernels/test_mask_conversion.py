"""mask_array / mask_values: numpy bool masks to and from Arrow booleans by
bit packing, the same values as pa.array and to_numpy, NULL as false."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from quiver.executor.kernels.arrow_buffers import mask_array, mask_values


def test_round_trip_and_same_as_arrow():
    rng = np.random.default_rng(1)
    for n in (0, 1, 7, 8, 9, 1000, 4099):
        mask = rng.random(n) < 0.4
        arr = mask_array(mask)
        assert arr.equals(pa.array(mask, pa.bool_())) and arr.null_count == 0
        assert np.array_equal(mask_values(arr), mask)


def test_sliced_chunked_and_null_values():
    arr = pa.array([True, None, False, True, True, None, True, False, True, True])
    assert mask_values(arr).tolist() == [True, False, False, True, True, False, True, False,
                                         True, True]
    assert mask_values(arr.slice(3, 5)).tolist() == [True, True, False, True, False]
    chunked = pa.chunked_array([arr.slice(0, 3), arr.slice(6)])
    assert mask_values(chunked).tolist() == [True, False, False, True, False, True, True]


def test_a_null_constant_is_no_row():
    assert mask_values(pa.nulls(3)).tolist() == [False, False, False]
    assert mask_values(pa.nulls(2, pa.bool_())).tolist() == [False, False]
