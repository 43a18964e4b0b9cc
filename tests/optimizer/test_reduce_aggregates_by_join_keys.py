"""reduce_aggregates_by_join_keys: an aggregate joined on a group key gets
its input semi-joined with the small filtered scan that bounds the other
side's key (a copy with fresh names); answers stay the same, NULL keys and
duplicate keys included, and the rule does nothing where it cannot help or
would be wrong."""

from quiver.planner.optimizer import OptimizerContext
from quiver.planner.optimizer.reduce_aggregates_by_join_keys import \
    reduce_aggregates_by_join_keys
from quiver.planner.optimizer.util import produced_names
from quiver.planner.tree import walk


def rule(plan):
    return reduce_aggregates_by_join_keys(plan, OptimizerContext())


def _tables(h, fact_rows=None, dim_rows=None):
    I = h.dt.INT64
    fact_rows = fact_rows if fact_rows is not None else [
        {"k": k % 7 if k % 11 else None, "q": k} for k in range(60)]
    dim_rows = dim_rows if dim_rows is not None else [
        {"k": k, "brand": "b" if k in (2, 3) else "a"} for k in range(7)]
    fact = h.scan("fact", {"k": I, "q": I}, rows=fact_rows)
    fact2 = h.scan("fact", {"k": I, "q": I}, rows=fact_rows, tag="f2")
    dim = h.scan("dim", {"k": I, "brand": h.dt.STRING}, rows=dim_rows)
    return fact, fact2, dim


def _q17(h, dim, fact, fact2, outer_kind="inner"):
    """sum(q) of fact rows of 'b' brands whose q is below their key's average."""
    filtered = h.L.Scan(dim.table, dim.source, dim.fields, dim.columns,
                        (h.eq(h.col(dim, "brand"), h.lit("b", h.dt.STRING)),))
    outer = h.L.Join(fact, h.project(filtered, "k"), outer_kind,
                     h.eq(h.col(fact, "k"), h.col(filtered, "k")))
    agg = h.L.Aggregate(fact2, (h.col(fact2, "k"),), ("gk",),
                        (h.E.AggCall("avg", (h.col(fact2, "q"),), h.dt.FLOAT64),), ("avg_q",))
    key = h.col(filtered, "k")
    return h.L.Join(outer, agg, "inner",
                    h.and_(h.eq(key, h.E.Column("gk", h.dt.INT64)),
                           h.call("lt", h.col(fact, "q"), h.E.Column("avg_q", h.dt.FLOAT64))))


def _semis(plan):
    return [n for n in walk(plan) if isinstance(n, type(plan)) and n.kind == "semi"]


def test_the_aggregate_input_is_semi_joined_with_a_copy_of_the_filtered_scan(h):
    fact, fact2, dim = _tables(h)
    plan = _q17(h, dim, fact, fact2)
    out = rule(plan)
    [semi] = _semis(out)
    agg = out.right
    assert isinstance(agg, h.L.Aggregate) and agg.input is semi and semi.left == fact2
    copied = [n for n in walk(semi.right) if isinstance(n, h.L.Scan)]
    assert [s.table for s in copied] == ["dim"] and copied[0].filters
    assert not (produced_names(semi.right) & produced_names(plan))   # fresh names
    assert out.schema == plan.schema
    assert h.same_rows(out, plan) and h.run(out)
    assert rule(out) == out                           # applied once


def test_the_bound_can_come_through_a_semi_join_and_a_project(h):
    """The Q20 shape: partsupp semi-joined with filtered parts, joined with
    an aggregate of lineitem by part."""
    fact, fact2, dim = _tables(h)
    filtered = h.L.Scan(dim.table, dim.source, dim.fields, dim.columns,
                        (h.eq(h.col(dim, "brand"), h.lit("b", h.dt.STRING)),))
    outer = h.project(h.L.Join(fact, h.project(filtered, "k"), "semi",
                               h.eq(h.col(fact, "k"), h.col(filtered, "k"))), "k", "q")
    agg = h.L.Aggregate(fact2, (h.col(fact2, "k"),), ("gk",),
                        (h.E.AggCall("sum", (h.col(fact2, "q"),), h.dt.INT64),), ("s",))
    plan = h.L.Join(agg, outer, "inner", h.eq(h.E.Column("gk", h.dt.INT64), h.col(fact, "k")))
    out = rule(plan)
    assert len(_semis(out)) == 2 and isinstance(out.left.input, h.L.Join)
    assert h.same_rows(out, plan) and h.run(out)


