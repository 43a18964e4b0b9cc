"""choose (executor/kernels/case_choice.py): a CASE of constant results
against Arrow's case_when, for several types, NULL conditions, NULL
results, with and without a default, and empty input."""
import datetime
import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from quiver.executor.kernels.case_choice import choose

CONSTANTS = {
    pa.string(): ["small", None, "mid", "é"],
    pa.int64(): [1, -5, None, 7],
    pa.float64(): [0.5, float("nan"), None, -1.0],
    pa.decimal128(12, 2): [decimal.Decimal("1.25"), None, decimal.Decimal("-3.00"),
                           decimal.Decimal("0.01")],
    pa.date32(): [datetime.date(2020, 1, 1), None, datetime.date(1999, 12, 31),
                  datetime.date(2000, 2, 29)],
    pa.bool_(): [True, False, None, True],
}


def _reference(conds, values, default, dtype, n):
    arrays = [pa.array([v] * n, dtype) for v in values]
    if default is not None:
        arrays.append(pa.array([default] * n, dtype))
    names = [f"c{i}" for i in range(len(conds))]
    return pc.case_when(pa.StructArray.from_arrays(conds, names=names), *arrays)


@pytest.mark.parametrize("dtype", list(CONSTANTS), ids=str)
@pytest.mark.parametrize("branches", [1, 2, 3])
@pytest.mark.parametrize("with_default", [True, False])
def test_choose_matches_case_when(dtype, branches, with_default):
    rng = np.random.default_rng(branches)
    n = 500
    conds = [pa.array(rng.random(n) < 0.4, mask=rng.random(n) < 0.2) for _ in range(branches)]
    values = CONSTANTS[dtype][:branches]
    default = CONSTANTS[dtype][3] if with_default else None
    got = choose([pc.fill_null(c, False) for c in conds],
                 [pa.scalar(v, dtype) for v in values],
                 pa.scalar(default, dtype) if with_default else None, dtype, n)
    ref = _reference([pc.fill_null(c, False) for c in conds], values, default, dtype, n)
    assert got.type == dtype
    assert got.to_pylist() == ref.to_pylist() or (
        pa.types.is_floating(dtype) and
        str(got.to_pylist()) == str(ref.to_pylist()))     # NaN != NaN


def test_first_true_branch_wins_and_empty_input():
    conds = [pa.array([True, False, True]), pa.array([True, True, False])]
    got = choose(conds, [pa.scalar("a"), pa.scalar("b")], pa.scalar("z"), pa.string(), 3)
    assert got.to_pylist() == ["a", "b", "a"]
    empty = choose([pa.array([], pa.bool_())], [pa.scalar(1)], None, pa.int64(), 0)
    assert empty.to_pylist() == [] and empty.type == pa.int64()
