"""A partial aggregate whose first 64K rows are almost all distinct groups
stops grouping and passes its rows on as state rows; the final phase groups
them. Answers are those of grouping everything."""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.executor.operators import aggregate as ag


@pytest.fixture
def passes(monkeypatch):
    calls = []
    real = ag._pass_through

    def counted(node, batches, ctx):
        calls.append(node)
        return real(node, batches, ctx)
    monkeypatch.setattr(ag, "_pass_through", counted)
    return calls


def _write(tmp_path, distinct: bool, n: int = 200_000):
    rng = np.random.default_rng(3)
    k = rng.permutation(n) if distinct else rng.integers(0, 50, n)
    k[::97] = k[0]                                   # a few repeated keys
    t = pa.table({
        "k": pa.array(k, pa.int64()),
        "s": pa.array([f"s{v % 1000}" for v in k]),
        "amt": pa.array([decimal.Decimal(int(v)) / 100 for v in rng.integers(0, 10**6, n)],
                        pa.decimal128(12, 2)),
        "q": pa.array(rng.integers(0, 100, n), pa.int64(), mask=rng.random(n) < 0.1),
    })
    pq.write_table(t, tmp_path / "t.parquet", row_group_size=50_000)
    return t


SQL = ("SELECT k, s, sum(amt), count(*), count(q), avg(q), min(q), max(q) "
       "FROM t GROUP BY k, s")


def _want(t):
    g = t.group_by(["k", "s"]).aggregate([("amt", "sum"), ("k", "count"), ("q", "count"),
                                          ("q", "mean"), ("q", "min"), ("q", "max")])
    cols = ["k", "s", "amt_sum", "k_count", "q_count", "q_mean", "q_min", "q_max"]
    return sorted(zip(*[g[c].to_pylist() for c in cols]), key=repr)


def _got(tmp_path, **options):
    con = quiver.connect(**options)
    try:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{tmp_path}'")
        return sorted(con.execute(SQL).fetchall(), key=repr)
    finally:
        con.close()


def _same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:5] == w[:5] and g[6:] == w[6:]
        assert (g[5] is None and w[5] is None) or abs(g[5] - w[5]) < 1e-9


@pytest.mark.parametrize("limit", [None, "256KB"])
def test_distinct_groups_pass_through_with_the_same_answer(tmp_path, passes, limit):
    t = _write(tmp_path, distinct=True)
    _same(_got(tmp_path, **({"memory_limit": limit} if limit else {})), _want(t))
    assert passes                                  # the partial phase stopped grouping


def test_few_groups_keep_grouping(tmp_path, passes):
    t = _write(tmp_path, distinct=False)
    _same(_got(tmp_path), _want(t))
    assert passes == []
