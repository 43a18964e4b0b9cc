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
