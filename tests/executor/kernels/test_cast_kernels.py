"""decimal_to_int64 and format_dates (executor/kernels/decimal_to_int.py,
date_to_string.py) against Python's Decimal rounding and Arrow's date
formatting; and the CASTs that use them, through cast_array."""
import datetime
import decimal

import numpy as np
import pyarrow as pa
import pytest

from quiver.errors import DataError
from quiver.executor.functions.cast import cast_array


def _round_half_away(d: decimal.Decimal) -> int:
    return int(d.quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))


@pytest.mark.parametrize("scale", [0, 1, 2, 5])
def test_decimal_to_integer_rounds_half_away_from_zero(scale):
    rng = np.random.default_rng(scale)
    unscaled = list(rng.integers(-10 ** 12, 10 ** 12, 500)) + [5, -5, 15, -15, 0, 1, -1]
    unscaled = [u * 10 ** max(scale - 1, 0) + (5 if i % 9 == 0 and scale else 0)
                for i, u in enumerate(unscaled)]
    vals = [None if i % 11 == 0 else decimal.Decimal(int(u)).scaleb(-scale)
            for i, u in enumerate(unscaled)]
    a = pa.array(vals, pa.decimal128(18, scale)).slice(3)
    got = cast_array(a, pa.int64()).to_pylist()
    want = [None if v is None else _round_half_away(v) for v in a.to_pylist()]
    assert got == want


def test_decimal_to_narrow_integer_checks_the_range():
    a = pa.array([decimal.Decimal("127.4"), decimal.Decimal("-128.5"), None], pa.decimal128(5, 1))
    with pytest.raises(DataError, match="-128.5"):
        cast_array(a, pa.int8())
    assert cast_array(a, pa.int8(), safe=True).to_pylist() == [127, None, None]
    assert cast_array(a, pa.int16()).to_pylist() == [127, -129, None]
    assert cast_array(a.slice(0, 1), pa.uint8()).to_pylist() == [127]


def test_dates_format_as_arrow_does():
    rng = np.random.default_rng(1)
    days = list(rng.integers(-719162, 2932896, 500)) + [-719162, 2932896, 0, -1, 10957]
    vals = [None if i % 13 == 0 else datetime.date(1970, 1, 1) + datetime.timedelta(days=int(d))
            for i, d in enumerate(days)]
    a = pa.array(vals, pa.date32()).slice(2)
    got = cast_array(a, pa.string())
    assert got.to_pylist() == a.cast(pa.string()).to_pylist()
    assert got.null_count == a.null_count


def test_dates_outside_years_1_to_9999_still_cast():
    a = pa.array([-719163, 2932897], pa.date32())
    assert cast_array(a, pa.string()).to_pylist() == a.cast(pa.string()).to_pylist()
