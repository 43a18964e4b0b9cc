"""sample_scan_filters: a scan's guessed conjuncts measured on a sample."""

import dataclasses

import pyarrow as pa
import pytest

from quiver import datatypes as dt
from quiver.executor.eval import evaluate
from quiver.planner import expr as E
from quiver.planner import logical as L
from quiver.planner.optimizer import OptimizerContext
from quiver.planner.optimizer.reorder_joins import reorder_joins
from quiver.planner.optimizer.sample_scan_filters import sample_scan_filters
from quiver.planner.statistics import EQ_SELECTIVITY, estimate_rows
from quiver.planner.tree import walk
from quiver.storage.memory import MemoryTable

CTX = OptimizerContext(evaluate=evaluate)


def _scan(name, table, filters=()):
    source = MemoryTable(name, table)
    fields = tuple(L.Field(f"{c}#{name}", dt.normalize(t))
                   for c, t in zip(table.schema.names, table.schema.types))
    return L.Scan(name, source, fields, tuple(table.schema.names), tuple(filters))


def _col(scan, short):
    f = next(f for f in scan.fields if f.name.split("#")[0] == short)
    return E.Column(f.name, f.dtype, f.nullable)


def _eq(a, value, t=dt.STRING):
    return E.Call("eq", (a, E.Literal(value, t)), dt.BOOL)


def _parts(n=15_000):
    # one type in 150, as TPC-H's p_type
    return pa.table({"p_partkey": pa.array(range(n), pa.int64()),
                     "p_type": pa.array([f"type{k % 150}" for k in range(n)])})


def test_string_equality_keeps_its_sampled_share():
    scan = _scan("part", _parts())
    scan = dataclasses.replace(scan, filters=(_eq(_col(scan, "p_type"), "type7"),))
    assert estimate_rows(scan) == pytest.approx(15_000 * EQ_SELECTIVITY)
    out = sample_scan_filters(scan, CTX)
    assert out.filter_sample is not None
    assert out.filter_sample[1] == pytest.approx(1 / 150, rel=0.3)
    assert estimate_rows(out) == pytest.approx(100, rel=0.3)
    assert sample_scan_filters(out, CTX) is out          # sampled once


def test_no_evaluator_no_sample():
    scan = _scan("part", _parts())
    scan = dataclasses.replace(scan, filters=(_eq(_col(scan, "p_type"), "type7"),))
    assert sample_scan_filters(scan, OptimizerContext()) is scan


def test_sample_for_other_conjuncts_is_ignored():
    scan = _scan("part", _parts())
    one = _eq(_col(scan, "p_type"), "type7")
    sampled = sample_scan_filters(dataclasses.replace(scan, filters=(one,)), CTX)
    # a later rule pushes one more conjunct: the old share no longer applies
    two = E.Call("gt", (_col(scan, "p_partkey"), E.Literal(5, dt.INT64)), dt.BOOL)
    stale = dataclasses.replace(sampled, filters=(one, two))
    assert estimate_rows(stale) == pytest.approx(15_000 * EQ_SELECTIVITY * 0.3)
    again = sample_scan_filters(stale, CTX)
    assert again.filter_sample[0] == (one, two)
    assert estimate_rows(again) == pytest.approx(100, rel=0.3)


def test_nothing_matched_counts_as_half_a_row():
    scan = _scan("part", _parts(1000))
    out = sample_scan_filters(
        dataclasses.replace(scan, filters=(_eq(_col(scan, "p_type"), "absent"),)), CTX)
    assert out.filter_sample[1] == pytest.approx(0.5 / 1000)


def test_conjuncts_are_measured_together_not_multiplied():
    scan = _scan("part", _parts())
    a = _eq(_col(scan, "p_type"), "type7")
    b = E.Call("ne", (_col(scan, "p_type"), E.Literal("type8", dt.STRING)), dt.BOOL)
    out = sample_scan_filters(dataclasses.replace(scan, filters=(a, b)), CTX)
    assert out.filter_sample[1] == pytest.approx(1 / 150, rel=0.3)


def test_volatile_and_failing_filters_keep_the_guess():
    scan = _scan("part", _parts())
    rnd = E.Call("lt", (E.Call("random", (), dt.FLOAT64), E.Literal(0.5, dt.FLOAT64)), dt.BOOL)
    mixed = E.Call("and", (_eq(_col(scan, "p_type"), "type7"), rnd), dt.BOOL)
    assert sample_scan_filters(dataclasses.replace(scan, filters=(mixed,)), CTX).filter_sample is None
    bad = E.Call("eq", (E.Cast(_col(scan, "p_type"), dt.INT64), E.Literal(1, dt.INT64)), dt.BOOL)
    assert sample_scan_filters(dataclasses.replace(scan, filters=(bad,)), CTX).filter_sample is None


def test_sampled_shares_order_joins():
    """A fact table joined to a dimension whose string filter keeps 1 in 150
    and to one whose filter keeps half: with the fixed guesses (0.1 each) the
    smaller table looks more selective and joins first; sampled, the
    selective dimension does."""
    fact = _scan("fact", pa.table({"f_part": pa.array(range(150_000), pa.int64()),
                                   "f_store": pa.array([k % 500 for k in range(150_000)],
                                                       pa.int64())}))
    part = _scan("part", _parts())
    stores = _scan("store", pa.table({"s_id": pa.array(range(500), pa.int64()),
                                      "s_kind": pa.array(["a", "b"] * 250)}))
    part = dataclasses.replace(part, filters=(_eq(_col(part, "p_type"), "type7"),))
    stores = dataclasses.replace(stores, filters=(_eq(_col(stores, "s_kind"), "a"),))
    cond = E.Call("and", (
        E.Call("eq", (_col(fact, "f_part"), _col(part, "p_partkey")), dt.BOOL),
        E.Call("eq", (_col(fact, "f_store"), _col(stores, "s_id")), dt.BOOL)), dt.BOOL)
    plan = L.Join(L.Join(fact, stores, "inner", None), part, "inner", cond)

    def first_joined(p):
        joins = [j for j in walk(p) if isinstance(j, L.Join)]
        return joins[-1].right.table

    assert first_joined(reorder_joins(plan, CTX)) == "store"
    sampled = sample_scan_filters(plan, CTX)
    assert first_joined(reorder_joins(sampled, CTX)) == "part"


def test_one_measurement_per_filter_of_a_table(monkeypatch):
    """The same filter under other column names (a second scan of the
    table, an optimizer-made name) reuses the share measured first."""
    import importlib
    rule = importlib.import_module("quiver.planner.optimizer.sample_scan_filters")
    calls = []
    measure = rule._measure
    monkeypatch.setattr(rule, "_measure", lambda *a: calls.append(a) or measure(*a))
    table = _parts()
    source = MemoryTable("part", table)
    shares = []
    for tag in ("a", "b$opt3"):
        fields = tuple(L.Field(f"{c}#{tag}", dt.normalize(t))
                       for c, t in zip(table.schema.names, table.schema.types))
        scan = L.Scan("part", source, fields, tuple(table.schema.names))
        scan = dataclasses.replace(scan, filters=(_eq(_col(scan, "p_type"), "type7"),))
        shares.append(sample_scan_filters(scan, CTX).filter_sample[1])
    assert len(calls) == 1 and shares[0] == shares[1]
