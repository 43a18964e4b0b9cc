"""SortExec against DuckDB: multiple keys, per-key direction and NULLS
placement, strings in byte order, NaN, stability, top-N (fetch)."""
import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

import duckdb  # noqa: E402  (test-only oracle)
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

from quiver.executor.context import ExecContext  # noqa: E402
from quiver import datatypes as dt  # noqa: E402
from quiver.planner.expr import Call, Literal, SortKey  # noqa: E402
from quiver.planner.physical import SortExec  # noqa: E402

WORDS = ["a", "B", "b", "é", "Z", "ab", "", "zz", "É", "ä"]


def _data(n, seed):
    rng = np.random.default_rng(seed)
    f = rng.integers(-3, 3, n).astype(float)
    f[rng.random(n) < 0.1] = np.nan
    return pa.table({
        "i": pa.array(rng.integers(0, 4, n), mask=rng.random(n) < 0.2),
        "s": pa.array(rng.choice(WORDS, n), mask=rng.random(n) < 0.2),
        "f": pa.array(f, mask=rng.random(n) < 0.15),
        "rid": np.arange(n),
    })


def _sql_key(name, k):
    return f"{name} {'ASC' if k.ascending else 'DESC'} NULLS {'FIRST' if k.nulls_first else 'LAST'}"


def _duck_order(t, names, keys):
    order = ", ".join(_sql_key(n, k) for n, k in zip(names, keys))
    con = duckdb.connect()
    con.register("t", t)
    return con.execute(f"SELECT rid FROM t ORDER BY {order}, rid").fetchnumpy()["rid"].tolist()


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("fetch", [None, 1, 5, 37, 10_000])
def test_sort_matches_duckdb(seed, fetch):
    t = _data(150, seed)
    rng = np.random.default_rng(1000 + seed)
    names = [str(x) for x in rng.permutation(["i", "s", "f"])[: rng.integers(1, 4)]]
    keys = tuple(SortKey(T.col(n, t), bool(rng.integers(2)), bool(rng.integers(2))) for n in names)
    node = SortExec(T.leaf(t), keys, fetch)
    got = T.run(node, ctx=ExecContext(batch_size=64))["rid"].to_pylist()
    ref = _duck_order(t, names, keys)
    assert got == (ref if fetch is None else ref[:fetch])


def test_sort_by_expression_and_multiple_batches_out():
    t = _data(300, 7)
    e = Call("neg", (T.col("rid", t),), dt.INT64)
    node = SortExec(T.leaf(t), (SortKey(e, True),), None)
    got = list(T.registry.execute(node, 0, ExecContext(batch_size=100)))
    assert [b.num_rows for b in got] == [100, 100, 100]
    assert pa.Table.from_batches(got)["rid"].to_pylist() == list(range(299, -1, -1))


def test_sort_constant_and_null_keys_are_stable():
    t = _data(50, 3)
    node = SortExec(T.leaf(t), (SortKey(Literal(None, dt.NULL)), SortKey(Literal(1, dt.INT32))), 20)
    assert T.run(node)["rid"].to_pylist() == list(range(20))


def test_fetch_zero_and_empty_input():
    t = _data(30, 1)
    assert T.run(SortExec(T.leaf(t), (SortKey(T.col("i", t)),), 0)).num_rows == 0
    empty = t.slice(0, 0)
    assert T.run(SortExec(T.leaf([[empty.to_batches()[0] if empty.to_batches() else
                                    pa.RecordBatch.from_pylist([], schema=t.schema)]]),
                          (SortKey(T.col("i", t)),))).num_rows == 0
