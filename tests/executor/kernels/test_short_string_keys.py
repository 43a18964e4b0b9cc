"""String keys of at most 7 bytes go through packed int64 words
(short_strings.py); the ids must be exactly those of the byte-string path:
dense, in order of first appearance, across batches of only short strings,
of mixed lengths, with NULLs as a key or not, and lookups of strings first
seen in a batch of either kind."""

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from quiver.executor.kernels import short_strings as ss
from quiver.executor.kernels.key_encoder import KeyEncoder

short = st.one_of(st.none(), st.sampled_from(["", "a", "b", "ab", "R", "N", "1234567", "é"]))
mixed = st.one_of(short, st.sampled_from(["12345678", "a much longer string"]))


def _reference(batches, null_equals_null):
    seen, out = {}, []
    for values in batches:
        ids = []
        for v in values:
            if v is None and not null_equals_null:
                ids.append(-1)
            else:
                ids.append(seen.setdefault(v, len(seen)))
        out.append(ids)
    return out, seen


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.lists(short, max_size=30), st.lists(mixed, max_size=30)),
                min_size=1, max_size=6),
       st.lists(mixed, max_size=30), st.booleans(), st.sampled_from([pa.string(), pa.binary()]))
def test_ids_match_the_byte_string_path(batches, probe, null_equals_null, typ):
    def arr(values):
        if typ == pa.binary():
            values = [None if v is None else v.encode() for v in values]
        return pa.array(values, typ)
    enc = KeyEncoder([typ], null_equals_null)
    expected, seen = _reference(batches, null_equals_null)
    for values, exp in zip(batches, expected):
        assert enc.encode([arr(values)]).tolist() == exp
    assert enc.num_keys == len(seen)
    for values, exp in zip(batches, expected):
        assert enc.lookup([arr(values)]).tolist() == exp
    want = [-1 if (v is None and not null_equals_null) else seen.get(v, -1) for v in probe]
    assert enc.lookup([arr(probe)]).tolist() == want


def test_two_short_columns_combine():
    a = pa.array(["R", "A", "N", "R", None] * 1000)
    b = pa.array(["F", "F", "O", "F", "O"] * 1000)
    ids = KeyEncoder([pa.string(), pa.string()]).encode([a, b])
    assert ids[:5].tolist() == [0, 1, 2, 0, 3] and ids.max() == 3


def test_words_are_distinct_per_string_and_null_has_its_own():
    values = ["", "a", "a\x00", "\x00", "ab", "ba", "1234567", None]
    arr = pa.array(values)
    from quiver.executor.kernels.arrow_buffers import string_parts, validity
    words = ss.pack(*string_parts(arr), validity(arr))
    assert len(set(words.tolist())) == len(values)
    assert words[-1] == ss.NULL_WORD
