"""LimitExec: offset/limit per partition, and early stop."""
import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

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
