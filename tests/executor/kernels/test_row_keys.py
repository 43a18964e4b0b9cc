"""Keys of several columns with strings are one byte string per row: ids
equal those of a reference dictionary of value tuples (NULLs as values in
GROUP BY, -1 in joins), and strings that only concatenate alike stay apart."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor.kernels.key_encoder import KeyEncoder
from quiver.executor.kernels.row_keys import row_key_parts, wants_row_keys


def _norm(v):
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return 0.0 if v == 0 else v
    return v


def _reference_ids(rows, nulls_equal=True):
    seen, out = {}, []
    for r in rows:
        if not nulls_equal and any(v is None for v in r):
            out.append(-1)
            continue
        key = tuple(_norm(v) for v in r)
        out.append(seen.setdefault(key, len(seen)))
    return out


def test_row_keys_only_for_several_columns_with_strings():
    assert wants_row_keys([pa.string(), pa.int64()])
    assert wants_row_keys([pa.int32(), pa.dictionary(pa.int32(), pa.string())])
    assert not wants_row_keys([pa.string()])
    assert not wants_row_keys([pa.int64(), pa.float64()])


def test_concatenations_that_look_alike_are_different_keys():
    a = pa.array(["ab", "a", "", None, "", "x\x00", "x"] * 10)
    b = pa.array(["c", "bc", None, "", "", "", "\x00"] * 10)
    enc = KeyEncoder([pa.string(), pa.string()])
    enc._decide([pa.array([f"s{i}" for i in range(1000)]), pa.array(["x"] * 1000)])
    assert enc._rows is not None
    assert enc.encode([a, b]).tolist() == list(range(7)) * 10
    assert enc.encode([a, b]).tolist() == list(range(7)) * 10


def test_row_keys_are_chosen_for_mostly_distinct_strings():
    many = pa.array([f"customer {i}" for i in range(1000)])
    few = pa.array([f"brand {i % 20}" for i in range(1000)])   # 2% distinct
    ints = pa.array(range(1000))
    for arrays, rows_mode in (([ints, many], True), ([few, ints], False),
                              ([few.dictionary_encode(), ints], False),
                              ([ints.slice(0, 10), many.slice(0, 10)], False)):
        enc = KeyEncoder([pa.int64() if a.type == pa.int64() else pa.string()
                          for a in arrays])
        enc.encode(arrays)
        assert (enc._rows is not None) == rows_mode
        assert enc.num_keys == len(set(zip(*(a.to_pylist() for a in arrays))))


@pytest.mark.parametrize("rows_mode", [True, False])
@pytest.mark.parametrize("nulls_equal", [True, False])
def test_mixed_types_match_a_reference(nulls_equal, rows_mode, monkeypatch):
    import quiver.executor.kernels.key_encoder as ke
    monkeypatch.setattr(ke, "_ROW_KEY_DISTINCT", 0.0 if rows_mode else 2.0)
    rng = np.random.default_rng(11)
    types = [pa.string(), pa.int64(), pa.float64(), pa.decimal128(25, 3),
             pa.decimal128(12, 2), pa.binary(), pa.date32()]
    enc = KeyEncoder(types, null_equals_null=nulls_equal)
    pool = {
        0: ["", "a", "bb", "a-much-longer-string-value", None],
        1: [0, -1, 2**40, None],
        2: [0.0, -0.0, float("nan"), 1.5, None],
        3: [Decimal("1.000"), Decimal("-123456789012345678.125"), None],
        4: [Decimal("0.00"), Decimal("-1.50"), None],
        5: [b"", b"\x00", b"\x00\x00", None],
        6: [None, 0, 18000],
    }
    all_rows, got = [], []
    for _ in range(4):
        n = 300
        cols = [[pool[c][i] for i in rng.integers(0, len(pool[c]), n)] for c in range(7)]
        arrays = [pa.array(cols[c], t) for c, t in enumerate(types)]
        arrays[0] = arrays[0].dictionary_encode() if _ % 2 else arrays[0]
        rows = list(zip(*cols))
        all_rows += rows
        got += enc.encode(arrays).tolist()
        assert (enc._rows is not None) == rows_mode
        lookup = enc.lookup(arrays).tolist()
        assert lookup == got[-n:]
    want = _reference_ids(all_rows, nulls_equal)
    assert got == want
    assert enc.num_keys == len({w for w in want if w >= 0})
    unseen = [pa.array(["zzz"]), pa.array([5]), pa.array([2.0]),
              pa.array([Decimal("9.000")], types[3]), pa.array([Decimal("9.00")], types[4]),
              pa.array([b"q"]), pa.array([1], pa.date32())]
    assert enc.lookup(unseen).tolist() == [-1]


def test_parts_layout():
    offsets, data, valid = row_key_parts([pa.array(["ab", None]), pa.array([7, 8], pa.int64())])
    assert offsets.tolist() == [0, 16, 30]
    assert bytes(data[:16]) == b"\x01\x02\x00\x00\x00ab" + b"\x01" + (7).to_bytes(8, "little")
    assert valid.tolist() == [True, False]
