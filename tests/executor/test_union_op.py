"""UnionExec: partitions of the inputs in order, renamed and cast to the first."""
import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

import pyarrow as pa

from quiver.planner.physical import UnionExec, partitions


def test_union_partitions_rename_and_cast():
    a = pa.table({"x#1": pa.array([1, 2, 3], pa.int64()), "s#2": ["a", "b", "c"]})
    b = pa.table({"y#7": pa.array([4, None], pa.int32()), "t#8": ["d", None]})
    node = UnionExec((T.leaf(a, parts=2), T.leaf(b, parts=1)))
    assert partitions(node) == 3
    outs = [T.run(node, p) for p in range(3)]
    for o in outs:
        assert o.schema == a.schema
    got = pa.concat_tables(outs)
    assert got["x#1"].to_pylist() == [1, 2, 3, 4, None]
    assert got["s#2"].to_pylist() == ["a", "b", "c", "d", None]
