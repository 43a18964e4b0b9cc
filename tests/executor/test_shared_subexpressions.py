"""Expressions of one operator share a deterministic subexpression's value
over a batch (eval.shared_subexpressions), never a volatile one, and never
across batches or CASE sub-batches."""

import pyarrow as pa

import quiver
from quiver.executor import eval as ev
from quiver.planner.expr import Call, Column


def _con():
    con = quiver.connect()
    con.register("t", pa.table({"x": list(range(1, 2001)), "g": [i % 3 for i in range(2000)]}))
    return con


def test_a_shared_subexpression_is_computed_once_per_batch(monkeypatch):
    calls = []
    real = ev._call

    def counting(expr, batch):
        calls.append(expr.fn)
        return real(expr, batch)
    monkeypatch.setattr(ev, "_call", counting)
    x = Column("x", pa.int64())
    inner = Call("add", (x, x), pa.int64())
    outer = Call("mul", (inner, x), pa.int64())
    batch = pa.RecordBatch.from_arrays([pa.array([1, 2, 3], pa.int64())], names=["x"])
    with ev.shared_subexpressions():
        a = ev.evaluate(inner, batch)
        b = ev.evaluate(outer, batch)
        other = pa.RecordBatch.from_arrays([pa.array([5], pa.int64())], names=["x"])
        c = ev.evaluate(inner, other)              # another batch: computed again
    assert calls == ["add", "mul", "add"]
    assert a.to_pylist() == [2, 4, 6] and b.to_pylist() == [2, 8, 18] and c.to_pylist() == [10]


def test_aggregates_sharing_an_expression_give_right_answers():
    con = _con()
    got = con.execute("SELECT g, sum(x * (1 + g)), sum(x * (1 + g) * 2), "
                      "sum(CASE WHEN g = 1 THEN x * (1 + g) ELSE 0 END) "
                      "FROM t GROUP BY g ORDER BY g").fetchall()
    want = []
    for g in range(3):
        xs = [x for x, gg in [(i + 1, i % 3) for i in range(2000)] if gg == g]
        s = sum(x * (1 + g) for x in xs)
        want.append((g, s, 2 * s, s if g == 1 else 0))
    assert [tuple(int(v) for v in r) for r in got] == want


def test_volatile_calls_and_python_udfs_are_not_shared():
    from quiver.planner.expr import PythonCall
    x = Column("x", pa.float64())
    assert ev._shareable(Call("add", (x, x), pa.float64()))
    assert not ev._shareable(Call("add", (x, Call("random", (), pa.float64())), pa.float64()))
    udf = PythonCall("f", "m:f", (x,), pa.float64())
    assert not ev._shareable(Call("add", (x, udf), pa.float64()))
