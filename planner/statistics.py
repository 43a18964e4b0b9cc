"""Row-count estimates for logical plans, used to order joins.

`estimate_rows(plan)` is deliberately simple (no histograms): a Scan starts
from its source's `num_rows` (a storage Dataset or a pyarrow Table both have
it) and every filter conjunct multiplies by a fixed selectivity:

    equality with a constant 0.1, range 0.3, LIKE 0.25, IN list 0.1 per value,
    IS NULL 0.1, <> 0.9, anything else 0.5; OR / NOT combine these. A scan's
    ranges on an integer or date column against constants (`d < DATE
    '1995-03-15'`, both ends of a BETWEEN) keep instead the share of the
    column's Parquet min..max they cover, as if values were uniform; the
    other conjuncts of a scan, when the optimizer sampled the table
    (optimizer/sample_scan_filters.py), the share of the sample they kept.

Joins on equalities give |L| |R| / max(ndv) of their keys, with distinct
counts bounded by Parquet min/max statistics and by the other key's table
(a foreign-key join keeps the larger side; a join on a nation key
multiplies), cross joins the product, aggregates a tenth of their input.
Only relative sizes matter to the join orderer.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import weakref

from .expr import Call, Expr, InList, Literal, columns_of, conjuncts
from .logical import (Aggregate, Distinct, EnforceSingleRow, Filter, Join, Limit,
                      LogicalPlan, Project, Scan, SetOp, Sort, Union, Unnest, Values, Window)

DEFAULT_ROWS = 1_000_000.0
UNNEST_GROWTH = 4.0          # elements per list, a guess
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


# node id -> (node, answer) while a planning pass remembers estimates; the
# node is kept so its id cannot be reused by another node during the pass
_remembered: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "remembered_estimates", default=None)


@contextlib.contextmanager
def remembered_estimates():
    """Within this block, estimate_rows and column_origin answer each plan
    node once. Plans are immutable, so an answer holds for the node's life;
    the join orderer asks again and again about the same subtrees (every
    candidate join re-estimates both inputs and walks them for key origins)."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def _recall(key, node, compute):
    memo = _remembered.get()
    if memo is None:
        return compute()
    hit = memo.get(key)
    if hit is not None and hit[0] is node:
        return hit[1]
    value = compute()
    memo[key] = (node, value)
    return value


def estimate_rows(plan: LogicalPlan) -> float:
    """Estimated output rows of a logical plan (at least 1.0 unless empty Values)."""
    return _recall(id(plan), plan, lambda: _estimate_rows(plan))


def _estimate_rows(plan: LogicalPlan) -> float:
    if isinstance(plan, Scan):
        n = source_rows(plan.source)
        n = DEFAULT_ROWS if n is None else n
        return max(n * scan_selectivity(plan), 1.0)
    if isinstance(plan, Values):
        return float(len(plan.rows))
    if isinstance(plan, Filter):
        return max(estimate_rows(plan.input) * selectivity(plan.predicate), 1.0)
    if isinstance(plan, (Project, Sort, Window)):
        return estimate_rows(plan.input)
    if isinstance(plan, Unnest):
        return estimate_rows(plan.input) * UNNEST_GROWTH
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


def base_rows(plan: LogicalPlan) -> float:
    """Rows of the table under a chain of filters and projections, before
    filtering (the estimate of anything else). The join orderer starts from
    the largest base table: the fact table is the one to probe, however
    selective its filters look to these fixed guesses."""
    while isinstance(plan, (Filter, Project, Sort, Window)):
        plan = plan.input
    if isinstance(plan, Scan):
        n = source_rows(plan.source)
        return DEFAULT_ROWS if n is None else n
    return estimate_rows(plan)


def _estimate_join(plan: Join) -> float:
    left, right = estimate_rows(plan.left), estimate_rows(plan.right)
    if plan.kind in ("semi", "anti", "null_aware_anti"):
        return max(left * SEMI_SELECTIVITY, 1.0)
    lnames = {f.name for f in plan.left.schema}
    rnames = {f.name for f in plan.right.schema}
    preds = conjuncts(plan.condition)
    equi = [p for p in preds if _is_equi(p, lnames, rnames)]
    if equi:
        # |L join R| = |L| |R| / max(ndv(L.key), ndv(R.key)), with the most
        # selective key; a key with no statistics counts as unique in its table
        divisor = 1.0
        for p in equi:
            a, b = p.args
            if not columns_of(a) <= lnames:
                a, b = b, a
            # a key cannot have more matching values than the other key's table has rows
            a_ndv = key_ndv(plan.left, a, left, cap=_origin_rows(plan.right, b, right))
            b_ndv = key_ndv(plan.right, b, right, cap=_origin_rows(plan.left, a, left))
            divisor = max(divisor, a_ndv, b_ndv)
        rows = left * right / divisor
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


def key_ndv(plan: LogicalPlan, key: Expr, rows: float, cap: float | None = None) -> float:
    """Distinct values of a join key: from the Parquet min/max of an integer
    or date column (at most max - min + 1 values) and the base table's row
    count, never more than the side's estimated rows (nor `cap`)."""
    ndv = max(rows, 1.0)
    origin = column_origin(plan, _key_column(key))
    if origin is not None:
        scan, column = origin
        ndv = min(ndv, source_rows(scan.source) or DEFAULT_ROWS)
        span = _value_span(scan.source, column)
        if span is not None:
            ndv = min(ndv, span)
    if cap is not None:
        ndv = min(ndv, cap)
    return max(1.0, ndv)


