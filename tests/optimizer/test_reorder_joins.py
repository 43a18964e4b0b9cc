from quiver import datatypes as dt
from quiver.planner import logical as L
from quiver.planner.optimizer import OptimizerContext
from quiver.planner.optimizer.reorder_joins import reorder_joins
from quiver.planner.statistics import estimate_rows, selectivity
from quiver.planner.tree import walk

I = dt.INT64


def rule(plan):
    return reorder_joins(plan, OptimizerContext())


def tables(h):
    c = h.scan("customer", {"c_custkey": I, "c_nationkey": I}, num_rows=150)
    o = h.scan("orders", {"o_orderkey": I, "o_custkey": I}, num_rows=1500)
    li = h.scan("lineitem", {"l_orderkey": I, "l_qty": I}, num_rows=6000)
    n = h.scan("nation", {"n_nationkey": I}, num_rows=25)
    return c, o, li, n


def test_largest_first_then_smallest_connected(h):
    c, o, li, n = tables(h)
    conds = h.and_(h.eq(h.col(c, "c_custkey"), h.col(o, "o_custkey")),
                   h.eq(h.col(li, "l_orderkey"), h.col(o, "o_orderkey")),
                   h.eq(h.col(c, "c_nationkey"), h.col(n, "n_nationkey")))
    # as written: ((customer x orders) x lineitem) x nation, all conditions on top
    plan = L.Join(L.Join(L.Join(c, o, "inner", None), li, "inner", None), n, "inner", conds)
    out = rule(plan)
    assert isinstance(out, L.Project) and out.schema == plan.schema
    j3 = out.input
    # lineitem (probe) first; nation is smallest but not connected yet -> orders, customer, nation
    assert j3.right == n and j3.condition == h.eq(h.col(c, "c_nationkey"), h.col(n, "n_nationkey"))
    j2 = j3.left
    assert j2.right == c
    j1 = j2.left
    assert j1.left == li and j1.right == o
    assert j1.condition == h.eq(h.col(li, "l_orderkey"), h.col(o, "o_orderkey"))
    assert rule(out) == out


def test_no_cross_join_while_connected_exists(h):
    c, o, li, n = tables(h)
    plan = L.Join(L.Join(li, n, "inner", None), o, "inner",
                  h.eq(h.col(li, "l_orderkey"), h.col(o, "o_orderkey")))
    out = rule(plan)
    joins = [x for x in walk(out) if isinstance(x, L.Join)]
    cross = [j for j in joins if j.condition is None]
    assert len(cross) == 1 and cross[0].right == n  # nation joined last


def test_two_relations_larger_on_left(h):
    c, o, li, n = tables(h)
    plan = L.Join(n, c, "inner", h.eq(h.col(c, "c_nationkey"), h.col(n, "n_nationkey")))
    out = rule(plan)
    assert out.input.left == c and out.input.right == n
    assert out.schema == plan.schema


def test_same_rows(h):
    rows_c = [dict(c_custkey=i, c_nationkey=i % 3) for i in range(6)]
    rows_o = [dict(o_orderkey=i, o_custkey=i % 6) for i in range(10)]
    rows_l = [dict(l_orderkey=i % 10, l_qty=i) for i in range(20)]
    rows_n = [dict(n_nationkey=i) for i in range(2)]
    c = h.scan("customer", {"c_custkey": I, "c_nationkey": I}, rows=rows_c)
    o = h.scan("orders", {"o_orderkey": I, "o_custkey": I}, rows=rows_o)
    li = h.scan("lineitem", {"l_orderkey": I, "l_qty": I}, rows=rows_l)
    n = h.scan("nation", {"n_nationkey": I}, rows=rows_n)
    conds = h.and_(h.eq(h.col(c, "c_custkey"), h.col(o, "o_custkey")),
                   h.eq(h.col(li, "l_orderkey"), h.col(o, "o_orderkey")),
                   h.eq(h.col(c, "c_nationkey"), h.col(n, "n_nationkey")))
    plan = L.Join(L.Join(L.Join(c, o, "inner", None), li, "inner", None), n, "inner", conds)
    out = rule(plan)
    assert out != plan and h.same_rows(plan, out) and h.run(plan)


