from quiver import datatypes as dt
from quiver.planner import expr as E
from quiver.planner import logical as L
from quiver.planner.optimizer import OptimizerContext
from quiver.planner.optimizer.push_down_filter import push_down_filter

I = dt.INT64


def rule(plan):
    return push_down_filter(plan, OptimizerContext())


def ab(h, rows_a=None, rows_b=None):
    a = h.scan("a", {"x": I, "z": I}, rows=rows_a)
    b = h.scan("b", {"y": I, "w": I}, rows=rows_b)
    return a, b


def test_comma_join_becomes_equi_join_and_scan_filters(h):
    a, b = ab(h)
    j = h.eq(h.col(a, "x"), h.col(b, "y"))
    fa = h.call("gt", h.col(a, "z"), h.lit(5, I))
    fb = h.call("lt", h.col(b, "w"), h.lit(2, I))
    plan = L.Filter(L.Join(a, b, "inner", None), h.and_(j, fa, fb))
    out = rule(plan)
    expected = L.Join(L.Scan(a.table, a.source, a.fields, a.columns, (fa,)),
                      L.Scan(b.table, b.source, b.fields, b.columns, (fb,)),
                      "inner", j)
    assert out == expected
    assert rule(out) == out  # idempotent


def test_through_project_substitutes(h):
    a, _ = ab(h)
    p = L.Project(a, (h.call("add", h.col(a, "x"), h.lit(1, I), t=I),), ("x1",))
    pred = h.call("gt", E.Column("x1", I), h.lit(3, I))
    out = rule(L.Filter(p, pred))
    sub = h.call("gt", h.call("add", h.col(a, "x"), h.lit(1, I), t=I), h.lit(3, I))
    assert out == L.Project(L.Scan(a.table, a.source, a.fields, a.columns, (sub,)),
                            p.exprs, p.names)


def test_left_join_pushes_to_preserved_side_only(h):
    a, b = ab(h)
    j = L.Join(a, b, "left", h.and_(h.eq(h.col(a, "x"), h.col(b, "y")),
                                    h.call("gt", h.col(b, "w"), h.lit(0, I)),
                                    h.call("gt", h.col(a, "z"), h.lit(0, I))))
    on_left = h.call("gt", h.col(a, "x"), h.lit(1, I))
    on_right = h.call("is_null", h.col(b, "w"))
    out = rule(L.Filter(j, h.and_(on_left, on_right)))
    # WHERE on the nullable side stays above; ON conjunct on the right side moves down;
    # ON conjunct on the preserved side stays in the condition
    assert isinstance(out, L.Filter) and out.predicate == on_right
    join = out.input
    assert join.left.filters == (on_left,)
    assert join.right.filters == (h.call("gt", h.col(b, "w"), h.lit(0, I)),)
    assert E.conjuncts(join.condition) == [h.eq(h.col(a, "x"), h.col(b, "y")),
                                           h.call("gt", h.col(a, "z"), h.lit(0, I))]


def test_semi_and_anti_join(h):
    a, b = ab(h)
    left_only = h.call("gt", h.col(a, "z"), h.lit(1, I))
    cond = h.and_(h.eq(h.col(a, "x"), h.col(b, "y")), left_only)
    semi = rule(L.Join(a, b, "semi", cond))
    assert semi.left.filters == (left_only,)
    anti = rule(L.Join(a, b, "anti", cond))
    assert anti.left.filters == () and anti.condition == cond
    where = h.call("lt", h.col(a, "x"), h.lit(9, I))
    out = rule(L.Filter(L.Join(a, b, "anti", cond), where))
    assert out.left.filters == (where,)


