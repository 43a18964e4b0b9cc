"""HashAggregateExec over a tiny memory budget: state spilled to Arrow IPC
files by key hash and merged per file must give DuckDB's answer; partial
aggregates flush early instead; spill files are gone afterwards."""

from __future__ import annotations

import decimal
import math
import os

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import quiver.executor.operators  # noqa: F401
from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.executor.operators import aggregate_spill
from quiver.planner.expr import Column
from quiver.planner.functions_agg import resolve_aggregate
from quiver.planner.logical import Field
from quiver.planner.physical import HashAggregateExec, MemoryScanExec
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class _Src(MemoryScanExec):
    parts: Any = field(default=None, compare=False, hash=False)


@registry.implements(_Src)
def _src(node, partition, ctx):
    yield from node.parts[partition]


def _table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    nulls = lambda p: rng.random(n) < p  # noqa: E731
    cents = rng.integers(-10**9, 10**9, n)
    return pa.table({
        "k1": pa.array(rng.integers(0, 900, n), pa.int64(), mask=nulls(0.02)),
        "k2": pa.array(rng.choice(["a", "bb", "", "dé"], n), pa.string(), mask=nulls(0.02)),
        "x": pa.array(rng.integers(-100, 100, n), pa.int32(), mask=nulls(0.1)),
        "d": pa.array([decimal.Decimal(int(c)).scaleb(-2) for c in cents],
                      pa.decimal128(15, 2), mask=nulls(0.1)),
        "s": pa.array(rng.choice(["x", "yy", "zzz", "", "w"], n), pa.string(), mask=nulls(0.1)),
        "f": pa.array(rng.normal(size=n), pa.float64(), mask=nulls(0.1)),
    })


def _col(t, name):
    return Column(name, t.schema.field(name).type)


AGGS = [("cnt", "count", None, "count(*)"), ("sx", "sum", "x", "sum(x)"),
        ("ad", "avg", "d", "avg(d)"), ("sd", "sum", "d", "sum(d)::DECIMAL(38,2)"),
        ("mins", "min", "s", "min(s)"), ("maxd", "max", "d", "max(d)"),
        ("vf", "var_samp", "f", "var_samp(f)")]


def _node(t, mode, child):
    keys = (_col(t, "k1"), _col(t, "k2"))
    aggs = tuple(resolve_aggregate(fn, [_col(t, a)] if a else [], False, None)
                 for _, fn, a, _ in AGGS)
    return HashAggregateExec(child, mode, keys, ("k1", "k2"), aggs, tuple(a[0] for a in AGGS))


def _source(t, parts=1, chunk=97):
    fields = tuple(Field(f.name, f.type) for f in t.schema)
    n = t.num_rows
    b = [n * i // parts for i in range(parts + 1)]
    pl = [t.slice(b[i], b[i + 1] - b[i]).to_batches(max_chunksize=chunk) for i in range(parts)]
    return _Src("t", fields, (), parts, (), pl)


def _run(node, ctx, partitions=1) -> pa.Table:
    batches = [b for p in range(partitions) for b in registry.execute(node, p, ctx)]
    schema = pa.schema([(f.name, f.dtype) for f in node.schema])
    return pa.Table.from_batches(batches, schema=schema)


def _check(got: pa.Table, t: pa.Table):
    sel = ", ".join(f"{sql} AS {name}" for name, _, _, sql in AGGS)
    want = duckdb.sql(f"SELECT k1, k2, {sel} FROM t GROUP BY k1, k2").arrow()
    if hasattr(want, "read_all"):
        want = want.read_all()
    assert got.num_rows == want.num_rows
    order = [("k1", "ascending"), ("k2", "ascending")]
    got, want = got.sort_by(order), want.sort_by(order)
    for name in want.column_names:
        for a, b in zip(got.column(name).to_pylist(), want.column(name).to_pylist()):
            if isinstance(b, float) and a is not None:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (name, a, b)
            else:
                assert a == b, (name, a, b)


@pytest.fixture
def spills(monkeypatch):
    """Levels of the AggSpill objects made during a test."""
    made = []
    real = aggregate_spill.AggSpill.__init__

    def init(self, node, ctx, level, reservation):
        made.append(level)
        real(self, node, ctx, level, reservation)
    monkeypatch.setattr(aggregate_spill.AggSpill, "__init__", init)
    return made


def test_single_mode_spills_and_matches_duckdb(tmp_path, spills):
    t = _table(2000, 1)
    ctx = ExecContext(batch_size=256, memory_budget=40_000, spill_dir=str(tmp_path))
    got = _run(_node(t, "single", _source(t)), ctx)
    _check(got, t)
    assert 0 in spills                 # it did spill
    assert os.listdir(tmp_path) == []  # and cleaned up


def test_merge_spills_again_one_level_down(tmp_path, spills):
    t = _table(2500, 2)
    ctx = ExecContext(batch_size=256, memory_budget=3_000, spill_dir=str(tmp_path))
    _check(_run(_node(t, "single", _source(t)), ctx), t)
    assert max(spills) >= 1
    assert os.listdir(tmp_path) == []


def test_partial_flushes_early_then_final_spills(tmp_path, spills):
    t = _table(2000, 3)
    src = _source(t, parts=2)
    partial = _node(t, "partial", src)
    ctx = ExecContext(batch_size=256, memory_budget=20_000, spill_dir=str(tmp_path))
    states = _run(partial, ctx, partitions=2)
    groups = len(set(zip(t.column("k1").to_pylist(), t.column("k2").to_pylist())))
    assert states.num_rows > groups        # early flushes repeat groups
    keys = tuple(Column(n, f.dtype) for n, f in zip(("k1", "k2"), partial.schema[:2]))
    state_src = _Src("s", tuple(partial.schema), (), 1, (), [states.to_batches(max_chunksize=300)])
    final = HashAggregateExec(state_src, "final", keys, ("k1", "k2"), partial.aggs,
                              partial.agg_names)
    _check(_run(final, ctx), t)
    assert spills and os.listdir(tmp_path) == []


def test_no_spill_with_the_default_budget(spills):
    t = _table(3000, 4)
    _check(_run(_node(t, "single", _source(t)), ExecContext(batch_size=256)), t)
    assert spills == []
