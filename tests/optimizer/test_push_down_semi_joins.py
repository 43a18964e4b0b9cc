"""push_down_semi_joins: a semi/anti join moves to the join input whose
columns its condition reads, never to a side whose rows it must not drop."""

import pyarrow as pa

from quiver import datatypes as dt
from quiver.planner import logical as L
from quiver.planner.expr import Call, Column
from quiver.planner.optimizer.push_down_semi_joins import push_down_semi_joins


class Source:
    num_rows = 10
    schema = pa.schema([])


def scan(name, *cols):
    return L.Scan(name, Source(), tuple(L.Field(f"{c}#{name}", dt.INT64) for c in cols), cols)


def col(s, i):
    f = s.fields[i]
    return Column(f.name, f.dtype)


def eq(a, b):
    return Call("eq", (a, b), dt.BOOL)


C, O, S = scan("c", "custkey"), scan("o", "orderkey", "custkey"), scan("s", "key")


def test_semi_moves_onto_the_side_it_filters():
    inner = L.Join(C, O, "inner", eq(col(C, 0), col(O, 1)))
    semi = L.Join(inner, S, "semi", eq(col(O, 0), col(S, 0)))
    out = push_down_semi_joins(semi, None)
    assert out == L.Join(C, L.Join(O, S, "semi", semi.condition), "inner", inner.condition)


def test_not_into_the_null_supplying_side_of_an_outer_join():
    outer = L.Join(C, O, "left", eq(col(C, 0), col(O, 1)))
    anti = L.Join(outer, S, "anti", eq(col(O, 0), col(S, 0)))
    assert push_down_semi_joins(anti, None) == anti


def test_condition_over_both_sides_stays():
    inner = L.Join(C, O, "inner", eq(col(C, 0), col(O, 1)))
    cond = Call("and", (eq(col(O, 0), col(S, 0)), eq(col(C, 0), col(S, 0))), dt.BOOL)
    semi = L.Join(inner, S, "semi", cond)
    assert push_down_semi_joins(semi, None) == semi


def test_through_a_project_that_keeps_the_columns():
    proj = L.Project(O, (col(O, 0),), (O.fields[0].name,))
    semi = L.Join(proj, S, "semi", eq(col(O, 0), col(S, 0)))
    out = push_down_semi_joins(semi, None)
    assert out == L.Project(L.Join(O, S, "semi", semi.condition), proj.exprs, proj.names)


def _sized(name, rows, *cols):
    class Sized:
        num_rows = rows
        schema = pa.schema([])
    return L.Scan(name, Sized(), tuple(L.Field(f"{c}#{name}", dt.INT64) for c in cols), cols)


def test_stays_above_a_filtering_join_when_its_subquery_is_as_large():
    # TPC-H Q21's shape: EXISTS over a table as large as the rows it would
    # filter, above a join with a filtered dimension that keeps few of them
    fact = _sized("l", 1_000_000, "orderkey", "suppkey")
    dim = _sized("n", 1000, "suppkey", "flag")
    dim_filtered = L.Filter(dim, eq(col(dim, 1), Column(dim.fields[1].name, dt.INT64)))
    sub = _sized("l2", 1_000_000, "orderkey")
    inner = L.Join(fact, dim_filtered, "inner", eq(col(fact, 1), col(dim, 0)))
    semi = L.Join(inner, sub, "semi", eq(col(fact, 0), col(sub, 0)))
    assert push_down_semi_joins(semi, None) == semi
    # a small subquery side still goes down onto the rows it filters
    small = _sized("s", 100, "orderkey")
    semi = L.Join(inner, small, "semi", eq(col(fact, 0), col(small, 0)))
    assert push_down_semi_joins(semi, None) == L.Join(
        L.Join(fact, small, "semi", semi.condition), dim_filtered, "inner", inner.condition)
