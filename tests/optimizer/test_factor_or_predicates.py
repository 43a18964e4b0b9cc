import pyarrow as pa

from quiver import datatypes as dt
from quiver.planner.expr import Call, Column, Literal
from quiver.planner.optimizer.factor_or_predicates import factor_expression

A = Column("a#1", dt.INT64)
B = Column("b#2", dt.INT64)
X = Column("x#3", dt.INT64)


def eq(l, r):
    return Call("eq", (l, r), dt.BOOL)


def and_(l, r):
    return Call("and", (l, r), dt.BOOL)


def or_(l, r):
    return Call("or", (l, r), dt.BOOL)


def test_common_conjunct_is_pulled_out():
    x1, x2 = eq(X, Literal(1, pa.int32())), eq(X, Literal(2, pa.int32()))
    e = or_(and_(eq(A, B), x1), and_(eq(A, B), x2))
    assert factor_expression(e) == and_(eq(A, B), or_(x1, x2))


def test_no_common_conjunct_is_unchanged():
    e = or_(eq(A, B), eq(X, A))
    assert factor_expression(e) is e


def test_branch_equal_to_common_part_absorbs_the_or():
    x1 = eq(X, Literal(1, pa.int32()))
    e = or_(eq(A, B), and_(eq(A, B), x1))
    assert factor_expression(e) == eq(A, B)


def test_three_branches():
    xs = [eq(X, Literal(i, pa.int32())) for i in range(3)]
    e = or_(or_(and_(eq(A, B), xs[0]), and_(eq(A, B), xs[1])), and_(xs[2], eq(A, B)))
    out = factor_expression(e)
    assert out == and_(eq(A, B), or_(or_(xs[0], xs[1]), xs[2]))
