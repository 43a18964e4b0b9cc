"""HashAggregateExec: single, partial+final, against DuckDB on random data."""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import quiver.executor.operators  # noqa: F401
from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.planner.expr import Call, Column, Literal
from quiver.planner.functions_agg import resolve_aggregate
from quiver.planner.logical import Field
from quiver.planner.physical import HashAggregateExec, MemoryScanExec


@dataclass(frozen=True)
class AggSource(MemoryScanExec):
    """Test leaf: yields the given batches for each partition."""
    parts: Any = field(default=None, compare=False, hash=False)


@registry.implements(AggSource)
def _source(node, partition, ctx):
    yield from node.parts[partition]


def source(table: pa.Table, parts: int = 1, chunk: int = 37) -> AggSource:
    fields = tuple(Field(f.name, f.type) for f in table.schema)
    n = table.num_rows
    bounds = [n * i // parts for i in range(parts + 1)]
    pl = [table.slice(bounds[i], bounds[i + 1] - bounds[i]).to_batches(max_chunksize=chunk)
          for i in range(parts)]
    return AggSource("t", fields, (), parts, (), pl)


def collect(node, partitions=1, ctx=None) -> pa.Table:
    ctx = ctx or ExecContext(batch_size=50)
    batches = [b for p in range(partitions) for b in registry.execute(node, p, ctx)]
    for b in batches:
        assert b.num_rows <= ctx.batch_size
        assert b.schema.names == [f.name for f in node.schema]
        assert [f.type for f in b.schema] == [f.dtype for f in node.schema]
    schema = pa.schema([(f.name, f.dtype) for f in node.schema])
    return pa.Table.from_batches(batches, schema=schema)


def random_table(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)

    def nulls(p=0.1):
        return rng.random(n) < p

    cents = rng.integers(-10**9, 10**9, n)
    return pa.table({
        "k1": pa.array(rng.integers(0, 7, n), pa.int64(), mask=nulls(0.05)),
        "k2": pa.array(rng.choice(["a", "bb", "", "ccc", "dé"], n), pa.string(), mask=nulls(0.05)),
        "x": pa.array(rng.integers(-100, 100, n), pa.int32(), mask=nulls()),
        "f": pa.array(rng.normal(size=n), pa.float64(), mask=nulls()),
        "d": pa.array([decimal.Decimal(int(c)).scaleb(-2) for c in cents], pa.decimal128(15, 2),
                      mask=nulls()),
        "s": pa.array(rng.choice(["x", "yy", "zzz", "", "w"], n), pa.string(), mask=nulls()),
        "b": pa.array(rng.random(n) < 0.7, pa.bool_(), mask=nulls()),
        "dt": pa.array(rng.integers(0, 20000, n).astype(np.int32), pa.int32(),
                       mask=nulls()).cast(pa.date32()),
    })


def col(t: pa.Table, name: str) -> Column:
    return Column(name, t.schema.field(name).type)


def agg(name, t, arg=None, distinct=False, filter=None):
    args = [col(t, arg)] if isinstance(arg, str) else ([arg] if arg is not None else [])
    return resolve_aggregate(name, args, distinct, filter)


AGGS = [  # (output name, builder, duckdb sql)
    ("cnt_star", lambda t: agg("count", t), "count(*)"),
    ("cnt_x", lambda t: agg("count", t, "x"), "count(x)"),
    ("sum_x", lambda t: agg("sum", t, "x"), "sum(x)"),
    ("avg_x", lambda t: agg("avg", t, "x"), "avg(x)"),
    ("min_x", lambda t: agg("min", t, "x"), "min(x)"),
    ("max_x", lambda t: agg("max", t, "x"), "max(x)"),
    ("sum_d", lambda t: agg("sum", t, "d"), "sum(d)::DECIMAL(38,2)"),
    ("avg_d", lambda t: agg("avg", t, "d"), "avg(d)"),
    ("min_d", lambda t: agg("min", t, "d"), "min(d)"),
    ("max_d", lambda t: agg("max", t, "d"), "max(d)"),
    ("sum_f", lambda t: agg("sum", t, "f"), "sum(f)"),
    ("min_f", lambda t: agg("min", t, "f"), "min(f)"),
    ("min_s", lambda t: agg("min", t, "s"), "min(s)"),
    ("max_s", lambda t: agg("max", t, "s"), "max(s)"),
    ("band", lambda t: agg("bool_and", t, "b"), "bool_and(b)"),
    ("bor", lambda t: agg("bool_or", t, "b"), "bool_or(b)"),
    ("min_dt", lambda t: agg("min", t, "dt"), "min(dt)"),
    ("max_dt", lambda t: agg("max", t, "dt"), "max(dt)"),
    ("sd_s", lambda t: agg("stddev_samp", t, "f"), "stddev_samp(f)"),
    ("sd_p", lambda t: agg("stddev_pop", t, "f"), "stddev_pop(f)"),
    ("var_s", lambda t: agg("var_samp", t, "x"), "var_samp(x)"),
    ("var_p", lambda t: agg("var_pop", t, "d"), "var_pop(d)"),
    ("sum_x_pos", lambda t: agg("sum", t, "x", filter=Call("gt", (col(t, "f"), Literal(0.0, pa.float64())), pa.bool_())),
     "sum(x) FILTER (WHERE f > 0)"),
    ("cnt_b", lambda t: agg("count", t, filter=col(t, "b")), "count(*) FILTER (WHERE b)"),
    ("max_s_b", lambda t: agg("max", t, "s", filter=col(t, "b")), "max(s) FILTER (WHERE b)"),
]
DISTINCT_AGGS = [
    ("cd_x", lambda t: agg("count", t, "x", distinct=True), "count(DISTINCT x)"),
    ("sd_x", lambda t: agg("sum", t, "x", distinct=True), "sum(DISTINCT x)"),
    ("cd_s", lambda t: agg("count", t, "s", distinct=True), "count(DISTINCT s)"),
    ("avgd_d", lambda t: agg("avg", t, "d", distinct=True), "avg(DISTINCT d)"),
]


def duck(t: pa.Table, keys: list[str], aggs) -> pa.Table:
    sel = ", ".join(keys + [f"{sql} AS {name}" for name, _, sql in aggs])
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    return duckdb.sql(f"SELECT {sel} FROM t{group}").arrow()


def assert_same(got: pa.Table, want: pa.Table, keys: list[str]):
    if hasattr(want, "read_all"):
        want = want.read_all()
    assert got.num_rows == want.num_rows
    if keys:
        order = [(k, "ascending") for k in keys]
        got = got.sort_by(order)
        want = want.sort_by(order)
    for name in want.column_names:
        g, w = got.column(name).to_pylist(), want.column(name).to_pylist()
        for a, b in zip(g, w):
            if isinstance(b, float) and a is not None:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (name, a, b)
            else:
                assert a == b, (name, a, b)


def node_for(t, src, mode, keys, aggs, input_node=None):
    return HashAggregateExec(input_node or src, mode, tuple(col(t, k) for k in keys),
                             tuple(keys), tuple(a[1](t) for a in aggs),
                             tuple(a[0] for a in aggs))


def two_phase(t, keys, aggs, parts):
    src = source(t, parts)
    partial = node_for(t, src, "partial", keys, aggs)
    ctx = ExecContext(batch_size=50)
    states = [b for p in range(parts) for b in registry.execute(partial, p, ctx)]
    schema = pa.schema([(f.name, f.dtype) for f in partial.schema])
    state_table = pa.Table.from_batches(states, schema=schema)
    assert state_table.schema == schema
    final_src = source(state_table, 1, chunk=13)
    final = HashAggregateExec(final_src, "final", tuple(Column(k, t.schema.field(k).type) for k in keys),
                              tuple(keys), partial.aggs, partial.agg_names)
    return collect(final, 1, ctx)


@pytest.mark.parametrize("keys", [["k1"], ["k2"], ["k1", "k2"], []])
def test_single_matches_duckdb(keys):
    t = random_table(600)
    aggs = AGGS
    got = collect(node_for(t, source(t), "single", keys, aggs))
    assert_same(got, duck(t, keys, aggs), keys)


@pytest.mark.parametrize("keys", [["k1", "k2"], []])
def test_partial_then_final_equals_single(keys):
    t = random_table(700, seed=3)
    aggs = AGGS
    want = duck(t, keys, aggs)
    assert_same(two_phase(t, keys, aggs, parts=4), want, keys)


@pytest.mark.parametrize("keys", [["k1"], []])
def test_distinct_aggregates(keys):
    t = random_table(500, seed=5)
    got = collect(node_for(t, source(t), "single", keys, DISTINCT_AGGS))
    assert_same(got, duck(t, keys, DISTINCT_AGGS), keys)


def test_empty_input():
    t = random_table(0)
    aggs = AGGS
    got = collect(node_for(t, source(t), "single", [], aggs))
    assert got.num_rows == 1
    assert got.column("cnt_star").to_pylist() == [0] and got.column("cnt_x").to_pylist() == [0]
    assert got.column("sum_d").to_pylist() == [None] and got.column("avg_x").to_pylist() == [None]
    assert got.column("min_s").to_pylist() == [None]
    assert two_phase(t, [], aggs, parts=3).to_pylist() == got.to_pylist()
    grouped = collect(node_for(t, source(t), "single", ["k1"], aggs))
    assert grouped.num_rows == 0


def test_many_groups_and_batching():
    n = 30_000
    rng = np.random.default_rng(7)
    t = pa.table({"k": pa.array(rng.integers(0, 12_000, n)),
                  "s": pa.array(rng.integers(0, 12_000, n)).cast(pa.string()),
                  "x": pa.array(rng.integers(-5, 5, n), pa.int64())})
    aggs = [("c", lambda t: agg("count", t), "count(*)"),
            ("sx", lambda t: agg("sum", t, "x"), "sum(x)"),
            ("mx", lambda t: agg("max", t, "s"), "max(s)")]
    node = node_for(t, source(t, chunk=1000), "single", ["k"], aggs)
    got = collect(node, ctx=ExecContext(batch_size=4096))
    assert_same(got, duck(t, ["k"], aggs), ["k"])


def test_decimal_sum_exceeds_int64():
    big = decimal.Decimal("9999999999999999999.99")        # > 2**63 cents
    t = pa.table({"k": pa.array([1, 1, 1, 2, 2]),
                  "d": pa.array([big, big, big, -big, -big], pa.decimal128(21, 2))})
    aggs = [("s", lambda t: agg("sum", t, "d"), "sum(d)"),
            ("a", lambda t: agg("avg", t, "d"), "avg(d)")]
    got = collect(node_for(t, source(t, chunk=2), "single", ["k"], aggs)).sort_by("k")
    assert got.column("s").to_pylist() == [3 * big, -2 * big]
    assert got.column("s").type == pa.decimal128(38, 2)
    assert got.column("a").to_pylist() == pytest.approx([float(big), -float(big)])
    two = two_phase(t, ["k"], aggs, parts=2).sort_by("k")
    assert two.column("s").to_pylist() == [3 * big, -2 * big]


def test_first_any_value():
    t = pa.table({"k": pa.array([1, 1, 2, 2, 3]), "v": pa.array([None, "a", "b", "c", None])})
    aggs = [("f", lambda t: agg("first", t, "v"), "")]
    got = collect(node_for(t, source(t, chunk=1), "single", ["k"], aggs)).sort_by("k")
    assert got.column("f").to_pylist() == ["a", "b", None]


def test_string_agg_single_mode():
    t = pa.table({"k": pa.array([1, 2, 1, 1, 3]), "v": pa.array(["a", "x", None, "c", None])})
    a = resolve_aggregate("string_agg", [Column("v", pa.string()), Literal("-", pa.string())])
    node = HashAggregateExec(source(t, chunk=2), "single", (Column("k", pa.int64()),), ("k",),
                             (a,), ("sa",))
    got = collect(node).sort_by("k")
    assert got.column("sa").to_pylist() == ["a-c", "x", None]
