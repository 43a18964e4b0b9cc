from quiver import datatypes as dt
from quiver.planner import expr as E
from quiver.planner import logical as L
from quiver.planner.optimizer import OptimizerContext
from quiver.planner.optimizer.push_down_projection import push_down_projection
from quiver.planner.tree import walk

I = dt.INT64


def rule(plan):
    return push_down_projection(plan, OptimizerContext())


def wide(h, name, n=5, rows=None):
    return h.scan(name, {f"{name}{i}": I for i in range(n)}, rows=rows)


def test_scan_keeps_referenced_and_filter_columns(h):
    s = wide(h, "t")
    s = L.Scan(s.table, s.source, s.fields, s.columns,
               (h.call("gt", h.col(s, "t3"), h.lit(1, I)),))
    plan = h.project(s, "t1")
    out = rule(plan)
    assert out.input.columns == ("t1", "t3")
    assert out.schema == plan.schema


def test_root_schema_never_changes(h):
    s = wide(h, "t")
    assert rule(s) == s
    f = L.Filter(s, h.call("gt", h.col(s, "t0"), h.lit(1, I)))
    assert rule(f) == f


def test_unused_aggregates_and_project_outputs_dropped(h):
    s = wide(h, "t")
    agg = L.Aggregate(s, (h.col(s, "t0"),), ("g",),
                      (E.AggCall("sum", (h.col(s, "t1"),), I), E.AggCall("max", (h.col(s, "t2"),), I)),
                      ("s", "m"))
    plan = L.Project(agg, (E.Column("g", I), E.Column("m", I)), ("g", "m"))
    out = rule(plan)
    assert out.input.agg_names == ("m",)
    assert out.input.input.columns == ("t0", "t2")


def test_join_sides_get_narrowing_projects(h):
    a, b = wide(h, "a"), wide(h, "b")
    fa = h.call("gt", h.col(a, "a4"), h.lit(0, I))
    a = L.Scan(a.table, a.source, a.fields, a.columns, (fa,))
    j = L.Join(a, b, "inner", h.eq(h.col(a, "a0"), h.col(b, "b0")))
    plan = h.project(j, "a1", "b2")
    out = rule(plan)
    join = out.input
    assert join.left == L.Project(
        L.Scan(a.table, a.source, a.fields[:2] + a.fields[4:], ("a0", "a1", "a4"), (fa,)),
        (h.col(a, "a0"), h.col(a, "a1")), (a.fields[0].name, a.fields[1].name))
    assert join.right.columns == ("b0", "b2")
    assert out.schema == plan.schema
    assert rule(out) == out


def test_count_star_keeps_one_column(h):
    s = wide(h, "t")
    plan = L.Aggregate(s, (), (), (E.AggCall("count_star", (), I),), ("n",))
    out = rule(plan)
    assert len(out.input.fields) == 1


def test_distinct_keeps_all_columns(h):
    s = wide(h, "t", 3)
    plan = h.project(L.Distinct(s), "t0")
    assert rule(plan).input.input == s


def test_same_rows(h):
    rows_a = [{f"a{i}": r * i for i in range(5)} for r in range(6)]
    rows_b = [{f"b{i}": r + i for i in range(5)} for r in range(6)]
    a, b = wide(h, "a", rows=rows_a), wide(h, "b", rows=rows_b)
    j = L.Join(a, b, "left", h.eq(h.col(a, "a1"), h.col(b, "b0")))
    plan = h.project(L.Filter(j, h.call("ge", h.col(a, "a2"), h.lit(2, I))), "a0", "b3")
    out = rule(plan)
    assert h.same_rows(plan, out)
    assert sum(len(n.fields) for n in walk(out) if isinstance(n, L.Scan)) == 5


def test_union_all_prunes_by_position(h):
    rows_a = [{f"a{i}": r + i for i in range(5)} for r in range(3)]
    rows_b = [{f"b{i}": r * i for i in range(5)} for r in range(4)]
    a, b = wide(h, "a", rows=rows_a), wide(h, "b", rows=rows_b)
    plan = h.project(L.Union((a, b)), "a3", "a1")
    out = rule(plan)
    u = out.input
    assert [s.columns for s in u.inputs] == [("a1", "a3"), ("b1", "b3")]
    assert h.same_rows(plan, out)
    distinct = h.project(L.Union((a, b), all=False), "a3")
    assert rule(distinct).input.inputs == (a, b)


def test_unused_window_is_dropped(h):
    s = wide(h, "t", 3)
    w = E.WindowCall("row_number", (), (h.col(s, "t0"),), (), None, I)
    plan = h.project(L.Window(s, (w,), ("rn",)), "t1")
    out = rule(plan)
    assert not any(isinstance(n, L.Window) for n in walk(out))


def test_count_star_keeps_a_column_the_join_reads_anyway(h):
    """count(*) above a Project needs none of its columns; the one kept to
    carry the rows is the join's condition column, not the first one (which
    the scan would otherwise read only to be counted)."""
    a, b = wide(h, "a", rows=[{f"a{i}": r + i for i in range(5)} for r in range(6)]), \
        wide(h, "b", rows=[{f"b{i}": 2 * r for i in range(5)} for r in range(3)])
    join = L.Join(a, b, "inner", h.call("gt", h.col(a, "a3"), h.col(b, "b0")))
    proj = L.Project(join, (h.col(a, "a0"), h.col(a, "a3")), ("a0", "a3"))
    plan = L.Aggregate(proj, (), (), (E.AggCall("count_star", (), I),), ("n",))
    out = rule(plan)
    [scan_a] = [n for n in walk(out) if isinstance(n, L.Scan) and n.table == "a"]
    assert scan_a.columns == ("a3",)
    assert h.run(out) == h.run(plan)
