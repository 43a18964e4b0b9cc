"""packed_order gives exactly the order of Arrow's multi-key sort (the path
it replaces for fixed-width keys), and declines what it cannot pack."""

from __future__ import annotations

import decimal
import itertools

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor.kernels import sort_order
from quiver.executor.kernels.packed_sort import packed_order
from quiver import datatypes as dt
from quiver.planner.expr import Literal, SortKey


def _key(ascending, nulls_first):
    return SortKey(Literal(0, dt.INT64), ascending, nulls_first)


def _arrow_order(arrays, keys, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(sort_order, "packed_order", lambda a, k: None)
        return sort_order.sort_indices(arrays, keys)


def _with_nulls(values, rng, share=0.2):
    mask = rng.random(len(values)) < share
    return pa.array(values, mask=mask)


def _columns(rng, n):
    ints = rng.integers(-50, 50, n)
    yield pa.array(ints, pa.int64())
    yield _with_nulls(ints.astype(np.int32), rng)
    yield pa.array(rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True) >> np.uint64(
        rng.integers(0, 63)), pa.uint64())
    yield _with_nulls(rng.integers(0, 3, n).astype(bool), rng)
    yield pa.array(rng.integers(0, 20000, n).astype(np.int32), pa.date32())
    yield _with_nulls(rng.integers(-10**12, 10**12, n), rng).cast(pa.timestamp("us"))
    floats = rng.choice([-1.5, -0.0, 0.0, 2.25, np.inf, -np.inf, np.nan], n)
    yield _with_nulls(floats, rng)
    dec = [decimal.Decimal(int(v)).scaleb(-2) for v in rng.integers(-10**15, 10**15, n)]
    yield _with_nulls(dec, rng).cast(pa.decimal128(18, 2))
    yield pa.array(rng.integers(0, 5, n)).dictionary_encode()
    words = np.array(["", "a", "ab", "b", "B", "é", "zz", "a\x00"], dtype=object)
    strings = _with_nulls(words[rng.integers(0, len(words), n)], rng)
    yield strings
    yield strings.cast(pa.large_string())
    yield strings.dictionary_encode()
    yield pa.array([f"s{v}" for v in rng.integers(0, n, n)])


@pytest.mark.parametrize("seed", range(6))
def test_same_order_as_arrow(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = 3000
    columns = list(_columns(rng, n))
    for pick in itertools.islice(itertools.permutations(range(len(columns)), 2), seed, None, 6):
        arrays = [columns[i] for i in pick]
        for dirs in itertools.product([True, False], repeat=2):
            keys = [_key(dirs[0], dirs[1]), _key(not dirs[1], dirs[0])]
            got = packed_order(arrays, keys)
            if got is None:        # two 64-bit ranges do not fit together
                continue
            want = _arrow_order(arrays, keys, monkeypatch)
            assert np.array_equal(got, want), (pick, dirs)


def test_one_key_of_each_type(monkeypatch):
    rng = np.random.default_rng(7)
    for arr in _columns(rng, 2000):
        for asc, first in itertools.product([True, False], repeat=2):
            keys = [_key(asc, first)]
            got = packed_order([arr], keys)
            if got is None:     # floats span ~64 bits: no room for a NULL bit
                assert pa.types.is_floating(arr.type) and arr.null_count
                continue
            assert np.array_equal(got, _arrow_order([arr], keys, monkeypatch)), arr.type


def test_ties_keep_input_order():
    arr = pa.array([3, 1, 3, 1, 2, 3])
    assert packed_order([arr], [_key(False, False)]).tolist() == [0, 2, 5, 4, 1, 3]


def test_chunked_and_sliced_input(monkeypatch):
    arr = pa.chunked_array([pa.array([5, None, 1]), pa.array([4, 2, None, 0])])
    keys = [_key(True, True)]
    assert np.array_equal(packed_order([arr], keys), _arrow_order([arr], keys, monkeypatch))
    dec = pa.array([decimal.Decimal(v) for v in "3 1 2 5 4".split()], pa.decimal128(10, 0))
    assert packed_order([dec.slice(1, 3)], keys).tolist() == [0, 1, 2]


def test_declines_what_it_cannot_pack():
    asc = [_key(True, False)]
    assert packed_order([pa.array(["b", "a"])], asc).tolist() == [1, 0]
    null_in_dictionary = pa.DictionaryArray.from_arrays(pa.array([0, 1]), pa.array(["a", None]))
    assert packed_order([null_in_dictionary], asc) is None
    wide = pa.array([decimal.Decimal(10**30), decimal.Decimal(1)], pa.decimal128(38, 0))
    assert packed_order([wide], asc) is None
    full = pa.array([-2**63, 2**63 - 1], pa.int64())
    assert packed_order([full], asc).tolist() == [0, 1]          # 64 bits alone fit
    assert packed_order([full, pa.array([1, 0])], asc * 2) is None   # 65 do not


def test_all_null_and_empty_keys():
    nulls = pa.array([None, None, None], pa.int64())
    assert packed_order([nulls, pa.array([2, 0, 1])], [_key(True, True)] * 2).tolist() == [1, 2, 0]
    assert packed_order([pa.array([], pa.int64())], [_key(True, False)]).tolist() == []
    no_strings = pa.array([None, None], pa.string())
    assert packed_order([no_strings, pa.array([1, 0])], [_key(True, True)] * 2).tolist() == [1, 0]
