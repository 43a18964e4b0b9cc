"""End-to-end: `optimize` on hand-built TPC-H-like plans. Each rewritten plan
must keep the root schema, contain no subquery, no cross join where an
equality links the inputs, and give the same rows as the original plan
evaluated naively (subqueries re-run per outer row)."""

import random

import pytest

from quiver.errors import InternalError, ProgrammingError
from quiver import datatypes as dt
from quiver.planner import expr as E
from quiver.planner import logical as L
from quiver.planner import optimizer as opt
from quiver.planner.optimizer import OptimizerContext, optimize
from quiver.planner.tree import expressions, walk

I, F = dt.INT64, dt.FLOAT64
rng = random.Random(7)

ORDERS = [dict(o_orderkey=k, o_custkey=rng.randrange(8), o_prio=rng.randrange(3),
               o_date=rng.randrange(100), o_status=rng.choice("FOP")) for k in range(30)]
LINEITEM = [dict(l_orderkey=rng.randrange(32), l_partkey=rng.randrange(6),
                 l_suppkey=rng.randrange(5), l_qty=rng.randrange(1, 50),
                 l_commit=rng.randrange(100), l_receipt=rng.randrange(100)) for _ in range(120)]
PART = [dict(p_partkey=k, p_brand=k % 3, p_size=k * 7 % 10) for k in range(6)]
PARTSUPP = [dict(ps_partkey=p, ps_suppkey=s) for p in range(6) for s in range(5) if (p + s) % 2]
SUPPLIER = [dict(s_suppkey=k, s_nationkey=k % 2, s_bad=k == 3) for k in range(5)]
CUSTOMER = [dict(c_custkey=k, c_acctbal=rng.randrange(-50, 100) * 1.0, c_phone=k % 4)
            for k in range(10)]
NATION = [dict(n_nationkey=k, n_name=f"N{k}") for k in range(2)]

COLS = {
    "orders": {"o_orderkey": I, "o_custkey": I, "o_prio": I, "o_date": I, "o_status": dt.STRING},
    "lineitem": {"l_orderkey": I, "l_partkey": I, "l_suppkey": I, "l_qty": I,
                 "l_commit": I, "l_receipt": I},
    "part": {"p_partkey": I, "p_brand": I, "p_size": I},
    "partsupp": {"ps_partkey": I, "ps_suppkey": I},
    "supplier": {"s_suppkey": I, "s_nationkey": I, "s_bad": dt.BOOL},
    "customer": {"c_custkey": I, "c_acctbal": F, "c_phone": I},
    "nation": {"n_nationkey": I, "n_name": dt.STRING},
}
ROWS = {"orders": ORDERS, "lineitem": LINEITEM, "part": PART, "partsupp": PARTSUPP,
        "supplier": SUPPLIER, "customer": CUSTOMER, "nation": NATION}


def t(h, name, tag=None):
    return h.scan(name, COLS[name], rows=ROWS[name], tag=tag)


def cross(*plans):
    out = plans[0]
    for p in plans[1:]:
        out = L.Join(out, p, "inner", None)
    return out


def count_star():
    return E.AggCall("count_star", (), I)


def check(h, plan, **kw):
    trace = []
    out = optimize(plan, OptimizerContext(), trace=trace, **kw)
    assert [(f.name, f.dtype) for f in out.schema] == [(f.name, f.dtype) for f in plan.schema]
    assert not any(isinstance(x, E.SUBQUERY_TYPES)
                   for n in walk(out) for e in expressions(n) for x in walk(e))
    for j in walk(out):
        if isinstance(j, L.Join) and j.kind == "inner":
            assert j.condition is not None, "cross join left in the plan"
    assert not any(isinstance(n, L.Filter) and isinstance(n.input, L.Join)
                   and n.input.kind == "inner" for n in walk(out))
    assert h.same_rows(plan, out)
    assert trace and trace[0][0] == "decorrelate_subqueries"
    return out


def kinds(plan):
    return sorted(j.kind for j in walk(plan) if isinstance(j, L.Join))


