import datetime

import pyarrow as pa
import pyarrow.compute as pc

from quiver import datatypes as dt
from quiver.planner import expr as E
from quiver.planner import logical as L
from quiver.planner.optimizer import OptimizerContext
from quiver.executor.eval import evaluate_scalar
from quiver.planner.optimizer.fold_constants import fold_constants

I = dt.INT32


def fake_evaluate_scalar(e):
    """A tiny evaluator for the tests: date - interval(days), +, /."""
    if isinstance(e, E.Literal):
        return e.value
    if isinstance(e, E.Call):
        a, b = (fake_evaluate_scalar(x) for x in e.args)
        if e.fn == "sub" and isinstance(b, tuple):
            return a - datetime.timedelta(days=b[1])
        if e.fn == "add":
            return pa.scalar(pc.add(a, b).as_py(), e.dtype)
        if e.fn == "div":
            if b == 0:
                raise ZeroDivisionError
            return a / b
    raise NotImplementedError(e)


def ctx():
    return OptimizerContext(evaluate_scalar=fake_evaluate_scalar)


def test_date_minus_interval_becomes_date_literal(h):
    s = h.scan("lineitem", {"l_shipdate": dt.DATE})
    minus = h.call("sub", E.Literal(datetime.date(1998, 12, 1), dt.DATE),
                   E.Literal((0, 90, 0), dt.INTERVAL), t=dt.DATE)
    plan = L.Filter(s, h.call("le", h.col(s, "l_shipdate"), minus))
    out = fold_constants(plan, ctx())
    assert out == L.Filter(s, h.call("le", h.col(s, "l_shipdate"),
                                     E.Literal(datetime.date(1998, 9, 2), dt.DATE)))


def test_pyarrow_scalar_results_become_literals(h):
    s = h.scan("t", {"a": I})
    plan = L.Project(s, (h.call("add", h.lit(1), h.lit(2), t=I),), ("x",))
    out = fold_constants(plan, ctx())
    assert out.exprs[0] == E.Literal(3, I)


def test_errors_are_left_for_run_time(h):
    s = h.scan("t", {"a": I})
    bad = h.call("div", h.lit(1), h.lit(0), t=dt.FLOAT64)
    plan = L.Project(s, (bad,), ("x",))
    assert fold_constants(plan, ctx()) == plan


def test_boolean_simplification(h):
    s = h.scan("t", {"a": dt.BOOL, "b": dt.BOOL})
    a, b = h.col(s, "a"), h.col(s, "b")
    T, F = E.TRUE, E.FALSE
    cases = [
        (h.call("and", a, T), a),
        (h.call("and", T, a), a),
        (h.call("or", a, F), a),
        (h.call("or", F, h.call("and", b, T)), b),
        (h.call("not", h.call("not", a)), a),
        (h.call("and", a, F), F),
        (h.call("or", a, T), T),
    ]
    for before, after in cases:
        plan = L.Project(s, (before,), ("x",))
        assert fold_constants(plan, ctx()).exprs[0] == after, before


def test_false_filter_becomes_empty_values_true_filter_disappears(h):
    s = h.scan("t", {"a": I})
    pred = h.call("and", h.call("gt", h.col(s, "a"), h.lit(1)), E.FALSE)
    out = fold_constants(L.Filter(s, pred), ctx())
    assert out == L.Values(s.schema, ())
    pred = h.call("or", h.call("gt", h.col(s, "a"), h.lit(1)), E.TRUE)
    assert fold_constants(L.Filter(s, pred), ctx()) == s


def test_without_an_evaluator_only_simplifies(h):
    s = h.scan("t", {"a": dt.BOOL})
    plan = L.Project(s, (h.call("and", h.col(s, "a"), E.TRUE),
                         h.call("add", h.lit(1), h.lit(2), t=I)), ("x", "y"))
    out = fold_constants(plan, OptimizerContext(evaluate_scalar=None))
    assert out.exprs[0] == h.col(s, "a")


def test_aggregates_and_columns_are_not_folded(h):
    s = h.scan("t", {"a": I})
    agg = L.Aggregate(s, (), (), (E.AggCall("count_star", (), dt.INT64),), ("n",))
    assert fold_constants(agg, ctx()) == agg


def test_with_the_executor_evaluator(h):
    from quiver.planner import functions
    s = h.scan("t", {"a": I})
    three = functions.resolve_scalar("add", [h.lit(1), h.lit(2)])
    date = functions.resolve_scalar("sub", [E.Literal(datetime.date(1998, 12, 1), dt.DATE),
                                            E.Literal((0, 90, 0), dt.INTERVAL)])
    bad = functions.resolve_scalar("div", [h.lit(1), h.lit(0)])
    plan = L.Project(s, (three, date, bad), ("x", "d", "z"))
    out = fold_constants(plan, OptimizerContext(evaluate_scalar=evaluate_scalar))
    assert out.exprs[0] == E.Literal(3, three.dtype)
    assert isinstance(out.exprs[1], E.Literal)
    assert out.exprs[1].value in (datetime.date(1998, 9, 2), datetime.datetime(1998, 9, 2))
    assert out.exprs[2] == bad
