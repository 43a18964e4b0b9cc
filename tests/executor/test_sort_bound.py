"""The top-N bound (executor/operators/sort_bound.py): which rows of a batch
can still enter a full top-N. Checked against the sort itself: a row the
bound drops never sorts before or ties with the bound, for every type, both
directions and both NULL placements; and top-N over many batches (where the
bound drops whole batches) against DuckDB."""
import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

import datetime
import decimal

import duckdb  # noqa: E402  (test-only oracle)
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

from quiver.executor.context import ExecContext  # noqa: E402
from quiver.executor.kernels.sort_order import sort_indices  # noqa: E402
from quiver.executor.operators.sort_bound import may_enter  # noqa: E402
from quiver.planner.expr import SortKey  # noqa: E402
from quiver.planner.physical import SortExec  # noqa: E402

VALUES = {
    "int": pa.array([5, None, -2, 7, 5, 0, None, 3], pa.int64()),
    "float": pa.array([1.5, float("nan"), None, -0.0, 0.0, -3.0, float("nan"), 2.0]),
    "string": pa.array(["b", "é", None, "B", "", "ab", "b", "zz"]),
    "decimal": pa.array([decimal.Decimal("1.10"), None, decimal.Decimal("-2.00"),
                         decimal.Decimal("1.10"), decimal.Decimal("9.99")], pa.decimal128(5, 2)),
    "date": pa.array([datetime.date(2020, 1, 2), None, datetime.date(1999, 5, 1),
                      datetime.date(2020, 1, 2)], pa.date32()),
    "bool": pa.array([True, None, False, True]),
}
KEYS = [SortKey(None, asc, nf) for asc in (True, False) for nf in (True, False)]


def _rank(values, key):
    """Each row's position in the sorted order (ties: equal positions)."""
    order = sort_indices([values], [key])
    pos = np.empty(len(values), np.int64)
    pos[order] = np.arange(len(values))
    return pos


@pytest.mark.parametrize("kind", sorted(VALUES))
@pytest.mark.parametrize("key", KEYS, ids=lambda k: f"asc{k.ascending}-nf{k.nulls_first}")
def test_dropped_rows_sort_after_the_bound(kind, key):
    values = VALUES[kind]
    for b in range(len(values)):
        bound = values[b]
        mask = may_enter(values, bound, key)
        if mask is None:
            assert not bound.is_valid or (pa.types.is_floating(values.type)
                                          and bound.as_py() != bound.as_py())
            continue
        assert mask.null_count == 0
        both = pa.concat_arrays([values, pa.array([bound.as_py()], values.type)])
        pos = _rank(both, key)
        last = len(values)             # the bound placed after every row: ties sort first
        for i, keep in enumerate(mask.to_pylist()):
            before_or_tie = pos[i] < pos[last]
            assert keep == before_or_tie, (kind, b, i)


def test_no_comparison_keeps_all():
    d = pa.array(["x", "y"]).dictionary_encode()
    assert may_enter(d, pa.scalar("x"), SortKey(None)) is None
    lists = pa.array([[1], [2]])
    assert may_enter(lists, lists[0], SortKey(None)) is None


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fetch", [1, 3, 25])
def test_top_n_over_many_batches_matches_duckdb(seed, fetch):
    rng = np.random.default_rng(seed)
    n = 3000
    f = rng.normal(size=n).round(1)
    f[rng.random(n) < 0.05] = np.nan
    t = pa.table({
        "i": pa.array(rng.integers(0, 50, n), mask=rng.random(n) < 0.1),
        "f": pa.array(f, mask=rng.random(n) < 0.1),
        "s": pa.array(rng.choice(["a", "b", "c", "é"], n)),
        "rid": np.arange(n),
    })
    names = [str(x) for x in rng.permutation(["i", "f", "s"])[: rng.integers(1, 4)]]
    keys = tuple(SortKey(T.col(c, t), bool(rng.integers(2)), bool(rng.integers(2))) for c in names)
    got = T.run(SortExec(T.leaf(t), keys, fetch), ctx=ExecContext(batch_size=100))
    order = ", ".join(f"{c} {'ASC' if k.ascending else 'DESC'} NULLS {'FIRST' if k.nulls_first else 'LAST'}"
                      for c, k in zip(names, keys))
    con = duckdb.connect()
    con.register("t", t)
    ref = con.execute(f"SELECT rid FROM t ORDER BY {order}, rid LIMIT {fetch}").fetchnumpy()["rid"]
    assert got["rid"].to_pylist() == ref.tolist()
