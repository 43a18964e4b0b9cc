"""case_aggregates_as_filters: an aggregate of a one-branch CASE becomes the
aggregate with a FILTER (and, for `ELSE 0` sums of a constant under GROUP
BY, a coalesce above); the answers stay the same, NULL values and NULL
conditions included, and the shapes where the rewrite would not be exact
are left alone."""

import pytest

from quiver.planner.optimizer import OptimizerContext
from quiver.planner.optimizer.case_aggregates_as_filters import case_aggregates_as_filters


def rule(plan):
    return case_aggregates_as_filters(plan, OptimizerContext())


ROWS = [{"g": g, "x": x, "c": c}
        for g, x, c in [(1, 5, 1), (1, None, 1), (1, 7, 0), (2, 3, None), (2, 4, 0),
                        (3, None, 1), (3, 9, 2), (4, 1, 1), (4, 2, 1)]]


def _t(h):
    I = h.dt.INT64
    return h.scan("t", {"g": I, "x": I, "c": I}, rows=ROWS)


def _case(h, t, then, default=None, cond=None):
    cond = cond if cond is not None else h.eq(h.col(t, "c"), h.lit(1, h.dt.INT64))
    return h.E.Case((cond,), (then,), default, then.dtype)


def _agg(h, t, aggs, grouped=True):
    groups = (h.col(t, "g"),) if grouped else ()
    return h.L.Aggregate(t, groups, ("g2",) if grouped else (), tuple(aggs),
                         tuple(f"a{i}" for i in range(len(aggs))))


def _call(h, fn, arg, t=None, **kw):
    return h.E.AggCall(fn, (arg,) if arg is not None else (), t or h.dt.INT64, **kw)


@pytest.mark.parametrize("fn", ["sum", "count", "min", "max", "avg"])
@pytest.mark.parametrize("grouped", [True, False])
def test_no_else_becomes_a_filter(h, fn, grouped):
    t = _t(h)
    agg = _call(h, fn, _case(h, t, h.col(t, "x")),
                h.dt.FLOAT64 if fn == "avg" else h.dt.INT64)
    plan = _agg(h, t, [agg], grouped)
    out = rule(plan)
    [new] = out.aggs
    assert new.filter is not None and not isinstance(new.args[0], h.E.Case)
    assert out.schema == plan.schema and h.same_rows(out, plan)


def test_else_zero_of_a_constant_under_group_by_becomes_filter_and_coalesce(h):
    t = _t(h)
    one = h.lit(1, h.dt.INT64)
    agg = _call(h, "sum", _case(h, t, one, h.lit(0, h.dt.INT64)))
    plan = _agg(h, t, [agg, _call(h, "sum", h.col(t, "x"))])
    out = rule(plan)
    assert isinstance(out, h.L.Project) and out.input.aggs[0].filter is not None
    assert out.schema == plan.schema and h.same_rows(out, plan)
    assert (2, 0, 7) in h.run(out)             # group 2: no row matches, the sum is 0


def test_left_alone_where_not_exact(h):
    t = _t(h)
    zero = h.lit(0, h.dt.INT64)
    x = h.col(t, "x")
    plans = [
        _agg(h, t, [_call(h, "sum", _case(h, t, h.lit(1, h.dt.INT64), zero))], grouped=False),
        _agg(h, t, [_call(h, "sum", _case(h, t, x, zero))]),           # x may be NULL
        _agg(h, t, [_call(h, "sum", _case(h, t, x, h.lit(5, h.dt.INT64)))]),
        _agg(h, t, [_call(h, "max", _case(h, t, h.lit(1, h.dt.INT64), zero))]),
        _agg(h, t, [_call(h, "sum", _case(h, t, x), distinct=True)]),
        _agg(h, t, [_call(h, "sum", h.E.Case((h.eq(h.col(t, "c"), h.lit(1, h.dt.INT64)),
                                              h.eq(h.col(t, "c"), h.lit(0, h.dt.INT64))),
                                             (x, x), None, x.dtype))]),
    ]
    for plan in plans:
        assert rule(plan) == plan


def test_an_existing_filter_is_kept(h):
    t = _t(h)
    keep = h.call("gt", h.col(t, "x"), h.lit(2, h.dt.INT64))
    agg = _call(h, "count", _case(h, t, h.col(t, "x")), filter=keep)
    plan = _agg(h, t, [agg])
    out = rule(plan)
    assert out.aggs[0].filter.fn == "and" and h.same_rows(out, plan)
