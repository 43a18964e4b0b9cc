"""Large scratch arrays come from Arrow's memory pool (which keeps freed
pages for reuse); small ones are plain numpy. Either way they behave as
np.empty / np.zeros of the same shape and type."""

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor.kernels import arrow_buffers as ab


@pytest.mark.parametrize("shape", [10, (7, 2), ab._FROM_ARROW_BYTES // 16 + 3,
                                   (ab._FROM_ARROW_BYTES // 16 + 3, 2)])
def test_zeros_and_empty_have_the_shape_and_type(shape):
    z = ab.scratch_zeros(shape, np.int64)
    e = ab.scratch_empty(shape, np.int64)
    want = np.zeros(shape, dtype=np.int64)
    assert z.shape == e.shape == want.shape and z.dtype == e.dtype == np.int64
    assert not z.any()
    z[...] = 3                               # writable, and independent of e
    e[...] = 4
    assert int(z.sum()) == 3 * want.size and int(e.sum()) == 4 * want.size


def test_large_arrays_come_from_arrows_pool():
    before = pa.total_allocated_bytes()
    big = ab.scratch_zeros((ab._FROM_ARROW_BYTES // 16, 2), np.int64)
    assert pa.total_allocated_bytes() - before >= big.nbytes
    small = ab.scratch_zeros(1000, np.int64)
    assert small.base is None                # plain numpy
    del big
    assert pa.total_allocated_bytes() - before < ab._FROM_ARROW_BYTES
