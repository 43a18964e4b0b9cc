"""KeyEncoder against a plain dict reference."""

import decimal

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from quiver.executor.kernels.key_encoder import KeyEncoder


def _reference(batches, null_equals_null=True):
    seen, out = {}, []
    for arrays in batches:
        ids = []
        for row in zip(*[a.to_pylist() for a in arrays]):
            if not null_equals_null and any(v is None for v in row):
                ids.append(-1)
                continue
            ids.append(seen.setdefault(row, len(seen)))
        out.append(ids)
    return out, len(seen)


def _check(types, batches, null_equals_null=True):
    enc = KeyEncoder(types, null_equals_null)
    expected, num = _reference(batches, null_equals_null)
    for arrays, exp in zip(batches, expected):
        assert enc.encode(arrays).tolist() == exp
    assert enc.num_keys == num
    for arrays, exp in zip(batches, expected):    # lookup after the fact finds all
        assert enc.lookup(arrays).tolist() == exp
    return enc


ints = st.one_of(st.none(), st.integers(-3, 3))
strs = st.one_of(st.none(), st.sampled_from(["", "a", "b", "ab", "long string value é"]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(ints, strs, ints), max_size=30), max_size=4),
       st.booleans())
def test_three_columns_across_batches(batches, nen):
    arrow = [[pa.array([r[0] for r in b], pa.int32()), pa.array([r[1] for r in b], pa.string()),
              pa.array([r[2] for r in b], pa.int64())] for b in batches]
    _check([pa.int32(), pa.string(), pa.int64()], arrow, nen)


@settings(max_examples=30, deadline=None)
@given(st.lists(strs, max_size=50), st.booleans())
def test_single_string_column(values, nen):
    _check([pa.string()], [[pa.array(values, pa.string())]], nen)


def test_lookup_unknown_and_nulls():
    enc = KeyEncoder([pa.int64()], null_equals_null=False)
    enc.encode([pa.array([1, 2])])
    assert enc.lookup([pa.array([2, 3, None])]).tolist() == [1, -1, -1]
    assert enc.num_keys == 2
    enc = KeyEncoder([pa.int64()])
    enc.encode([pa.array([1, None])])
    assert enc.lookup([pa.array([None, 5, 1])]).tolist() == [1, -1, 0]
    enc = KeyEncoder([pa.int64()])
    enc.encode([pa.array([1])])
    assert enc.lookup([pa.array([None], pa.int64())]).tolist() == [-1]   # NULL never seen


def test_many_keys_force_growth():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 50_000, 200_000)
    enc = KeyEncoder([pa.int64()])
    ids = enc.encode([pa.array(x)])
    _, first = np.unique(x, return_index=True)
    assert enc.num_keys == len(first)
    # ids are dense and numbered in order of first appearance
    order = np.sort(first)
    assert (ids[order] == np.arange(len(order))).all()
    assert (ids == ids[first[np.searchsorted(np.unique(x), x)]]).all()   # equal keys, equal ids
    s = pa.array(x).cast(pa.string())
    senc = KeyEncoder([pa.string()])
    assert (senc.encode([s]) == ids).all()
    senc2 = KeyEncoder([pa.string(), pa.int64()])
    assert (senc2.encode([s, pa.array(x % 7)]) ==
            KeyEncoder([pa.int64(), pa.int64()]).encode([pa.array(x), pa.array(x % 7)])).all()


def test_decimals_floats_bools_dates():
    d = pa.array([decimal.Decimal("1.10"), decimal.Decimal("-1.10"), None,
                  decimal.Decimal("1.10"), decimal.Decimal("-0.01")], pa.decimal128(15, 2))
    _check([pa.decimal128(15, 2)], [[d], [d[1:]]])
    f = pa.array([0.0, -0.0, float("nan"), None, 1.5, float("nan")])
    enc = KeyEncoder([pa.float64()])
    assert enc.encode([f]).tolist() == [0, 0, 1, 2, 3, 1]
    b = pa.array([True, None, False, True])
    dt = pa.array([1, 1, None, 2], pa.int32()).cast(pa.date32())
    _check([pa.bool_(), pa.date32()], [[b, dt]])
    _check([pa.bool_(), pa.date32()], [[b, dt]], null_equals_null=False)


