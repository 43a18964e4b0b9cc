"""LimitExec: offset/limit per partition, and early stop."""
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

from quiver.planner.physical import LimitExec


@pytest.mark.parametrize("limit,offset", [(None, 0), (0, 0), (5, 0), (7, 3), (100, 10),
                                          (3, 50), (None, 12), (1, 0), (14, 0)])
def test_limit_offset(limit, offset):
    t = pa.table({"x#1": list(range(40))})
    node = LimitExec(T.leaf(t, parts=2), limit, offset)
    for p in range(2):
        src = pa.Table.from_batches(node.input.parts[p])
        end = None if limit is None else offset + limit
        ref = src["x#1"].to_pylist()[offset:end]
        assert T.run(node, p)["x#1"].to_pylist() == ref


def test_limit_stops_pulling():
    t = pa.table({"x#1": list(range(70))})     # 10 batches of 7 rows
    src = T.leaf(t)
    assert T.run(LimitExec(src, 9, 0)).num_rows == 9
    assert src.pulled[0] == 2
    src0 = T.leaf(t)
    assert T.run(LimitExec(src0, 0, 0)).num_rows == 0
    assert src0.pulled[0] == 0
