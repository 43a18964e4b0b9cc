"""Row-count estimates for logical plans, used to order joins.

`estimate_rows(plan)` is deliberately simple (no histograms): a Scan starts
from its source's `num_rows` (a storage Dataset or a pyarrow Table both have
it) and every filter conjunct multiplies by a fixed selectivity:

    equality with a constant 0.1, range 0.3, LIKE 0.25, IN list 0.1 per value,
    IS NULL 0.1, <> 0.9, anything else 0.5; OR / NOT combine these.

Joins on equalities give max(left, right) (a foreign-key join keeps the
larger side), cross joins the product, aggregates a tenth of their input.
Only relative sizes matter to the join orderer.
"""

from __future__ import annotations

from .expr import Call, Expr, InList, Literal, columns_of, conjuncts
from .logical import (Aggregate, Distinct, EnforceSingleRow, Filter, Join, Limit,
                      LogicalPlan, Project, Scan, SetOp, Sort, Union, Values, Window)

DEFAULT_ROWS = 1_000_000.0
EQ_SELECTIVITY = 0.1
RANGE_SELECTIVITY = 0.3
LIKE_SELECTIVITY = 0.25
DEFAULT_SELECTIVITY = 0.5
AGGREGATE_REDUCTION = 0.1
SEMI_SELECTIVITY = 0.5

_RANGE = ("lt", "le", "gt", "ge")


def source_rows(source) -> float | None:
    n = getattr(source, "num_rows", None)
    if callable(n):
        try:
            n = n()
        except Exception:  # noqa: BLE001 - statistics are best effort
            return None
    if isinstance(n, (int, float)) and n >= 0:
        return float(n)
    return None


def selectivity(pred: Expr) -> float:
    """Fraction of rows a predicate keeps (a guess)."""
    if isinstance(pred, Literal):
        return 1.0 if pred.value is True else 0.0
    if isinstance(pred, InList):
        s = min(1.0, EQ_SELECTIVITY * max(1, len(pred.values)))
        return 1.0 - s if pred.negated else s
    if not isinstance(pred, Call):
        return DEFAULT_SELECTIVITY
    fn = pred.fn
    if fn == "and":
        out = 1.0
        for c in conjuncts(pred):
            out *= selectivity(c)
        return out
    if fn == "or":
        a, b = (selectivity(x) for x in pred.args[:2])
        return a + b - a * b
    if fn == "not":
        return 1.0 - selectivity(pred.args[0])
    if fn in ("eq", "is_not_distinct_from"):
        return EQ_SELECTIVITY
    if fn == "ne":
        return 1.0 - EQ_SELECTIVITY
    if fn in _RANGE:
        return RANGE_SELECTIVITY
    if fn in ("like", "ilike"):
        return LIKE_SELECTIVITY
    if fn == "is_null":
        return EQ_SELECTIVITY
    if fn == "is_not_null":
        return 1.0 - EQ_SELECTIVITY
    return DEFAULT_SELECTIVITY


def _is_equi(pred: Expr, left: set[str], right: set[str]) -> bool:
    if not (isinstance(pred, Call) and pred.fn == "eq"):
        return False
    ca, cb = columns_of(pred.args[0]), columns_of(pred.args[1])
    return bool(ca and cb) and ((ca <= left and cb <= right) or (ca <= right and cb <= left))


def estimate_rows(plan: LogicalPlan) -> float:
    """Estimated output rows of a logical plan (at least 1.0 unless empty Values)."""
    if isinstance(plan, Scan):
        n = source_rows(plan.source)
        n = DEFAULT_ROWS if n is None else n
        for f in plan.filters:
            n *= selectivity(f)
        return max(n, 1.0)
    if isinstance(plan, Values):
        return float(len(plan.rows))
    if isinstance(plan, Filter):
        return max(estimate_rows(plan.input) * selectivity(plan.predicate), 1.0)
    if isinstance(plan, (Project, Sort, Window)):
        return estimate_rows(plan.input)
    if isinstance(plan, EnforceSingleRow):
        return 1.0
    if isinstance(plan, Limit):
        n = max(estimate_rows(plan.input) - plan.offset, 0.0)
        return n if plan.limit is None else min(n, float(plan.limit))
    if isinstance(plan, Aggregate):
        if not plan.group_exprs:
            return 1.0
        return max(estimate_rows(plan.input) * AGGREGATE_REDUCTION, 1.0)
    if isinstance(plan, Distinct):
        return max(estimate_rows(plan.input) * SEMI_SELECTIVITY, 1.0)
    if isinstance(plan, Union):
        return sum(estimate_rows(i) for i in plan.inputs)
    if isinstance(plan, SetOp):
        return estimate_rows(plan.left)
    if isinstance(plan, Join):
        return _estimate_join(plan)
    return DEFAULT_ROWS


def _estimate_join(plan: Join) -> float:
    left, right = estimate_rows(plan.left), estimate_rows(plan.right)
    if plan.kind in ("semi", "anti", "null_aware_anti"):
        return max(left * SEMI_SELECTIVITY, 1.0)
    lnames = {f.name for f in plan.left.schema}
    rnames = {f.name for f in plan.right.schema}
    preds = conjuncts(plan.condition)
    equi = [p for p in preds if _is_equi(p, lnames, rnames)]
    if equi:
        rows = max(left, right)
        for p in preds:
            if p not in equi:
                rows *= selectivity(p)
    else:
        rows = left * right
        for p in preds:
            rows *= selectivity(p)
    if plan.kind == "left":
        rows = max(rows, left)
    elif plan.kind == "right":
        rows = max(rows, right)
    elif plan.kind == "full":
        rows = max(rows, left + right)
    return max(rows, 1.0)