def test_q4_exists(h):
    o, li = t(h, "orders"), t(h, "lineitem")
    corr = h.eq(h.col(li, "l_orderkey"), h.col(o, "o_orderkey"))
    local = h.call("lt", h.col(li, "l_commit"), h.col(li, "l_receipt"))
    sub = L.Project(L.Filter(li, h.and_(corr, local)), tuple(f.column() for f in li.schema), li.names)
    pred = h.and_(h.call("ge", h.col(o, "o_date"), h.lit(20, I)),
                  h.call("lt", h.col(o, "o_date"), h.lit(70, I)), E.Exists(sub))
    plan = L.Aggregate(L.Filter(o, pred), (h.col(o, "o_prio"),), ("prio",), (count_star(),), ("n",))
    out = check(h, plan)
    assert kinds(out) == ["semi"]
    scans = {s.table: s for s in walk(out) if isinstance(s, L.Scan)}
    assert scans["lineitem"].filters == (local,)
    assert scans["lineitem"].columns == ("l_orderkey", "l_commit", "l_receipt")
    assert len(scans["orders"].filters) == 2


def test_q16_not_in(h):
    ps, p, s = t(h, "partsupp"), t(h, "part"), t(h, "supplier")
    bad = h.project(L.Filter(s, h.col(s, "s_bad")), "s_suppkey")
    pred = h.and_(h.eq(h.col(p, "p_partkey"), h.col(ps, "ps_partkey")),
                  h.call("ne", h.col(p, "p_brand"), h.lit(1, I)),
                  h.call("not", E.InSubquery(h.col(ps, "ps_suppkey"), bad)))
    plan = L.Aggregate(L.Filter(cross(ps, p), pred), (h.col(p, "p_brand"),), ("brand",),
                       (E.AggCall("count", (h.col(ps, "ps_suppkey"),), I, distinct=True),), ("cnt",))
    out = check(h, plan)
    assert kinds(out) == ["inner", "null_aware_anti"]


def test_q17_correlated_scalar(h):
    li, p, l2 = t(h, "lineitem"), t(h, "part"), t(h, "lineitem", "l2")
    corr = h.eq(h.col(l2, "l_partkey"), h.col(p, "p_partkey"))
    avg = L.Aggregate(L.Filter(l2, corr), (), (), (E.AggCall("avg", (h.col(l2, "l_qty"),), F),), ("a",))
    val = L.Project(avg, (h.call("mul", E.Literal(0.9, F), E.Column("a", F), t=F),), ("v",))
    pred = h.and_(h.eq(h.col(p, "p_partkey"), h.col(li, "l_partkey")),
                  h.call("eq", h.col(p, "p_brand"), h.lit(1, I)),
                  h.call("lt", h.col(li, "l_qty"), E.ScalarSubquery(val, F)))
    plan = L.Aggregate(L.Filter(cross(li, p), pred), (), (),
                       (E.AggCall("sum", (h.col(li, "l_qty"),), I),), ("total",))
    out = check(h, plan)
    # the left join of the decorrelated subquery became inner: l_qty < v rejects NULLs;
    # the subquery's aggregate reads only the lineitem rows of brand-1 parts (a semi join)
    assert kinds(out) == ["inner", "inner", "semi"]
    assert h.run(plan)[0][0] is not None


