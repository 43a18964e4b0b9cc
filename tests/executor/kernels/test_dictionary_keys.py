"""Dictionary-encoded string keys are coded by their dictionary: the same
value gets the same id whether it comes plain or as a dictionary (with any
dictionary order, unused values, slices), and lookups agree."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from quiver.executor.kernels.key_encoder import KeyEncoder


def _dict(values, dictionary):
    d = pa.array(dictionary)
    idx = pa.array([dictionary.index(v) for v in values], pa.int32())
    return pa.DictionaryArray.from_arrays(idx, d)


def test_same_ids_plain_and_dictionary():
    plain = KeyEncoder([pa.string(), pa.string()])
    coded = KeyEncoder([pa.string(), pa.string()])
    rng = np.random.default_rng(1)
    flags, status = ["A", "N", "R", "a-long-value-over-seven"], ["F", "O"]
    for _ in range(5):
        n = 1000
        a = [flags[i] for i in rng.integers(0, 3, n)]     # never the long one: unused
        b = [status[i] for i in rng.integers(0, 2, n)]
        order = list(rng.permutation(flags))
        da, db = _dict(a, order), _dict(b, status[::-1])
        want = plain.encode([pa.array(a), pa.array(b)])
        got = coded.encode([da, db])
        assert np.array_equal(want, got)
        assert plain.num_keys == coded.num_keys
        assert np.array_equal(coded.lookup([da, db]), want)
    # the unused dictionary value never became a key
    assert coded.num_keys == len({(x, y) for x in "ANR" for y in "FO"})


def test_sliced_dictionary_and_plain_mixed():
    enc = KeyEncoder([pa.string()])
    d = _dict(list("xyzxyzzz"), ["z", "y", "x"]).slice(2, 5)   # z x y z z
    ids = enc.encode([d]).tolist()
    z, x, y = ids[0], ids[1], ids[2]
    assert sorted({z, x, y}) == [0, 1, 2] and ids == [z, x, y, z, z]
    assert enc.encode([pa.array(["y", "x", "w"])]).tolist() == [y, x, 3]


def test_dictionary_with_nulls_takes_the_plain_path():
    enc = KeyEncoder([pa.string()], null_equals_null=True)
    d = pa.DictionaryArray.from_arrays(pa.array([0, None, 1, 0], pa.int32()), pa.array(["p", "q"]))
    assert enc.encode([d]).tolist() == [0, 1, 2, 0]
    join = KeyEncoder([pa.string()], null_equals_null=False)
    assert join.encode([d]).tolist() == [0, -1, 1, 0]


def test_combined_dictionaries_match_the_row_by_row_ids(monkeypatch):
    # three dictionary key columns (strings and integers), batches mixing
    # coded, sliced and plain arrays, lookups of unseen tuples, both NULL modes
    import quiver.executor.kernels.key_encoder as ke
    rng = np.random.default_rng(7)
    for limit in (ke._MAX_COMBINED, 4):          # 4: too small, the plain path
        monkeypatch.setattr(ke, "_MAX_COMBINED", limit)
        for nen in (True, False):
            plain = KeyEncoder([pa.string(), pa.int64(), pa.string()], null_equals_null=nen)
            coded = KeyEncoder([pa.string(), pa.int64(), pa.string()], null_equals_null=nen)
            for step in range(6):
                n = 500
                a = [["x", "y", "z"][i] for i in rng.integers(0, 3, n)]
                b = [int(v) for v in rng.integers(10, 14, n)]
                c = [["p", "q"][i] for i in rng.integers(0, 2, n)]
                cols = [_dict(a, ["z", "y", "x"]),
                        pa.DictionaryArray.from_arrays(
                            pa.array([[13, 12, 11, 10].index(v) for v in b], pa.int8()),
                            pa.array([13, 12, 11, 10], pa.int64())),
                        _dict(c, ["p", "q", "unused"])]
                if step == 3:
                    cols = [col.slice(100, 250) for col in cols]
                    a, b, c = a[100:350], b[100:350], c[100:350]
                if step == 4:                       # a plain batch in between
                    cols = [pa.array(a), pa.array(b), pa.array(c)]
                want = plain.encode([pa.array(a), pa.array(b), pa.array(c)])
                assert np.array_equal(coded.encode(cols), want)
                assert plain.num_keys == coded.num_keys
            probe = [_dict(["x", "x"], ["x", "w"]),
                     pa.DictionaryArray.from_arrays(pa.array([0, 0], pa.int32()),
                                                    pa.array([10], pa.int64())),
                     _dict(["p", "q"], ["q", "p"])]
            want = plain.lookup([pa.array(["x", "x"]), pa.array([10, 10]), pa.array(["p", "q"])])
            assert np.array_equal(coded.lookup(probe), want) and (want >= 0).all()
            unseen = [_dict(["w"], ["w"]), pa.array([10]), pa.array(["p"])]
            assert coded.lookup([unseen[0], unseen[1], unseen[2]]).tolist() == [-1]


def test_remembered_tuples_keep_the_row_by_row_ids():
    # batches with the dictionaries in new orders, plain batches in between,
    # lookups of unseen tuples (-1, never remembered), integer dictionaries
    plain = KeyEncoder([pa.string(), pa.int64()])
    coded = KeyEncoder([pa.string(), pa.int64()])
    rng = np.random.default_rng(5)
    letters, numbers = ["x", "y", "z", "w"], [10, 20, 30]
    for step in range(8):
        n = 500
        a = [letters[i] for i in rng.integers(0, 3 + step % 2, n)]
        b = [numbers[i] for i in rng.integers(0, 3, n)]
        want = plain.encode([pa.array(a), pa.array(b, pa.int64())])
        if step % 3 == 2:
            got = coded.encode([pa.array(a), pa.array(b, pa.int64())])
        else:
            got = coded.encode([_dict(a, list(rng.permutation(letters))),
                                _dict(b, [int(v) for v in rng.permutation(numbers)])])
        assert np.array_equal(want, got)
    unseen = coded.lookup([_dict(["v", "x"], ["x", "v"]), _dict([10, 99], [99, 10])])
    assert unseen.tolist() == [-1, -1]
    assert coded.lookup([_dict(["x"], ["x", "v"]), _dict([10], [99, 10])])[0] >= 0
    assert coded.num_keys == plain.num_keys


def test_float_dictionaries_are_not_remembered_by_python_equality():
    # -0.0 == 0.0 in Python; the encoder's ids must still be the plain path's
    plain = KeyEncoder([pa.float64(), pa.string()])
    coded = KeyEncoder([pa.float64(), pa.string()])
    for values in ([0.0, -0.0, 1.5], [-0.0, 0.0, 1.5]):
        f = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 0], pa.int32()), pa.array(values))
        s = _dict(["a", "a", "b", "b"], ["a", "b"])
        want = plain.encode([f.dictionary_decode(), s.dictionary_decode()])
        assert np.array_equal(coded.encode([f, s]), want)


def test_tuples_seen_before_skip_the_row_by_row_path():
    coded = KeyEncoder([pa.string(), pa.int64()])
    first = coded.encode([_dict(["x", "y", "x"], ["x", "y"]), _dict([1, 2, 1], [1, 2])])
    calls = []
    run = coded._run
    coded._run = lambda keys, insert: calls.append(len(keys[0])) or run(keys, insert)
    # the same tuples, the dictionaries in another order, plus one new tuple
    again = coded.encode([_dict(["y", "x", "x", "z"], ["z", "y", "x"]),
                          _dict([2, 1, 1, 1], [2, 1])])
    assert again[:3].tolist() == [first[1], first[0], first[0]]
    assert again[3] not in first
    # the batch (4 rows), then of its 3 tuples only the new ("z", 1)
    assert calls == [4, 1]
