"""decimal_to_double (executor/kernels/decimal_to_float.py): the nearest
double of each decimal (as float(Decimal) gives), NULL rows skipped, and a
refusal when a value has more than 53 bits."""
import decimal

import numpy as np
import pyarrow as pa

from quiver.executor.kernels.arrow_buffers import decimal_words, validity
from quiver.executor.kernels.decimal_to_float import decimal_to_double


def _words(a):
    low, high = decimal_words(a)
    return low.view(np.int64), high


def test_nearest_double_with_nulls_and_slices():
    rng = np.random.default_rng(3)
    vals = [None if i % 7 == 0 else decimal.Decimal(int(v)).scaleb(-4)
            for i, v in enumerate(rng.integers(-2 ** 52, 2 ** 52, 400))]
    a = pa.array(vals, pa.decimal128(20, 4)).slice(5, 300)
    out = np.empty(len(a))
    valid = validity(a)
    assert decimal_to_double(*_words(a), valid, 10.0 ** 4, out)
    for got, want in zip(out, a.to_pylist()):
        if want is not None:
            assert got == float(want)


def test_wider_than_53_bits_is_refused():
    a = pa.array([decimal.Decimal(2 ** 60)], pa.decimal128(38, 0))
    assert not decimal_to_double(*_words(a), np.zeros(0, dtype=bool), 1.0, np.empty(1))
