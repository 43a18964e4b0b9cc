"""The key filter of an int64 table: lookups through it answer exactly what a
lookup over the slots answers (a miss is never turned into a hit or back),
for dense keys (bitmap), sparse keys (range only), negative keys, an empty
table, NULLs, and a table that grows again after it was probed."""

import numpy as np
import pytest

from quiver.executor.kernels.hash_tables import Int64Table


def _expected(keys: np.ndarray, probes: np.ndarray) -> np.ndarray:
    first = {}
    for i, k in enumerate(keys.tolist()):
        first.setdefault(k, len(first))
    return np.array([first.get(k, -1) for k in probes.tolist()], dtype=np.int64)


def _table(keys: np.ndarray) -> Int64Table:
    t = Int64Table()
    t.insert(keys)
    return t


@pytest.mark.parametrize("keys", [
    np.arange(0, 200_000, 7, dtype=np.int64),                      # dense: a bitmap
    np.array([-(1 << 62), -5, 3, 1 << 62], dtype=np.int64),        # sparse: the range only
    np.arange(-50_000, 50_000, 3, dtype=np.int64),                 # negative keys
    np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max], dtype=np.int64),
])
def test_lookups_through_the_filter_match_the_slots(keys):
    rng = np.random.default_rng(1)
    t = _table(keys)
    probes = np.concatenate([keys, rng.integers(-300_000, 300_000, 400_000),
                             keys - 1, keys + 1]).astype(np.int64)
    got = t.lookup(probes)
    assert t._filter is not None                      # the filter was used
    assert np.array_equal(got, _expected(keys, probes))


def test_a_dense_table_gets_a_bitmap_and_a_sparse_one_does_not():
    dense = _table(np.arange(100_000, dtype=np.int64) * 10)
    sparse = _table(np.arange(1000, dtype=np.int64) * 1_000_000)
    dense.lookup(np.zeros(1_000_000, dtype=np.int64))
    sparse.lookup(np.zeros(1_000_000, dtype=np.int64))
    assert len(dense._filter.bits) > 0 and len(sparse._filter.bits) == 0
    assert dense._filter.nbytes <= 8 * 100_000


def test_an_empty_table_misses_everything():
    t = Int64Table()
    got = t.lookup(np.arange(10_000, dtype=np.int64))
    assert (got == -1).all()


def test_nulls_keep_their_meaning():
    t = Int64Table()
    t.insert(np.array([5, 0, 6], dtype=np.int64), valid=np.array([True, False, True]))
    probes = np.zeros(5000, dtype=np.int64)
    valid = np.ones(5000, dtype=bool)
    valid[::2] = False
    probes[1::2] = 6
    got = t.lookup(probes, valid=valid, nulls_as_key=True)
    assert (got[::2] == t.null_id).all() and (got[1::2] == 2).all()
    assert (t.lookup(probes, valid=valid, nulls_as_key=False)[::2] == -1).all()


def test_an_insert_after_lookups_makes_a_new_filter():
    t = _table(np.arange(1000, dtype=np.int64))
    assert (t.lookup(np.arange(5000, dtype=np.int64))[:1000] >= 0).all()
    assert t._filter is not None
    t.insert(np.array([4000, -7], dtype=np.int64))
    got = t.lookup(np.array([4000, -7, 999, 1000] * 1000, dtype=np.int64))
    assert got[:4].tolist() == [1000, 1001, 999, -1]


def test_of_values_and_contains():
    import numpy as np
    from quiver.executor.kernels.key_filter import KeyFilter
    values = np.array([5, 9, 5, 1000, -3], dtype=np.int64)
    f = KeyFilter.of_values(values)
    probe = np.array([5, 6, 9, 1000, -3, -4, 1001, 0], dtype=np.int64)
    assert f.contains(probe).tolist() == [True, False, True, True, True, False, False, False]
    valid = np.array([True, True, False, True, True, True, True, True])
    assert f.contains(probe, valid).tolist() == [True, False, False, True, True, False, False, False]
    assert KeyFilter.of_values(np.array([0, 10**12], dtype=np.int64), max_bits=1 << 20) is None
    empty = KeyFilter.of_values(np.empty(0, dtype=np.int64))
    assert not empty.contains(probe).any()
