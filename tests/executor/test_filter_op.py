"""FilterExec against a pyarrow reference."""
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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quiver.planner import datatypes as dt
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
