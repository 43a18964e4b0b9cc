"""derive_filters_from_or: each table of a multi-table OR gets the part of
every branch that is about it, and only where dropping rows is safe."""

import pyarrow as pa

from quiver import datatypes as dt
from quiver.planner import logical as L
from quiver.planner.expr import Call, Column, Literal
from quiver.planner.optimizer.derive_filters_from_or import derive_filters_from_or


class Source:
    def __init__(self, rows):
        self.num_rows = rows
        self.schema = pa.schema([])


def scan(name, cols):
    fields = tuple(L.Field(f"{c}#{name}", dt.STRING) for c in cols)
    return L.Scan(name, Source(10), fields, tuple(cols))


def col(s, i=0):
    f = s.fields[i]
    return Column(f.name, f.dtype)


def eq(a, v):
    return Call("eq", (a, Literal(v, dt.STRING)), dt.BOOL)


def and_(a, b):
    return Call("and", (a, b), dt.BOOL)


def or_(a, b):
    return Call("or", (a, b), dt.BOOL)


N1, N2 = scan("n1", ["name"]), scan("n2", ["name"])
Q7_OR = or_(and_(eq(col(N1), "FRANCE"), eq(col(N2), "GERMANY")),
            and_(eq(col(N1), "GERMANY"), eq(col(N2), "FRANCE")))


def scans(plan):
    from quiver.planner.tree import walk
    return {n.table: n for n in walk(plan) if isinstance(n, L.Scan)}


def test_each_table_gets_its_own_disjunction():
    plan = L.Filter(L.Join(N1, N2, "inner", None), Q7_OR)
    out = derive_filters_from_or(plan, None)
    got = scans(out)
    assert got["n1"].filters == (or_(eq(col(N1), "FRANCE"), eq(col(N1), "GERMANY")),)
    assert got["n2"].filters == (or_(eq(col(N2), "GERMANY"), eq(col(N2), "FRANCE")),)
    assert out.predicate == Q7_OR            # the OR itself stays
    assert derive_filters_from_or(out, None) == out   # a fixpoint


def test_branch_without_a_part_for_a_table_derives_nothing_for_it():
    pred = or_(and_(eq(col(N1), "FRANCE"), eq(col(N2), "GERMANY")), eq(col(N2), "FRANCE"))
    out = derive_filters_from_or(L.Filter(L.Join(N1, N2, "inner", None), pred), None)
    got = scans(out)
    assert got["n1"].filters == ()
    assert got["n2"].filters == (or_(eq(col(N2), "GERMANY"), eq(col(N2), "FRANCE")),)


def test_null_supplying_side_of_an_outer_join_is_left_alone():
    plan = L.Filter(L.Join(N1, N2, "left", None), Q7_OR)
    got = scans(derive_filters_from_or(plan, None))
    assert got["n2"].filters == ()
    assert got["n1"].filters != ()
