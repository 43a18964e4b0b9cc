"""join_kept: the kept rows of several batches, against Arrow's filter + concat."""
import datetime
import decimal

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor import kept_rows
from quiver.executor.kernels.row_gather import gather_kept


def _batch(n, seed, dictionary):
    rng = np.random.default_rng(seed)
    ints = rng.integers(-10**12, 10**12, n)
    return pa.RecordBatch.from_arrays([
        pa.array([decimal.Decimal(int(v)).scaleb(-2) for v in ints], pa.decimal128(15, 2)),
        pa.array(ints),
        pa.array(ints.astype(np.int32)),
        pa.array(ints / 7.0),
        pa.array(rng.integers(0, 20000, n).astype(np.int32)).cast(pa.date32()),
        pa.array(ints, pa.timestamp("us")),
        pa.array([f"s{v % 13}" for v in ints]),
        pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, len(dictionary), n), pa.int32()),
                                       pa.array(dictionary)),
        pa.array(ints % 3 == 0),
        pa.array(ints % 5, mask=ints % 4 == 0),
    ], names=["dec", "i64", "i32", "f64", "day", "ts", "s", "dict", "flag", "nullable"])


def _parts(sizes, dense):
    parts = []
    for k, n in enumerate(sizes):
        batch = _batch(n + 3, k, ("x", "y", "z") if k % 2 else ("z", "x"))
        batch = batch.slice(3)                       # a non-zero offset
        rng = np.random.default_rng(100 + k)
        keep = rng.random(n) < (0.97 if dense else 0.3)
        parts.append((batch, None if k == 1 else pa.array(keep)))
    return parts


def _reference(parts):
    filtered = [b if m is None else b.filter(m) for b, m in parts]
    return pa.Table.from_batches(filtered).combine_chunks()


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("kernel", [True, False])
def test_same_rows_as_filter_then_concat(dense, kernel, monkeypatch):
    monkeypatch.setattr(kept_rows, "KERNEL_MIN_ROWS", 0 if kernel else 10**9)
    parts = _parts([500, 300, 700], dense)
    got = kept_rows.join_kept(parts)
    ref = _reference(parts)
    assert got.schema == parts[0][0].schema
    assert got.num_rows == sum(kept_rows.kept_count(p) for p in parts) == ref.num_rows
    for name in got.schema.names:
        assert got.column(name).to_pylist() == ref.column(name).to_pylist(), name


def test_one_part_kept_whole_is_returned_as_is():
    batch = _batch(10, 0, ("a",))
    assert kept_rows.join_kept([(batch, None)]) is batch


def test_gather_writes_kept_rows_in_order_and_only_the_spare_past_them():
    values = np.arange(10, dtype=np.int64)
    keep = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0], dtype=np.uint8)
    out = np.full(5, -1, dtype=np.int64)
    assert gather_kept(values, keep, out, 0) == 4
    assert out[:4].tolist() == [0, 2, 3, 6]
    pairs = np.arange(8, dtype=np.int64).reshape(4, 2)
    out2 = np.zeros((4, 2), dtype=np.int64)
    assert gather_kept(pairs, np.array([0, 1, 0, 1], dtype=np.uint8), out2, 1) == 3
    assert out2[1:3].tolist() == [[2, 3], [6, 7]]
    none = np.zeros(1, dtype=np.int64)
    assert gather_kept(values, np.zeros(10, dtype=np.uint8), none, 0) == 0