def test_aggregate_group_columns_only(h):
    a, _ = ab(h)
    agg = L.Aggregate(a, (h.col(a, "x"),), ("g",), (E.AggCall("sum", (h.col(a, "z"),), I),), ("s",))
    on_group = h.call("gt", E.Column("g", I), h.lit(1, I))
    on_agg = h.call("gt", E.Column("s", I), h.lit(10, I))
    out = rule(L.Filter(agg, h.and_(on_group, on_agg)))
    assert out.predicate == on_agg
    assert out.input.input.filters == (h.call("gt", h.col(a, "x"), h.lit(1, I)),)


def test_constant_filter_not_pushed_below_global_aggregate(h):
    a, _ = ab(h)
    agg = L.Aggregate(a, (), (), (E.AggCall("count_star", (), I),), ("n",))
    plan = L.Filter(agg, E.FALSE)
    assert rule(plan) == plan


def test_union_each_input_by_position(h):
    a, b = ab(h)
    u = L.Union((a, b))
    pred = h.call("gt", h.col(a, "x"), h.lit(1, I))
    out = rule(L.Filter(u, pred))
    assert out.inputs[0].filters == (pred,)
    assert out.inputs[1].filters == (h.call("gt", h.col(b, "y"), h.lit(1, I)),)


def test_stops_at_limit_and_volatile(h):
    a, _ = ab(h)
    pred = h.call("gt", h.col(a, "x"), h.lit(1, I))
    plan = L.Filter(L.Limit(a, 5), pred)
    assert rule(plan) == plan
    rnd = h.call("gt", E.Call("random", (), dt.FLOAT64), E.Literal(0.5, dt.FLOAT64))
    plan = L.Filter(h.project(a, "x", "z"), rnd)
    assert rule(plan) == plan


def test_window_partition_key_only(h):
    a, _ = ab(h)
    w = E.WindowCall("row_number", (), (h.col(a, "x"),), (), None, I)
    win = L.Window(a, (w,), ("rn",))
    on_key = h.call("eq", h.col(a, "x"), h.lit(3, I))
    on_other = h.call("eq", h.col(a, "z"), h.lit(3, I))
    out = rule(L.Filter(win, h.and_(on_key, on_other)))
    assert out.predicate == on_other and out.input.input.filters == (on_key,)


def test_same_rows_after_pushdown(h):
    rows_a = [dict(x=i % 4, z=i) for i in range(12)]
    rows_b = [dict(y=i % 3, w=i) for i in range(9)]
    a, b = ab(h, rows_a, rows_b)
    pred = h.and_(h.eq(h.col(a, "x"), h.col(b, "y")), h.call("gt", h.col(a, "z"), h.lit(4, I)),
                  h.call("lt", h.col(b, "w"), h.lit(7, I)))
    plan = L.Filter(L.Join(a, b, "inner", None), pred)
    assert h.same_rows(plan, rule(plan))
    assert len(h.run(plan)) > 0


def test_null_rejecting_where_turns_outer_join_inner(h):
    rows_a = [dict(x=i, z=i) for i in range(6)]
    rows_b = [dict(y=i, w=i * 2) for i in range(3)]
    a, b = ab(h, rows_a, rows_b)
    on = h.eq(h.col(a, "x"), h.col(b, "y"))
    rejects = h.call("gt", h.col(b, "w"), h.lit(1, I))
    plan = L.Filter(L.Join(a, b, "left", on), rejects)
    out = rule(plan)
    assert out.kind == "inner" and out.right.filters == (rejects,)
    assert h.same_rows(plan, out)
    keeps = h.call("eq", h.call("coalesce", h.col(b, "w"), h.lit(0, I), t=I), h.lit(0, I))
    plan = L.Filter(L.Join(a, b, "left", on), keeps)
    out = rule(plan)
    assert out.input.kind == "left" and h.same_rows(plan, out)
    full = L.Filter(L.Join(a, b, "full", on), h.call("is_not_null", h.col(a, "z")))
    out = rule(full)
    assert out.kind == "left" and out.left.filters == (h.call("is_not_null", h.col(a, "z")),)
    assert h.same_rows(full, out)
