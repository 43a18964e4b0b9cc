"""take_rows gives what Arrow's checked take gives, for in-range indices."""
import decimal

import numpy as np
import pyarrow as pa

from quiver.executor.row_take import take_rows


def _batch():
    return pa.RecordBatch.from_arrays([
        pa.array([1, None, 3, 4, 5]),
        pa.array([decimal.Decimal("1.50"), None, decimal.Decimal("-2.25"),
                  decimal.Decimal("0.01"), decimal.Decimal("9.99")], pa.decimal128(15, 2)),
        pa.array(["a", "bb", None, "dddd", ""]),
    ], names=["i", "d", "s"])


def test_batch_table_and_array_at_numpy_and_arrow_indices():
    batch = _batch()
    for idx in (np.array([4, 0, 0, 2, 1], dtype=np.int64), np.array([], dtype=np.int64),
                pa.array([3, 3, 1], pa.int32())):
        assert take_rows(batch, idx).equals(batch.take(idx))
        table = pa.Table.from_batches([batch.slice(0, 2), batch.slice(2)])
        assert take_rows(table, idx).equals(table.take(idx))
        assert take_rows(batch.column(2), idx).equals(batch.column(2).take(idx))


def test_sliced_input():
    batch = _batch().slice(1, 3)
    idx = np.array([2, 1, 0], dtype=np.int64)
    assert take_rows(batch, idx).to_pydict() == batch.take(idx).to_pydict()