def test_sliced_and_chunked_inputs():
    s = pa.array(["a", "b", None, "a", "c", "b"])
    enc = KeyEncoder([pa.string()])
    assert enc.encode([s[3:]]).tolist() == [0, 1, 2]
    assert enc.encode([pa.chunked_array([s[:2], s[2:]])]).tolist() == [0, 2, 3, 0, 1, 2]


def test_empty_batches():
    enc = KeyEncoder([pa.string(), pa.int64()])
    assert enc.encode([pa.array([], pa.string()), pa.array([], pa.int64())]).tolist() == []
    assert enc.num_keys == 0
    assert enc.encode_rows(0).tolist() == [] and KeyEncoder([]).num_keys == 0
    e0 = KeyEncoder([])
    assert e0.encode_rows(3).tolist() == [0, 0, 0] and e0.num_keys == 1


def test_narrow_decimals_are_keyed_by_their_low_word():
    from decimal import Decimal
    import numpy as np
    import pyarrow as pa
    from quiver.executor.kernels.key_encoder import KeyEncoder
    vals = [Decimal("1.50"), Decimal("-1.50"), None, Decimal("0.00"), Decimal("1.50"),
            Decimal("-9999999999999.99"), Decimal("9999999999999.99"), None, Decimal("-1.50")]
    for t in (pa.decimal128(15, 2), pa.decimal128(18, 2), pa.decimal128(20, 2)):
        enc = KeyEncoder([t], null_equals_null=True)
        assert enc._columns[0].narrow_decimal == (t.precision <= 18)
        arr = pa.array(vals, t)
        ids = enc.encode([arr]).tolist()
        assert ids == [0, 1, 2, 3, 0, 4, 5, 2, 1]
        assert enc.encode([arr.slice(3)]).tolist() == ids[3:]
        probe = pa.array([Decimal("-1.50"), Decimal("2.00"), None], t)
        assert enc.lookup([probe]).tolist() == [1, -1, 2]
        joined = KeyEncoder([t], null_equals_null=False)
        assert joined.encode([arr]).tolist() == [0, 1, -1, 2, 0, 3, 4, -1, 1]
    dict_arr = pa.DictionaryArray.from_arrays(pa.array([1, 0, 1], pa.int32()),
                                              pa.array(vals[:2], pa.decimal128(15, 2)))
    enc = KeyEncoder([dict_arr.type])
    assert enc.encode([dict_arr]).tolist() == [0, 1, 0]
    assert np.array_equal(enc.lookup([pa.array(vals[:2], pa.decimal128(15, 2))]), [1, 0])


def test_long_strings_of_few_values_go_through_a_dictionary(monkeypatch):
    """Long strings repeating a few values (brands, types after a join) are
    dictionary-encoded by Arrow before coding; the ids are those of the
    plain path (dense, in order of first appearance), batch after batch, and
    the path follows the column: many new values send it back to hashing
    row by row."""
    import pyarrow.compute as pc
    from quiver.executor.kernels import key_encoder as K
    calls = []
    real = pc.dictionary_encode
    monkeypatch.setattr(K.pc, "dictionary_encode", lambda a: calls.append(len(a)) or real(a))
    rng = np.random.default_rng(4)
    types = [f"STANDARD POLISHED {m}" for m in ("TIN", "NICKEL", "BRASS", "STEEL", "COPPER")]
    few = [pa.array([types[i] for i in rng.integers(0, 5, n)]) for n in (5000, 3000, 6000)]
    many = [pa.array([f"customer name number {i}" for i in range(k, k + 8000)])
            for k in (0, 8000)]
    for batches in ([few[0], few[1], few[2]], [few[0], many[0], few[1], many[1], few[2]]):
        calls.clear()
        _check([pa.string()], [[b] for b in batches])
        assert calls, "few long values were hashed row by row"
        assert 8000 not in calls, "distinct names went through a dictionary"
    # with a second (integer) key column and NULL-free lookups too
    pairs = [[b, pa.array(rng.integers(0, 3, len(b)))] for b in few]
    _check([pa.string(), pa.int64()], pairs)
