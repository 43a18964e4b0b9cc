"""EnforceSingleRowExec: one row passes, two raise DataError, none gives NULLs."""
import importlib.util
import pathlib
import sys


def _load_testlib():
    name = "_ops_testlib"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, pathlib.Path(__file__).with_name("_ops_testlib.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


T = _load_testlib()
T.ensure_eval()

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
