"""ProjectExec: names, values, and zero-expression projections."""
import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

import pyarrow as pa
import pyarrow.compute as pc

from quiver import datatypes as dt
from quiver.planner.expr import Call, Literal
from quiver.planner.physical import ProjectExec


def test_project_expressions_and_names():
    t = pa.table({"a#1": pa.array([1, 2, None, 4], pa.int64()), "b#2": ["w", "x", "y", "z"]})
    e = Call("add", (T.col("a#1", t), Literal(10, dt.INT64)), dt.INT64)
    node = ProjectExec(T.leaf(t), (T.col("b#2", t), e), ("b#9", "e#10"))
    got = T.run(node)
    assert got.schema.names == ["b#9", "e#10"]
    assert got["b#9"].to_pylist() == ["w", "x", "y", "z"]
    assert got["e#10"].equals(pc.add(t["a#1"], 10))


def test_project_nothing_keeps_row_count():
    t = pa.table({"a#1": list(range(20))})
    node = ProjectExec(T.leaf(t), (), ())
    got = list(T.registry.execute(node, 0, T.ExecContext()))
    assert sum(b.num_rows for b in got) == 20
    assert all(b.num_columns == 0 for b in got)
