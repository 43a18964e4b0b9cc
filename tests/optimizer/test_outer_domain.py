"""Subqueries correlated with a column two or more levels up (outer_domain.py):
each rewrite must give the rows the naive per-row evaluation gives, NULL
outer values and counts over no rows included, or raise NotSupportedError."""

import pyarrow as pa
import pytest

from quiver.errors import NotSupportedError
from quiver import datatypes as dt
from quiver.planner import expr as E
from quiver.planner import logical as L
from quiver.planner.optimizer import OptimizerContext
from quiver.planner.optimizer.decorrelate_subqueries import decorrelate_subqueries
from quiver.planner.optimizer.outer_domain import DomainRef
from quiver.planner.tree import expressions, walk

I = dt.INT64


def _rule(plan):
    return decorrelate_subqueries(plan, OptimizerContext())


def _decorrelated(plan):
    assert not any(isinstance(x, E.SUBQUERY_TYPES)
                   for n in walk(plan) for e in expressions(n) for x in walk(e))
    assert not any(isinstance(n, DomainRef) for n in walk(plan))


def _orders(h, tag="o"):
    rows = [dict(o_orderkey=k, o_custkey=c, o_total=t)
            for k, c, t in [(1, 10, 5), (2, 10, 7), (3, 20, 1), (4, 30, 9), (5, None, 3),
                            (6, None, None)]]
    return h.scan("orders", {"o_orderkey": I, "o_custkey": I, "o_total": I}, rows=rows, tag=tag)


def _lineitem(h, tag="l"):
    rows = [dict(l_orderkey=k, l_suppkey=s, l_qty=q)
            for k, s, q in [(1, 100, 3), (1, 101, 5), (2, 100, 1), (3, 102, 8),
                            (3, 102, 2), (4, None, 4), (None, 103, 6)]]
    return h.scan("lineitem", {"l_orderkey": I, "l_suppkey": I, "l_qty": I},
                  rows=rows, tag=tag)


def _supp(h, tag="s"):
    rows = [dict(s_suppkey=k, s_custkey=c) for k, c in
            [(100, 10), (101, 20), (102, 10), (103, None), (104, 30)]]
    return h.scan("supplier", {"s_suppkey": I, "s_custkey": I}, rows=rows, tag=tag)


def _count(plan):
    return L.Aggregate(plan, (), (), (E.AggCall("count_star", (), I),), ("n",))


def _check(h, plan):
    out = _rule(plan)
    _decorrelated(out)
    assert out.schema == plan.schema
    assert h.same_rows(plan, out)
    return out


@pytest.mark.parametrize("negated", [False, True])
def test_count_of_in_correlated_two_levels_up(h, negated):
    # SELECT o_orderkey, (SELECT count(*) FROM lineitem l WHERE l.l_suppkey [NOT] IN
    #   (SELECT s_suppkey FROM supplier s WHERE s.s_custkey = o.o_custkey)) FROM orders o
    # o_custkey NULL: IN an empty set (count 0), NOT IN an empty set (every row)
    o, l, s = _orders(h), _lineitem(h), _supp(h)
    inner = h.project(L.Filter(s, h.eq(h.col(s, "s_custkey"), h.col(o, "o_custkey"))),
                      "s_suppkey")
    middle = _count(L.Filter(l, E.InSubquery(h.col(l, "l_suppkey"), inner, negated=negated)))
    plan = L.Project(o, (h.col(o, "o_orderkey"), E.ScalarSubquery(middle, I)), ("k", "n"))
    out = _check(h, plan)
    got = dict(h.run(out))
    assert got[5] == (7 if negated else 0)   # NOT IN (empty) holds for every row, NULL too


@pytest.mark.parametrize("negated", [False, True])
def test_exists_with_non_equality_two_levels_up(h, negated):
    # WHERE [NOT] EXISTS (SELECT 1 FROM lineitem l WHERE l.l_orderkey = o.o_orderkey AND
    #   EXISTS (SELECT 1 FROM lineitem l2 WHERE l2.l_suppkey = l.l_suppkey AND l2.l_qty > o.o_total))
    o, l, l2 = _orders(h), _lineitem(h), _lineitem(h, "l2")
    inner = L.Filter(l2, h.and_(h.eq(h.col(l2, "l_suppkey"), h.col(l, "l_suppkey")),
                                h.call("gt", h.col(l2, "l_qty"), h.col(o, "o_total"))))
    middle = L.Filter(l, h.and_(h.eq(h.col(l, "l_orderkey"), h.col(o, "o_orderkey")),
                                E.Exists(inner)))
    plan = L.Filter(o, E.Exists(middle, negated=negated))
    _check(h, plan)