def test_nothing_when_the_bound_is_not_filtered(h):
    fact, fact2, dim = _tables(h)
    outer = h.L.Join(fact, h.project(dim, "k"), "inner", h.eq(h.col(fact, "k"), h.col(dim, "k")))
    agg = h.L.Aggregate(fact2, (h.col(fact2, "k"),), ("gk",),
                        (h.E.AggCall("count_star", (), h.dt.INT64),), ("n",))
    plan = h.L.Join(outer, agg, "inner", h.eq(h.col(dim, "k"), h.E.Column("gk", h.dt.INT64)))
    assert rule(plan) == plan


def test_nothing_when_the_bound_is_not_small(h):
    big_dim = [{"k": k, "brand": "b"} for k in range(400)]
    fact, fact2, dim = _tables(h, dim_rows=big_dim)
    plan = _q17(h, dim, fact, fact2)
    assert rule(plan) == plan


def test_nothing_through_the_null_padded_side_of_an_outer_join(h):
    """With the filtered table on the right of a LEFT join, the outer key
    (coming from it) can be NULL-padded, but more to the point the fact's
    key is not bounded by it: the rule must not take it as a bound for a
    key read from the left side."""
    fact, fact2, dim = _tables(h)
    filtered = h.L.Scan(dim.table, dim.source, dim.fields, dim.columns,
                        (h.eq(h.col(dim, "brand"), h.lit("b", h.dt.STRING)),))
    outer = h.L.Join(fact, h.project(filtered, "k"), "left",
                     h.eq(h.col(fact, "k"), h.col(filtered, "k")))
    agg = h.L.Aggregate(fact2, (h.col(fact2, "k"),), ("gk",),
                        (h.E.AggCall("count_star", (), h.dt.INT64),), ("n",))
    plan = h.L.Join(outer, agg, "inner", h.eq(h.col(fact, "k"), h.E.Column("gk", h.dt.INT64)))
    assert rule(plan) == plan


def _filtered_keys(h, dim):
    filtered = h.L.Scan(dim.table, dim.source, dim.fields, dim.columns,
                        (h.eq(h.col(dim, "brand"), h.lit("b", h.dt.STRING)),))
    return filtered, h.project(filtered, "k")


def _count_by_key(h, fact2):
    return h.L.Aggregate(fact2, (h.col(fact2, "k"),), ("gk",),
                         (h.E.AggCall("count_star", (), h.dt.INT64),), ("n",))


def test_a_left_join_reduces_its_right_aggregate(h):
    """A scalar subquery in SELECT decorrelates to a LEFT join with the
    aggregate on the right: groups no left row matches can go; the left
    rows without a group stay, with NULLs."""
    fact, fact2, dim = _tables(h)
    filtered, keys = _filtered_keys(h, dim)
    agg = _count_by_key(h, fact2)
    plan = h.L.Join(keys, agg, "left", h.eq(h.col(filtered, "k"), h.E.Column("gk", h.dt.INT64)))
    out = rule(plan)
    [semi] = _semis(out)
    assert out.right.input is semi and out.left == plan.left
    assert h.same_rows(out, plan) and h.run(out)
    # a bound key no group has: its row stays, NULL-padded
    dim_rows = [{"k": k, "brand": "b" if k in (2, 3, 40) else "a"} for k in range(41)]
    fact, fact2, dim = _tables(h, dim_rows=dim_rows,
                               fact_rows=[{"k": k % 7, "q": k} for k in range(400)])
    filtered, keys = _filtered_keys(h, dim)
    plan = h.L.Join(keys, _count_by_key(h, fact2), "left",
                    h.eq(h.col(filtered, "k"), h.E.Column("gk", h.dt.INT64)))
    out = rule(plan)
    assert len(_semis(out)) == 1
    assert h.same_rows(out, plan) and any(r[-1] is None for r in h.run(out))


def test_a_left_join_never_reduces_its_preserved_side(h):
    fact, fact2, dim = _tables(h)
    filtered, keys = _filtered_keys(h, dim)
    plan = h.L.Join(_count_by_key(h, fact2), keys, "left",
                    h.eq(h.E.Column("gk", h.dt.INT64), h.col(filtered, "k")))
    assert rule(plan) == plan


def test_semi_and_anti_joins_reduce_their_right_aggregate_but_not_not_in(h):
    fact, fact2, dim = _tables(h)
    filtered, keys = _filtered_keys(h, dim)
    for kind in ("semi", "anti"):
        plan = h.L.Join(keys, _count_by_key(h, fact2), kind,
                        h.eq(h.col(filtered, "k"), h.E.Column("gk", h.dt.INT64)))
        out = rule(plan)
        assert len(_semis(out)) == (2 if kind == "semi" else 1) and out.right.input.kind == "semi"
        assert h.same_rows(out, plan), kind
    plan = h.L.Join(keys, _count_by_key(h, fact2), "null_aware_anti",
                    h.eq(h.col(filtered, "k"), h.E.Column("gk", h.dt.INT64)))
    assert rule(plan) == plan
