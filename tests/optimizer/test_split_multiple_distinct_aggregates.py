"""split_multiple_distinct_aggregates: DISTINCT aggregates of different
arguments become one aggregation per argument (plus one for the plain
aggregates), joined on the group keys with NULLs equal; the answers stay
the same, NULL group keys, NULL values and empty inputs included, and the
rule leaves alone what it cannot split."""

import pytest

from quiver.planner.optimizer import OptimizerContext
from quiver.planner.optimizer.split_multiple_distinct_aggregates import \
    split_multiple_distinct_aggregates
from quiver.planner.tree import walk

ROWS = [{"g": g, "a": a, "b": b}
        for g, a, b in [(1, 1, 5), (1, 1, 6), (1, 2, None), (None, 3, 5), (None, 3, 5),
                        (2, None, 7), (2, 4, 7), (None, None, None)]]


def rule(plan):
    return split_multiple_distinct_aggregates(plan, OptimizerContext())


def _t(h, rows=ROWS, filtered=False):
    I = h.dt.INT64
    t = h.scan("t", {"g": I, "a": I, "b": I}, rows=rows)
    if filtered:
        t = h.L.Filter(t, h.call("ne", h.col(t, "b"), h.lit(6, I)))
    return t


def _aggs(h, t, specs, grouped=True):
    src = t.input if isinstance(t, h.L.Filter) else t
    aggs = tuple(h.E.AggCall(fn, (h.col(src, c),) if c else (), h.dt.INT64, distinct=d)
                 for fn, c, d in specs)
    groups = (h.col(src, "g"),) if grouped else ()
    return h.L.Aggregate(t, groups, ("k",) if grouped else (), aggs,
                         tuple(f"x{i}" for i in range(len(aggs))))


SPECS = [("count", "a", True), ("sum", "b", True), ("count_star", None, False),
         ("sum", "a", False), ("max", "b", True)]


@pytest.mark.parametrize("grouped", [True, False])
@pytest.mark.parametrize("filtered", [True, False])
def test_split_per_argument_gives_the_same_rows(h, grouped, filtered):
    plan = _aggs(h, _t(h, filtered=filtered), SPECS, grouped)
    out = rule(plan)
    aggregates = [n for n in walk(out) if isinstance(n, h.L.Aggregate)]
    assert len(aggregates) == 3                    # a, b and the plain aggregates
    assert out.schema == plan.schema and h.same_rows(out, plan)
    if grouped:
        assert any(r[0] is None for r in h.run(out))   # the NULL group survived the join


def test_global_aggregates_over_no_rows(h):
    plan = _aggs(h, _t(h, rows=[]), SPECS, grouped=False)
    out = rule(plan)
    assert h.run(out) == h.run(plan) == [(0, None, 0, None, None)]


def test_left_alone(h):
    t = _t(h)
    one_arg = _aggs(h, t, [("count", "a", True), ("sum", "a", True)])
    plain = _aggs(h, t, [("count", "a", False), ("sum", "b", False)])
    with_filter = h.L.Aggregate(t, (h.col(t, "g"),), ("k",), (
        h.E.AggCall("count", (h.col(t, "a"),), h.dt.INT64, distinct=True,
                    filter=h.call("gt", h.col(t, "b"), h.lit(5, h.dt.INT64))),
        h.E.AggCall("count", (h.col(t, "b"),), h.dt.INT64, distinct=True)), ("x0", "x1"))
    joined = h.L.Join(t, _t(h), "inner", h.eq(h.col(t, "g"), h.col(t, "g")))
    for plan in (one_arg, plain, with_filter):
        assert rule(plan) == plan
    over_join = h.L.Aggregate(joined, (h.col(t, "g"),), ("k",), (
        h.E.AggCall("count", (h.col(t, "a"),), h.dt.INT64, distinct=True),
        h.E.AggCall("count", (h.col(t, "b"),), h.dt.INT64, distinct=True)), ("x0", "x1"))
    assert rule(over_join) == over_join
