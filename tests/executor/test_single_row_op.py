"""EnforceSingleRowExec: one row passes, two raise DataError, none gives NULLs."""
import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

import pyarrow as pa
import pytest

from quiver.errors import DataError
from quiver.planner.physical import EnforceSingleRowExec


def test_one_row_passes():
    t = pa.table({"x#1": [42], "s#2": ["a"]})
    assert T.run(EnforceSingleRowExec(T.leaf(t))).to_pylist() == [{"x#1": 42, "s#2": "a"}]


def test_one_row_among_empty_batches_and_partitions():
    empty = pa.record_batch({"x#1": pa.array([], pa.int64())})
    one = pa.record_batch({"x#1": pa.array([5], pa.int64())})
    node = EnforceSingleRowExec(T.leaf([[empty], [empty, one, empty]]))
    assert T.run(node).to_pylist() == [{"x#1": 5}]


def test_two_rows_raise():
    t = pa.table({"x#1": [1, 2]})
    with pytest.raises(DataError, match="more than one row"):
        T.run(EnforceSingleRowExec(T.leaf(t)))
    one = pa.record_batch({"x#1": [1]})
    with pytest.raises(DataError, match="more than one row"):
        T.run(EnforceSingleRowExec(T.leaf([[one], [one]])))


def test_empty_gives_null_row():
    empty = pa.record_batch({"x#1": pa.array([], pa.int64()), "s#2": pa.array([], pa.string())})
    got = T.run(EnforceSingleRowExec(T.leaf([[empty]])))
    assert got.to_pylist() == [{"x#1": None, "s#2": None}]
    assert got.schema == empty.schema
