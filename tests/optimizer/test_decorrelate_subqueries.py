import pytest

from quiver.errors import NotSupportedError
from quiver import datatypes as dt
from quiver.planner import expr as E
from quiver.planner import logical as L
from quiver.planner.optimizer import OptimizerContext
from quiver.planner.optimizer.decorrelate_subqueries import decorrelate_subqueries
from quiver.planner.tree import expressions, walk

I = dt.INT64


def _no_subqueries(plan):
    from quiver.planner.tree import expressions
    return not any(isinstance(x, E.SUBQUERY_TYPES)
                   for n in walk(plan) for e in expressions(n) for x in walk(e))


def _orders(h):
    rows = [dict(o_orderkey=k, o_custkey=c, o_total=t)
            for k, c, t in [(1, 10, 5), (2, 10, 7), (3, 20, 1), (4, 30, 9), (5, None, 3)]]
    return h.scan("orders", {"o_orderkey": I, "o_custkey": I, "o_total": I}, rows=rows)


def _lineitem(h, tag="l"):
    rows = [dict(l_orderkey=k, l_suppkey=s, l_qty=q)
            for k, s, q in [(1, 100, 3), (1, 101, 5), (2, 100, 1), (3, 102, 8),
                            (3, 102, 2), (4, None, 4)]]
    return h.scan("lineitem", {"l_orderkey": I, "l_suppkey": I, "l_qty": I},
                  rows=rows, tag=tag)


def _rule(plan):
    return decorrelate_subqueries(plan, OptimizerContext())


