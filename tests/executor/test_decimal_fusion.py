"""executor/decimal_fusion.py: DECIMAL +, -, * trees in int64, checked
against Python's decimal arithmetic and against node-by-node evaluation."""

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

import quiver.executor.eval as ev
from quiver.executor.decimal_fusion import fused_decimal, is_fusable
from quiver.planner.expr import Call, Column, Literal


def _dec(p, s):
    return pa.decimal128(p, s)


def _batch(n=1000, seed=1, nulls=True):
    rng = np.random.default_rng(seed)
    price = [Decimal(int(x)).scaleb(-2) for x in rng.integers(-10**9, 10**9, n)]
    disc = [Decimal(int(x)).scaleb(-2) for x in rng.integers(0, 11, n)]
    tax = [Decimal(int(x)).scaleb(-2) for x in rng.integers(0, 9, n)]
    if nulls:
        for i in range(0, n, 7):
            price[i] = None
        for i in range(3, n, 11):
            tax[i] = None
    return pa.RecordBatch.from_arrays(
        [pa.array(price, _dec(15, 2)), pa.array(disc, _dec(15, 2)), pa.array(tax, _dec(15, 2))],
        names=["p", "d", "t"])


P, D, T = (Column(n, _dec(15, 2)) for n in "pdt")
ONE = Literal(Decimal(1), _dec(15, 2))


def _revenue():
    # p * (1 - d) * (1 + t), typed as the binder types it
    disc = Call("mul", (P, Call("sub", (ONE, D), _dec(16, 2))), _dec(31, 4))
    return disc, Call("mul", (disc, Call("add", (ONE, T), _dec(16, 2))), _dec(38, 6))


def _reference(batch):
    out = []
    for p, d, t in zip(*(batch.column(i).to_pylist() for i in range(3))):
        out.append(None if p is None or t is None else p * (1 - d) * (1 + t))
    return out


def test_revenue_matches_python_decimals():
    batch = _batch()
    disc, full = _revenue()
    assert is_fusable(full) and is_fusable(disc)
    got = fused_decimal(full, batch, ev._eval, None)
    assert got is not None and got.type == _dec(38, 6)
    assert got.to_pylist() == _reference(batch)
    assert got.null_count == sum(v is None for v in _reference(batch))


def test_same_answer_as_node_by_node(monkeypatch):
    batch = _batch(5000, seed=7)
    _, full = _revenue()
    fused = ev.evaluate(full, batch)
    monkeypatch.setattr(ev, "is_fusable", lambda e: False)
    assert ev.evaluate(full, batch).equals(fused)


def test_sub_and_add_rescale_to_the_wider_scale():
    batch = pa.RecordBatch.from_arrays(
        [pa.array([Decimal("1.5"), Decimal("-2.5"), None], _dec(10, 1)),
         pa.array([Decimal("0.125"), Decimal("3.000"), Decimal("1.000")], _dec(10, 3))],
        names=["a", "b"])
    a, b = Column("a", _dec(10, 1)), Column("b", _dec(10, 3))
    expr = Call("sub", (Call("add", (a, b), _dec(12, 3)), b), _dec(13, 3))
    assert fused_decimal(expr, batch, ev._eval, None).to_pylist() == [
        Decimal("1.500"), Decimal("-2.500"), None]


def test_values_beyond_int64_fall_back():
    big = Decimal(10) ** 19
    batch = pa.RecordBatch.from_arrays([pa.array([big, Decimal(1)], _dec(30, 0)),
                                        pa.array([Decimal(2), Decimal(3)], _dec(10, 0))],
                                       names=["x", "y"])
    x, y = Column("x", _dec(30, 0)), Column("y", _dec(10, 0))
    expr = Call("mul", (Call("add", (x, x), _dec(31, 0)), y), _dec(38, 0))
    assert fused_decimal(expr, batch, ev._eval, None) is None
    assert ev.evaluate(expr, batch).to_pylist() == [4 * big, Decimal(6)]


def test_a_bound_that_may_overflow_falls_back():
    # each value fits int64, but the product of the largest may not
    v = Decimal(3 * 10**9)
    batch = pa.RecordBatch.from_arrays([pa.array([v, Decimal(-2)], _dec(18, 0))], names=["x"])
    x = Column("x", _dec(18, 0))
    expr = Call("mul", (Call("mul", (x, x), _dec(37, 0)), x), _dec(38, 0))
    assert fused_decimal(expr, batch, ev._eval, None) is None
    assert ev.evaluate(expr, batch).to_pylist() == [v ** 3, Decimal(-8)]


def test_a_null_constant_falls_back():
    batch = _batch(10)
    null = Literal(None, _dec(15, 2))
    expr = Call("mul", (P, Call("sub", (null, D), _dec(16, 2))), _dec(31, 4))
    assert fused_decimal(expr, batch, ev._eval, None) is None
    assert ev.evaluate(expr, batch).null_count == 10


def test_shared_subtree_is_computed_once(monkeypatch):
    """Q1 sums p * (1 - d) alone and inside p * (1 - d) * (1 + t)."""
    import quiver.executor.decimal_fusion as fusion
    batch = _batch(100, nulls=False)
    disc, full = _revenue()
    combined = []
    original = fusion._combine
    monkeypatch.setattr(fusion, "_combine",
                        lambda fn, a, b, s: combined.append(fn) or original(fn, a, b, s))
    with ev.shared_subexpressions():
        first = ev.evaluate(disc, batch)
        second = ev.evaluate(full, batch)
    assert combined == ["sub", "mul", "add", "mul"]
    assert second.to_pylist() == _reference(batch)
    assert first.to_pylist() == [p * (1 - d) for p, d in zip(batch.column(0).to_pylist(),
                                                             batch.column(1).to_pylist())]


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_single_node_is_left_to_decimal_binop(op):
    assert not is_fusable(Call(op, (P, D), _dec(31, 4)))