def test_estimates(h):
    c, o, li, n = tables(h)
    assert estimate_rows(li) == 6000
    f = h.call("eq", h.col(li, "l_qty"), h.lit(3, I))
    scan = L.Scan(li.table, li.source, li.fields, li.columns, (f,))
    assert estimate_rows(scan) == 600
    assert selectivity(h.call("lt", h.col(li, "l_qty"), h.lit(3, I))) == 0.3
    j = L.Join(li, o, "inner", h.eq(h.col(li, "l_orderkey"), h.col(o, "o_orderkey")))
    assert estimate_rows(j) == 6000
    assert estimate_rows(L.Join(li, o, "semi", j.condition)) == 3000
    assert estimate_rows(L.Join(c, n, "inner", None)) == 150 * 25


def _snowflake(h, rows=False):
    """lineitem -> orders -> customer (filtered) -> nation (filtered): the
    filtered customers only reach lineitem through orders."""
    kw = {}
    if rows:
        kw = dict(c=[dict(c_custkey=i, c_nationkey=i % 5, c_seg=i % 4) for i in range(40)],
                  o=[dict(o_orderkey=i, o_custkey=(i * 7) % 40) for i in range(200)],
                  li=[dict(l_orderkey=(i * 3) % 200, l_qty=i) for i in range(800)],
                  n=[dict(n_nationkey=i, n_region=i % 2) for i in range(5)])
    c = h.scan("customer", {"c_custkey": I, "c_nationkey": I, "c_seg": I}, num_rows=150,
               rows=kw.get("c"))
    o = h.scan("orders", {"o_orderkey": I, "o_custkey": I}, num_rows=1500, rows=kw.get("o"))
    li = h.scan("lineitem", {"l_orderkey": I, "l_qty": I}, num_rows=6000, rows=kw.get("li"))
    n = h.scan("nation", {"n_nationkey": I, "n_region": I}, num_rows=25, rows=kw.get("n"))
    cf = L.Filter(c, h.eq(h.col(c, "c_seg"), h.lit(1, I)))
    nf = L.Filter(n, h.eq(h.col(n, "n_region"), h.lit(0, I)))
    conds = h.and_(h.eq(h.col(c, "c_custkey"), h.col(o, "o_custkey")),
                   h.eq(h.col(li, "l_orderkey"), h.col(o, "o_orderkey")),
                   h.eq(h.col(c, "c_nationkey"), h.col(n, "n_nationkey")))
    plan = L.Join(L.Join(L.Join(li, o, "inner", None), cf, "inner", None), nf, "inner", conds)
    return plan, li, o, cf, nf


def test_a_filtered_branch_is_joined_on_the_build_side_first(h):
    plan, li, o, cf, nf = _snowflake(h)
    out = rule(plan)
    top = out.input if isinstance(out, L.Project) else out
    assert out.schema == plan.schema
    # lineitem probes one build side: orders joined with (customer joined with nation)
    assert top.left == li
    build = top.right
    assert isinstance(build, L.Join) and build.left == o
    assert isinstance(build.right, L.Join)
    assert {build.right.left, build.right.right} == {cf, nf}
    assert top.condition == h.eq(h.col(li, "l_orderkey"), h.col(o, "o_orderkey"))
    assert rule(out) == out


def test_an_unfiltered_dimension_stays_left_deep(h):
    c, o, li, n = tables(h)
    plan = L.Join(L.Join(li, o, "inner", None), c, "inner",
                  h.and_(h.eq(h.col(c, "c_custkey"), h.col(o, "o_custkey")),
                         h.eq(h.col(li, "l_orderkey"), h.col(o, "o_orderkey"))))
    top = rule(plan)
    top = top.input if isinstance(top, L.Project) else top
    assert top.right == c and top.left.left == li and top.left.right == o


def test_branch_plan_gives_the_same_rows(h):
    plan, *_ = _snowflake(h, rows=True)
    out = rule(plan)
    assert out != plan and h.same_rows(plan, out) and h.run(plan)
