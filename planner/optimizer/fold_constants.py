"""Rule: evaluate constant sub-expressions and simplify boolean logic.

    Filter(l_shipdate#3 <= DATE '1998-12-01' - INTERVAL '90' DAY)
 -> Filter(l_shipdate#3 <= DATE '1998-09-02')

An expression with no columns (and nothing volatile, aggregate or windowed)
is evaluated once with the executor's constant evaluator
(`executor.eval.evaluate_scalar`, reached through the OptimizerContext). An
expression whose evaluation raises (1/0, a bad CAST) is left alone so that
the error surfaces at run time with its context.

Boolean rules (valid under SQL three-valued logic): x AND TRUE -> x,
x AND FALSE -> FALSE, x OR FALSE -> x, x OR TRUE -> TRUE, NOT NOT x -> x.
A Filter whose predicate is FALSE or NULL becomes an empty Values; one whose
predicate is TRUE disappears.
"""

from __future__ import annotations

import datetime
import decimal

import pyarrow as pa

from ..expr import (AggCall, Call, Case, Cast, Column, Expr, InList, Literal,
                    WindowCall, SUBQUERY_TYPES)
from ..logical import Filter, LogicalPlan, Values
from ..tree import map_expressions, transform_up
from .util import VOLATILE_FUNCTIONS

_FOLDABLE = (Call, Cast, Case, InList)


def fold_constants(plan: LogicalPlan, ctx) -> LogicalPlan:
    evaluator = ctx.scalar_evaluator() if ctx is not None else None

    def fold_node(node):
        node = map_expressions(node, lambda e: fold_expression(e, evaluator))
        if isinstance(node, Filter) and isinstance(node.predicate, Literal):
            if node.predicate.value is True:
                return node.input
            return Values(node.schema, ())
        return node

    return transform_up(plan, fold_node)[0]


def fold_expression(e, evaluator):
    """Fold constants and simplify booleans in one expression tree."""
    def fn(x):
        if isinstance(x, _FOLDABLE):
            x = _simplify_boolean(x)
            if evaluator is not None and _is_constant(x):
                return _evaluate(x, evaluator)
        return x
    return transform_up(e, fn)[0]


def _is_constant(e: Expr) -> bool:
    if isinstance(e, Literal):
        return True
    if isinstance(e, (Column, AggCall, WindowCall) + SUBQUERY_TYPES):
        return False
    if isinstance(e, Call):
        if e.fn in VOLATILE_FUNCTIONS:
            return False
        return all(_is_constant(a) for a in e.args)
    if isinstance(e, Cast):
        return _is_constant(e.arg)
    if isinstance(e, Case):
        parts = e.conditions + e.results + ((e.default,) if e.default is not None else ())
        return all(_is_constant(a) for a in parts)
    if isinstance(e, InList):
        return _is_constant(e.arg) and all(_is_constant(v) for v in e.values)
    return False


def _evaluate(e: Expr, evaluator) -> Expr:
    try:
        value = evaluator(e)
    except Exception:  # noqa: BLE001 - leave the error to run time
        return e
    if isinstance(value, Literal):
        return value if value.dtype == e.dtype else Literal(value.value, e.dtype)
    if isinstance(value, pa.Scalar):
        value = value.as_py()
    return Literal(_plain(value), e.dtype)


def _plain(value):
    """Python value as a Literal holds it (intervals as a (m, d, ns) tuple)."""
    if isinstance(value, (bool, int, float, str, decimal.Decimal,
                          datetime.date, datetime.datetime)) or value is None:
        return value
    if hasattr(value, "months") and hasattr(value, "days"):
        return (value.months, value.days, value.nanoseconds)
    return value


def _is_true(e) -> bool:
    return isinstance(e, Literal) and e.value is True


def _is_false(e) -> bool:
    return isinstance(e, Literal) and e.value is False


def _simplify_case(e: Case) -> Expr:
    """Drop the WHEN branches whose condition is a constant FALSE or NULL."""
    keep = [(c, r) for c, r in zip(e.conditions, e.results)
            if not (isinstance(c, Literal) and c.value is not True)]
    if len(keep) == len(e.conditions):
        return e
    if not keep:
        return e.default if e.default is not None else Literal(None, e.dtype)
    return Case(tuple(c for c, _ in keep), tuple(r for _, r in keep), e.default, e.dtype)


def _simplify_boolean(e: Expr) -> Expr:
    if isinstance(e, Case):
        return _simplify_case(e)
    if not isinstance(e, Call):
        return e
    if e.fn == "and" and len(e.args) == 2:
        a, b = e.args
        if _is_false(a) or _is_false(b):
            return Literal(False, e.dtype)
        if _is_true(a):
            return b
        if _is_true(b):
            return a
    elif e.fn == "or" and len(e.args) == 2:
        a, b = e.args
        if _is_true(a) or _is_true(b):
            return Literal(True, e.dtype)
        if _is_false(a):
            return b
        if _is_false(b):
            return a
    elif e.fn == "not":
        inner = e.args[0]
        if isinstance(inner, Call) and inner.fn == "not":
            return inner.args[0]
    return e