def _key_column(key: Expr) -> str | None:
    from .expr import Cast, Column
    while isinstance(key, Cast):
        key = key.arg
    return key.name if isinstance(key, Column) else None


def _origin_rows(plan: LogicalPlan, key: Expr, rows: float) -> float:
    """Rows of the base table a join key comes from (`rows` if unknown)."""
    origin = column_origin(plan, _key_column(key))
    if origin is None:
        return max(rows, 1.0)
    return source_rows(origin[0].source) or DEFAULT_ROWS


def column_origin(plan: LogicalPlan, name: str | None):
    """(Scan, source column) that produces column `name` inside `plan`."""
    if name is None:
        return None
    return _recall((id(plan), name), plan, lambda: _column_origin(plan, name))


def _column_origin(plan: LogicalPlan, name: str):
    from .tree import walk
    for node in walk(plan):
        if isinstance(node, Scan):
            for f, col in zip(node.fields, node.columns):
                if f.name == name:
                    return node, col
    return None


def scan_selectivity(scan: Scan) -> float:
    """Share of a scan's rows its filters keep: range conjuncts on one
    integer or date column with known min/max together keep the covered
    share of that span; the other conjuncts the share they kept of a sample
    of the table (Scan.filter_sample) when one was taken for them, else
    each its fixed guess."""
    guessed, ranges = _split_conjuncts(scan)
    sample = scan.filter_sample
    if guessed and sample is not None and sample[0] == tuple(guessed):
        out = sample[1]
    else:
        out = 1.0
        for c in guessed:
            out *= selectivity(c)
    bounds: dict[str, list] = {}      # source column -> [lowest, highest] kept
    for column, lo, hi in ranges:
        kept = bounds.setdefault(column, [None, None])
        if lo is not None:
            kept[0] = lo if kept[0] is None else max(kept[0], lo)
        if hi is not None:
            kept[1] = hi if kept[1] is None else min(kept[1], hi)
    for column, (lo, hi) in bounds.items():
        vmin, vmax = _value_range(scan.source, column)
        span = vmax - vmin + 1
        lo = vmin if lo is None else max(lo, vmin)
        hi = vmax if hi is None else min(hi, vmax)
        out *= min(1.0, max(hi - lo + 1, 1) / span)
    return out


def guessed_conjuncts(scan: Scan) -> list[Expr]:
    """The scan's filter conjuncts that Parquet min/max statistics do not
    estimate (all but ranges on an integer or date column with statistics)."""
    return _split_conjuncts(scan)[0]


def _split_conjuncts(scan: Scan) -> tuple[list[Expr], list[tuple]]:
    """(conjuncts statistics do not estimate, (source column, lowest kept,
    highest kept) of each range they do)."""
    names = {f.name: col for f, col in zip(scan.fields, scan.columns)}
    guessed, ranges = [], []
    for f in scan.filters:
        for c in conjuncts(f):
            bound = _range_bound(c, names)
            if bound is None or _value_range(scan.source, bound[0]) is None:
                guessed.append(c)
            else:
                ranges.append(bound)
    return guessed, ranges


_FLIPPED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}


def _range_bound(pred: Expr, names: dict) -> tuple | None:
    """(source column, lowest kept, highest kept) of `column <op> constant`
    on an integer or date column, as integers (dates as ordinals); else None."""
    from .expr import Column
    if not (isinstance(pred, Call) and pred.fn in _RANGE and len(pred.args) == 2):
        return None
    a, b = pred.args
    fn = pred.fn
    if isinstance(a, Literal) and isinstance(b, Column):
        a, b, fn = b, a, _FLIPPED[fn]
    if not (isinstance(a, Column) and isinstance(b, Literal)) or a.name not in names:
        return None
    v = _ordinal(b.value)
    if v is None:
        return None
    if fn == "lt":
        return names[a.name], None, v - 1
    if fn == "le":
        return names[a.name], None, v
    if fn == "gt":
        return names[a.name], v + 1, None
    return names[a.name], v, None


def _ordinal(value) -> int | None:
    if isinstance(value, datetime.datetime):
        return None
    if isinstance(value, datetime.date):
        return value.toordinal()
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


_RANGES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # source -> {column: range}


def _value_span(source, column: str) -> float | None:
    """max - min + 1 over all files, for integer and date columns."""
    r = _value_range(source, column)
    return None if r is None else float(r[1] - r[0] + 1)


def _value_range(source, column: str) -> tuple[int, int] | None:
    """(min, max) over all files of an integer or date column (dates as
    ordinals), from Parquet statistics; computed once per (source, column)
    and forgotten with the source."""
    try:
        cached = _RANGES.setdefault(source, {})
    except TypeError:            # not weak-referenceable: no cache
        cached = {}
    if column in cached:
        return cached[column]
    found = None
    files = getattr(source, "files", None)
    if files:
        try:
            lo = hi = None
            for f in files:
                st = f.file_stats(column)
                if st is None or not st.has_min_max:
                    lo = hi = None
                    break
                lo = st.min if lo is None else min(lo, st.min)
                hi = st.max if hi is None else max(hi, st.max)
            lo, hi = _ordinal(lo), _ordinal(hi)
            if lo is not None and hi is not None and hi >= lo:
                found = (lo, hi)
        except Exception:  # noqa: BLE001 - statistics are best effort
            found = None
    cached[column] = found
    return found