def test_scalar_in_select_list_of_the_middle_query(h):
    # o_total IN (SELECT (SELECT count(*) FROM lineitem l2 WHERE l2.l_orderkey = o.o_orderkey
    #                     AND l2.l_suppkey = s.s_suppkey) FROM supplier s), in the select list
    o, s, l2 = _orders(h), _supp(h), _lineitem(h, "l2")
    inner = _count(L.Filter(l2, h.and_(h.eq(h.col(l2, "l_orderkey"), h.col(o, "o_orderkey")),
                                       h.eq(h.col(l2, "l_suppkey"), h.col(s, "s_suppkey")))))
    middle = L.Project(s, (E.ScalarSubquery(inner, I),), ("c",))
    mark = E.InSubquery(h.call("sub", h.col(o, "o_total"), h.lit(4, I), t=I), middle)
    plan = L.Project(o, (h.col(o, "o_orderkey"), mark), ("k", "hit"))
    _check(h, plan)


def test_three_levels(h):
    # SELECT o_orderkey, (SELECT count(*) FROM supplier s WHERE EXISTS (SELECT 1 FROM
    #   lineitem l WHERE l.l_suppkey = s.s_suppkey AND EXISTS (SELECT 1 FROM orders o2
    #   WHERE o2.o_orderkey = l.l_orderkey AND o2.o_custkey = o.o_custkey))) FROM orders o
    o, s, l, o2 = _orders(h), _supp(h), _lineitem(h), _orders(h, "o2")
    level3 = L.Filter(o2, h.and_(h.eq(h.col(o2, "o_orderkey"), h.col(l, "l_orderkey")),
                                 h.eq(h.col(o2, "o_custkey"), h.col(o, "o_custkey"))))
    level2 = L.Filter(l, h.and_(h.eq(h.col(l, "l_suppkey"), h.col(s, "s_suppkey")),
                                E.Exists(level3)))
    middle = _count(L.Filter(s, E.Exists(level2)))
    plan = L.Project(o, (h.col(o, "o_orderkey"), E.ScalarSubquery(middle, I)), ("k", "n"))
    _check(h, plan)


def test_two_places_of_the_middle_query_read_the_outer_one(h):
    # WHERE EXISTS (SELECT 1 FROM (SELECT * FROM lineitem l WHERE EXISTS (SELECT 1 FROM
    #   supplier s WHERE s.s_suppkey = l.l_suppkey AND s.s_custkey = o.o_custkey)) x
    #   WHERE EXISTS (SELECT 1 FROM lineitem l2 WHERE l2.l_orderkey = x.l_orderkey
    #                 AND l2.l_qty < o.o_total))
    # the derived table's correlation is pulled up through the semi join above it
    o, l, s, l2 = _orders(h), _lineitem(h), _supp(h), _lineitem(h, "l2")
    low = L.Filter(s, h.and_(h.eq(h.col(s, "s_suppkey"), h.col(l, "l_suppkey")),
                             h.eq(h.col(s, "s_custkey"), h.col(o, "o_custkey"))))
    high = L.Filter(l2, h.and_(h.eq(h.col(l2, "l_orderkey"), h.col(l, "l_orderkey")),
                               h.call("lt", h.col(l2, "l_qty"), h.col(o, "o_total"))))
    middle = L.Filter(L.Filter(l, E.Exists(low)), E.Exists(high))
    _check(h, L.Filter(o, E.Exists(middle)))


def test_one_level_plans_are_left_as_they_were(h):
    o, l = _orders(h), _lineitem(h)
    corr = h.eq(h.col(l, "l_orderkey"), h.col(o, "o_orderkey"))
    plan = L.Filter(o, E.Exists(L.Filter(l, corr)))
    assert _rule(plan) == L.Join(o, l, "semi", corr)


def test_limit_in_the_middle_query_is_not_supported(h):
    o, l, s = _orders(h), _lineitem(h), _supp(h)
    inner = L.Filter(s, h.eq(h.col(s, "s_custkey"), h.col(o, "o_custkey")))
    middle = L.Limit(h.project(L.Filter(l, E.Exists(inner)), "l_orderkey"), 1)
    plan = L.Filter(o, E.InSubquery(h.col(o, "o_orderkey"), middle))
    with pytest.raises(NotSupportedError, match="Limit"):
        _rule(plan)


def test_a_column_without_null_safe_keys_is_not_supported(h):
    o, l, l2 = _orders(h), _lineitem(h), _lineitem(h, "l2")
    lst = L.Project(o, (h.col(o, "o_orderkey"), E.Column("tags", pa.list_(I))),
                    ("o_orderkey", "tags"))
    inner = L.Filter(l2, h.call("eq", E.Column("tags", pa.list_(I)),
                               E.Column("tags", pa.list_(I))))
    middle = L.Filter(l, E.Exists(inner))
    plan = L.Filter(lst, E.Exists(middle))
    with pytest.raises(NotSupportedError, match="two or more levels up"):
        _rule(plan)
