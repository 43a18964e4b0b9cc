"""FilterExec against a pyarrow reference."""
import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quiver import datatypes as dt
from quiver.planner.expr import Call, Literal
from quiver.planner.physical import FilterExec


def _data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, n)
    mask = rng.random(n) < 0.2
    return pa.table({"x#1": pa.array(x, mask=mask), "s#2": pa.array([f"v{i}" for i in range(n)])})


def test_filter_matches_reference_and_drops_empty_batches():
    t = _data()
    pred = Call("gt", (T.col("x#1", t), Literal(6, dt.INT64)), dt.BOOL)
    node = FilterExec(T.leaf(t, parts=2), pred)
    for p in range(2):
        got = list(T.registry.execute(node, p, T.ExecContext()))
        assert all(b.num_rows > 0 for b in got)
        src = T.leaf(t, parts=2).parts[p]
        ref = pa.Table.from_batches(src)
        ref = ref.filter(pc.fill_null(pc.greater(ref["x#1"], 6), False))
        assert pa.Table.from_batches(got).equals(ref) if got else ref.num_rows == 0


def test_filter_nothing_passes():
    t = _data()
    node = FilterExec(T.leaf(t), Literal(False, dt.BOOL))
    assert list(T.registry.execute(node, 0, T.ExecContext())) == []
