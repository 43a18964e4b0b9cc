"""executor/functions/cast.py: decimal casts that narrow the whole digits."""
from decimal import Decimal

import pyarrow as pa
import pytest

from quiver.errors import DataError
from quiver.executor.functions.cast import cast_array


def test_narrowing_cast_of_an_empty_batch_is_empty():
    # an empty batch reached `pc.all` over nothing (NULL, not True) and then
    # argmin of an empty array (fuzz seed 777000)
    out = cast_array(pa.array([], pa.decimal128(38, 0)), pa.decimal128(14, 2))
    assert out.type == pa.decimal128(14, 2) and len(out) == 0


def test_narrowing_cast_names_the_value_that_does_not_fit():
    a = pa.array([Decimal(5), Decimal(10) ** 13, None], pa.decimal128(38, 0))
    with pytest.raises(DataError):
        cast_array(a, pa.decimal128(14, 2))
    assert cast_array(a, pa.decimal128(14, 2), safe=True).to_pylist() == [Decimal("5.00"), None, None]