def test_exists_becomes_semi_join(h):
    o, l = _orders(h), _lineitem(h)
    corr = h.eq(h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    sub = h.project(L.Filter(l, corr), "l_qty")
    plan = L.Filter(o, E.Exists(sub))
    out = _rule(plan)
    assert out == L.Join(o, l, "semi", corr)
    assert h.same_rows(plan, out)


def test_not_exists_with_residual_is_anti_join(h):
    # Q21 shape: NOT EXISTS (l3.ok = l1.ok AND l3.sk <> l1.sk)
    l1, l3 = _lineitem(h, "l1"), _lineitem(h, "l3")
    c1 = h.eq(h.col(l3, "l_orderkey"), h.col(l1, "l_orderkey"))
    c2 = h.call("ne", h.col(l3, "l_suppkey"), h.col(l1, "l_suppkey"))
    local = h.call("gt", h.col(l3, "l_qty"), h.lit(1, I))
    sub = L.Filter(l3, h.and_(c1, c2, local))
    plan = L.Filter(l1, h.call("not", E.Exists(sub)))
    out = _rule(plan)
    assert out == L.Join(l1, L.Filter(l3, local), "anti", h.and_(c1, c2))
    assert h.same_rows(plan, out)


def test_in_and_not_in(h):
    o, l = _orders(h), _lineitem(h)
    sub = h.project(l, "l_orderkey")
    key = h.col(o, "o_orderkey")
    semi = _rule(L.Filter(o, E.InSubquery(key, sub)))
    assert semi == L.Join(o, sub, "semi", h.eq(key, h.col(l, "l_orderkey")))
    anti_plan = L.Filter(o, E.InSubquery(h.col(o, "o_custkey"), h.project(l, "l_suppkey"),
                                         negated=True))
    anti = _rule(anti_plan)
    assert isinstance(anti, L.Join) and anti.kind == "null_aware_anti"
    assert h.same_rows(L.Filter(o, E.InSubquery(key, sub)), semi)
    assert h.same_rows(anti_plan, anti)


def test_not_in_with_nulls_keeps_semantics(h):
    # the subquery yields a NULL: NOT IN keeps no row
    o, l = _orders(h), _lineitem(h)
    plan = L.Filter(o, h.call("not", E.InSubquery(h.col(o, "o_orderkey"),
                                                  h.project(l, "l_suppkey"))))
    out = _rule(plan)
    assert h.run(out) == [] == h.run(plan)


def test_uncorrelated_scalar_is_left_join_with_single_row(h):
    o, l = _orders(h), _lineitem(h)
    agg = L.Aggregate(l, (), (), (E.AggCall("max", (h.col(l, "l_qty"),), I),), ("mx",))
    sq = E.ScalarSubquery(agg, I)
    plan = L.Filter(o, h.call("gt", h.col(o, "o_total"), sq))
    out = _rule(plan)
    mx = E.Column("mx", I, True)
    expected = L.Project(
        L.Filter(L.Join(o, L.EnforceSingleRow(agg), "left", None),
                 h.call("gt", h.col(o, "o_total"), mx)),
        tuple(f.column() for f in o.schema), o.names)
    assert out == expected
    assert h.same_rows(plan, out)


def test_uncorrelated_scalar_with_no_rows_gives_null(h):
    o, l = _orders(h), _lineitem(h)
    empty = L.Filter(l, h.call("gt", h.col(l, "l_qty"), h.lit(100, I)))
    sq = E.ScalarSubquery(h.project(empty, "l_qty"), I)
    plan = h.project(o, "o_orderkey", "o_total")
    plan = L.Project(o, (h.col(o, "o_orderkey"), sq), ("k", "v"))
    out = _rule(plan)
    assert _no_subqueries(out)
    assert sorted(h.run(out)) == sorted(h.run(plan))
    assert all(v is None for _, v in h.run(out))


def test_correlated_scalar_aggregate_q17(h):
    # l_qty < (select 0.5 * avg(l2.qty) from lineitem l2 where l2.ok = l1.ok)
    l1, l2 = _lineitem(h, "l1"), _lineitem(h, "l2")
    corr = h.eq(h.col(l2, "l_orderkey"), h.col(l1, "l_orderkey"))
    agg = L.Aggregate(L.Filter(l2, corr), (), (),
                      (E.AggCall("avg", (h.col(l2, "l_qty"),), dt.FLOAT64),), ("a",))
    val = L.Project(agg, (h.call("mul", h.lit(0.5, dt.FLOAT64), E.Column("a", dt.FLOAT64),
                                 t=dt.FLOAT64),), ("half",))
    plan = L.Filter(l1, h.call("lt", h.col(l1, "l_qty"), E.ScalarSubquery(val, dt.FLOAT64)))
    out = _rule(plan)
    assert _no_subqueries(out)
    assert h.same_rows(plan, out)
    joins = [n for n in walk(out) if isinstance(n, L.Join)]
    assert len(joins) == 1 and joins[0].kind == "left"
    aggs = [n for n in walk(out) if isinstance(n, L.Aggregate)]
    assert aggs[0].group_exprs == (h.col(l2, "l_orderkey"),)
    assert out.schema == plan.schema


def test_correlated_count_is_zero_not_null(h):
    o, l = _orders(h), _lineitem(h)
    corr = h.eq(h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    agg = L.Aggregate(L.Filter(l, corr), (), (), (E.AggCall("count_star", (), I),), ("n",))
    plan = L.Project(o, (h.col(o, "o_orderkey"), E.ScalarSubquery(agg, I)), ("k", "n_items"))
    out = _rule(plan)
    assert _no_subqueries(out)
    got = dict(h.run(out))
    assert got == dict(h.run(plan))
    assert got[5] == 0          # order 5 has no lineitems: 0, not NULL


def test_correlated_value_over_no_rows_is_computed_above_the_join(h):
    # (select coalesce(max(l_qty), -1) from l where l.ok = o.ok): -1 for order 5
    o, l = _orders(h), _lineitem(h)
    corr = h.eq(h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    agg = L.Aggregate(L.Filter(l, corr), (), (), (E.AggCall("max", (h.col(l, "l_qty"),), I),),
                      ("mx",))
    val = L.Project(agg, (h.call("coalesce", E.Column("mx", I), h.lit(-1, I), t=I),), ("v",))
    plan = L.Project(o, (h.col(o, "o_orderkey"), E.ScalarSubquery(val, I)), ("k", "v"))
    out = _rule(plan)
    assert _no_subqueries(out)
    got = dict(h.run(out))
    assert got == dict(h.run(plan))
    assert got[5] == -1         # order 5 has no lineitems: coalesce(NULL, -1), not NULL


def test_nested_q20_shape(h):
    # o in (select l_orderkey from l where l_suppkey in (select ...) and
    #        l_qty > (select avg(l2.qty) from l2 where l2.sk = l.sk))
    o, l, l2, l3 = _orders(h), _lineitem(h), _lineitem(h, "l2"), _lineitem(h, "l3")
    inner_in = E.InSubquery(h.col(l, "l_suppkey"), h.project(l3, "l_suppkey"))
    corr = h.eq(h.col(l2, "l_suppkey"), h.col(l, "l_suppkey"))
    avg = L.Aggregate(L.Filter(l2, corr), (), (),
                      (E.AggCall("avg", (h.col(l2, "l_qty"),), dt.FLOAT64),), ("a2",))
    cond = h.and_(inner_in, h.call("ge", h.col(l, "l_qty"), E.ScalarSubquery(avg, dt.FLOAT64)))
    middle = h.project(L.Filter(l, cond), "l_orderkey")
    plan = L.Filter(o, E.InSubquery(h.col(o, "o_orderkey"), middle))
    out = _rule(plan)
    assert _no_subqueries(out)
    assert h.same_rows(plan, out)


def test_exists_under_or_uses_a_marker_join(h):
    o, l = _orders(h), _lineitem(h)
    corr = h.eq(h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    big = h.call("gt", h.col(l, "l_qty"), h.lit(4, I))
    for negated in (False, True):
        ex = E.Exists(L.Filter(l, h.and_(corr, big)), negated=negated)
        pred = h.call("or", ex, h.call("gt", h.col(o, "o_total"), h.lit(8, I)))
        plan = L.Filter(o, pred)
        out = _rule(plan)
        assert _no_subqueries(out) and out.schema == plan.schema
        assert h.same_rows(plan, out)
        assert 0 < len(h.run(out)) < 5
    # uncorrelated EXISTS in the select list
    plan = L.Project(o, (h.col(o, "o_orderkey"), E.Exists(L.Filter(l, big))), ("k", "e"))
    out = _rule(plan)
    assert _no_subqueries(out) and h.same_rows(plan, out)


def test_in_outside_conjunction_keeps_three_valued_logic(h):
    # x IN (subquery with a NULL) in the SELECT list: TRUE, NULL or FALSE per row
    o, l = _orders(h), _lineitem(h)
    for sub_col, arg in (("l_suppkey", "o_custkey"), ("l_orderkey", "o_custkey"),
                         ("l_orderkey", "o_orderkey")):
        sub = h.project(L.Filter(l, h.call("lt", h.col(l, "l_qty"), h.lit(6, I))), sub_col)
        for negated in (False, True):
            e = E.InSubquery(h.col(o, arg), sub, negated=negated)
            plan = L.Project(o, (h.col(o, "o_orderkey"), e), ("k", "v"))
            out = _rule(plan)
            assert _no_subqueries(out) and h.same_rows(plan, out)
    # empty subquery: FALSE even for a NULL argument
    empty = h.project(L.Filter(l, h.call("gt", h.col(l, "l_qty"), h.lit(99, I))), "l_orderkey")
    plan = L.Project(o, (E.InSubquery(h.col(o, "o_custkey"), empty),), ("v",))
    assert [r[0] for r in h.run(_rule(plan))] == [False] * 5


def test_correlated_in_under_or(h):
    o, l = _orders(h), _lineitem(h)
    corr = h.eq(h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    sub = h.project(L.Filter(l, corr), "l_suppkey")
    pred = h.call("or", E.InSubquery(h.col(o, "o_custkey"), sub, negated=True),
                  h.call("gt", h.col(o, "o_total"), h.lit(8, I)))
    plan = L.Filter(o, pred)
    out = _rule(plan)
    assert _no_subqueries(out) and h.same_rows(plan, out)


def test_non_equality_correlation_under_or_is_not_supported(h):
    o, l = _orders(h), _lineitem(h)
    corr = h.call("lt", h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    pred = h.call("or", E.Exists(L.Filter(l, corr)), h.call("gt", h.col(o, "o_total"), h.lit(3, I)))
    with pytest.raises(NotSupportedError, match="equality correlation"):
        _rule(L.Filter(o, pred))


def test_correlated_scalar_without_aggregate_groups_by_the_key(h):
    o, l = _orders(h), _lineitem(h)
    corr = h.eq(h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    sq = E.ScalarSubquery(h.project(L.Filter(l, corr), "l_qty"), I)
    out = _rule(L.Filter(o, h.call("gt", h.col(o, "o_total"), sq)))
    calls = [x for n in walk(out) for e in expressions(n) for x in walk(e)
             if isinstance(x, E.Call) and x.fn == "scalar_subquery_value"]
    assert len(calls) == 1
    joins = [n for n in walk(out) if isinstance(n, L.Join)]
    assert [j.kind for j in joins] == ["left"]
    assert isinstance(joins[0].right, L.Aggregate)


def test_correlated_scalar_with_non_equality_correlation_is_not_supported(h):
    o, l = _orders(h), _lineitem(h)
    corr = h.call("lt", h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    sq = E.ScalarSubquery(h.project(L.Filter(l, corr), "l_qty"), I)
    with pytest.raises(NotSupportedError, match="equality"):
        _rule(L.Filter(o, h.call("gt", h.col(o, "o_total"), sq)))


def test_exists_with_grouped_having(h):
    # exists (select 1 from l where l.ok = o.ok group by l.sk having count(*) > 1)
    o, l = _orders(h), _lineitem(h)
    corr = h.eq(h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    agg = L.Aggregate(L.Filter(l, corr), (h.col(l, "l_suppkey"),), ("g",),
                      (E.AggCall("count_star", (), I),), ("c",))
    sub = L.Filter(agg, h.call("gt", E.Column("c", I), h.lit(1, I)))
    plan = L.Filter(o, E.Exists(sub))
    out = _rule(plan)
    assert _no_subqueries(out)
    assert h.same_rows(plan, out)
    assert [k for k, *_ in h.run(out)] == [3]


def test_plan_without_subqueries_is_unchanged(h):
    o = _orders(h)
    plan = L.Filter(o, h.call("gt", h.col(o, "o_total"), h.lit(3, I)))
    assert _rule(plan) is plan