def test_q21_exists_not_exists_with_residual(h):
    s, l1, o, n = t(h, "supplier"), t(h, "lineitem", "l1"), t(h, "orders"), t(h, "nation")
    l2, l3 = t(h, "lineitem", "l2"), t(h, "lineitem", "l3")
    ex = L.Filter(l2, h.and_(h.eq(h.col(l2, "l_orderkey"), h.col(l1, "l_orderkey")),
                             h.call("ne", h.col(l2, "l_suppkey"), h.col(l1, "l_suppkey"))))
    nex = L.Filter(l3, h.and_(h.eq(h.col(l3, "l_orderkey"), h.col(l1, "l_orderkey")),
                              h.call("ne", h.col(l3, "l_suppkey"), h.col(l1, "l_suppkey")),
                              h.call("gt", h.col(l3, "l_receipt"), h.col(l3, "l_commit"))))
    pred = h.and_(h.eq(h.col(s, "s_suppkey"), h.col(l1, "l_suppkey")),
                  h.eq(h.col(o, "o_orderkey"), h.col(l1, "l_orderkey")),
                  h.call("ne", h.col(o, "o_status"), E.Literal("X", dt.STRING)),
                  h.call("gt", h.col(l1, "l_receipt"), h.col(l1, "l_commit")),
                  E.Exists(ex), E.Exists(nex, negated=True),
                  h.eq(h.col(s, "s_nationkey"), h.col(n, "n_nationkey")),
                  h.call("ne", h.col(n, "n_name"), E.Literal("N9", dt.STRING)))
    plan = L.Aggregate(L.Filter(cross(s, l1, o, n), pred), (h.col(s, "s_suppkey"),), ("sk",),
                       (count_star(),), ("numwait",))
    out = check(h, plan)
    assert kinds(out) == ["anti", "inner", "inner", "inner", "semi"]
    anti = next(j for j in walk(out) if isinstance(j, L.Join) and j.kind == "anti")
    assert any(c.fn == "ne" for c in E.conjuncts(anti.condition))
    assert h.run(plan)


def test_q22_uncorrelated_scalar_and_not_exists(h):
    c, c2, o = t(h, "customer"), t(h, "customer", "c2"), t(h, "orders")
    avg = L.Aggregate(L.Filter(c2, h.call("gt", h.col(c2, "c_acctbal"), E.Literal(0.0, F))),
                      (), (), (E.AggCall("avg", (h.col(c2, "c_acctbal"),), F),), ("avgbal",))
    no_orders = L.Filter(o, h.eq(h.col(o, "o_custkey"), h.col(c, "c_custkey")))
    pred = h.and_(h.call("gt", h.col(c, "c_acctbal"), E.ScalarSubquery(avg, F)),
                  E.Exists(no_orders, negated=True))
    inner = L.Project(L.Filter(c, pred), (h.col(c, "c_phone"), h.col(c, "c_acctbal")),
                      ("cntry", "bal"))
    plan = L.Aggregate(inner, (E.Column("cntry", I),), ("code",),
                       (count_star(), E.AggCall("sum", (E.Column("bal", F),), F)), ("n", "tot"))
    out = check(h, plan)
    assert kinds(out) == ["anti", "inner"]
    assert any(isinstance(n, L.EnforceSingleRow) for n in walk(out))


def test_trace_and_disabled_rules(h):
    o, li = t(h, "orders"), t(h, "lineitem")
    plan = L.Filter(cross(o, li), h.eq(h.col(o, "o_orderkey"), h.col(li, "l_orderkey")))
    trace = []
    out = optimize(plan, trace=trace, disabled={"reorder_joins"})
    names = [name for name, _, _ in trace]
    assert "reorder_joins" not in names and names[:2] == ["decorrelate_subqueries", "fold_constants"]
    assert all(sec >= 0 for _, _, sec in trace) and trace[-1][1] == out
    assert optimize(plan, disabled=set(opt.RULE_NAMES)) == plan
    with pytest.raises(ProgrammingError, match="no_such_rule"):
        optimize(plan, disabled={"no_such_rule"})


def test_schema_change_is_an_internal_error(h, monkeypatch):
    o = t(h, "orders")

    def drop_columns(plan, ctx):
        return h.project(plan, "o_orderkey")

    monkeypatch.setattr(opt, "RULES", opt.RULES + (drop_columns,))
    with pytest.raises(InternalError, match="drop_columns"):
        optimize(o)


def test_fixpoint_is_stable(h):
    o, li, c = t(h, "orders"), t(h, "lineitem"), t(h, "customer")
    pred = h.and_(h.eq(h.col(o, "o_orderkey"), h.col(li, "l_orderkey")),
                  h.eq(h.col(c, "c_custkey"), h.col(o, "o_custkey")),
                  h.call("gt", h.col(li, "l_qty"), h.lit(10, I)))
    plan = h.project(L.Filter(cross(c, o, li), pred), "c_custkey", "l_qty")
    out = check(h, plan)
    assert optimize(out) == out
