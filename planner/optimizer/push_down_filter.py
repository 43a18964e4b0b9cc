"""Rule: move filter conjuncts as close to the data as they can go.

    Filter(a.x = b.y AND a.z > 5)          Join(inner, a.x = b.y)
      Join(inner, None)               ->     Scan(a, filters=[a.z > 5])
        Scan(a)                              Scan(b)
        Scan(b)

Conjuncts are pushed
- through Project (column references replaced by the projected expressions),
- through inner joins to the side that has all their columns; a conjunct that
  reads both sides becomes part of the join condition (so the comma joins of
  TPC-H, `FROM a, b WHERE a.x = b.y`, become equi-joins),
- to the preserved side of left/right joins and the left side of semi/anti
  joins; ON conjuncts that read only the non-preserved (right) side are pushed
  into it, and for semi joins left-only ON conjuncts into the left side,
- through Aggregate when they read only group columns, through Union and
  INTERSECT/EXCEPT to every input, through Sort and Distinct, through Window
  when they read only columns every window partitions by,
- into Scan.filters, which the scan applies exactly.
An outer join whose WHERE conjuncts reject the NULL-extended rows (a
comparison with a column of the nullable side) becomes an inner join first,
e.g. `l_quantity < v` over the left join a decorrelated scalar subquery made.
Volatile conjuncts (random()) stay where they are.
"""

from __future__ import annotations

import dataclasses

from ..expr import Call, Cast, Column, Expr, columns_of, conjoin, conjuncts
from ..logical import (Aggregate, Distinct, Filter, Join, LogicalPlan, Project,
                       Scan, SetOp, Sort, Union, Unnest, Window)
from ..tree import children, with_children
from .util import is_deterministic, names_of, substitute


def push_down_filter(plan: LogicalPlan, ctx) -> LogicalPlan:
    return _push(plan, [])


def _wrap(plan: LogicalPlan, preds: list[Expr]) -> LogicalPlan:
    return Filter(plan, conjoin(preds)) if preds else plan


def _recurse(node: LogicalPlan) -> LogicalPlan:
    return with_children(node, tuple(_push(c, []) for c in children(node)))


def _dedupe(preds: list[Expr]) -> list[Expr]:
    out: list[Expr] = []
    for p in preds:
        if p not in out:
            out.append(p)
    return out


def _push(node: LogicalPlan, preds: list[Expr]) -> LogicalPlan:
    """`node` with `preds` (conjuncts over its output) applied somewhere."""
    movable = [p for p in preds if is_deterministic(p)]
    stuck = [p for p in preds if not is_deterministic(p)]
    if isinstance(node, Filter):
        here = conjuncts(node.predicate)
        inner = [p for p in here if is_deterministic(p)]
        stuck = [p for p in here if not is_deterministic(p)] + stuck
        return _wrap(_push(node.input, _dedupe(inner + movable)), stuck)
    handler = _HANDLERS.get(type(node))
    if handler is None:
        return _wrap(_recurse(node), preds)
    return _wrap(handler(node, movable), stuck)


def _scan(node: Scan, preds):
    if not preds:
        return node
    filters = list(node.filters)
    for p in preds:
        if p not in filters:
            filters.append(p)
    return dataclasses.replace(node, filters=tuple(filters))


def _project(node: Project, preds):
    mapping = dict(zip(node.names, node.exprs))
    down, keep = [], []
    for p in preds:
        if all(is_deterministic(mapping[c]) for c in columns_of(p) if c in mapping):
            down.append(substitute(p, mapping))
        else:
            keep.append(p)
    return _wrap(dataclasses.replace(node, input=_push(node.input, down)), keep)


_STRICT_TESTS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "like", "ilike", "is_not_null"})


def _rejects_nulls(pred: Expr, names: set[str]) -> bool:
    """True when `pred` cannot be TRUE if the columns `names` are all NULL:
    a comparison (or IS NOT NULL) with one of those columns as an operand."""
    if not (isinstance(pred, Call) and pred.fn in _STRICT_TESTS):
        return False
    for a in pred.args:
        while isinstance(a, Cast) and not a.safe:
            a = a.arg
        if isinstance(a, Column) and a.name in names:
            return True
    return False


def _simplify_outer(kind: str, preds, lnames, rnames) -> str:
    """An outer join whose WHERE rejects the NULL-extended rows is inner."""
    drop_left = any(_rejects_nulls(p, rnames) for p in preds)   # left's unmatched rows
    drop_right = any(_rejects_nulls(p, lnames) for p in preds)
    if kind == "left" and drop_left:
        return "inner"
    if kind == "right" and drop_right:
        return "inner"
    if kind == "full":
        if drop_left and drop_right:
            return "inner"
        if drop_left:
            return "right"
        if drop_right:
            return "left"
    return kind


def _join(node: Join, preds):
    lnames, rnames = names_of(node.left), names_of(node.right)
    kind = node.kind
    if kind in ("left", "right", "full") and not node.null_equals_null:
        kind = _simplify_outer(kind, preds, lnames, rnames)
    on = conjuncts(node.condition)
    left_p, right_p, cond, above = [], [], [], []
    if kind == "inner":
        for p in on + preds:
            cols = columns_of(p)
            if cols <= lnames:
                left_p.append(p)
            elif cols <= rnames:
                right_p.append(p)
            else:
                cond.append(p)
    else:
        for p in preds:  # WHERE conjuncts over the join's output
            cols = columns_of(p)
            if kind in ("left", "semi", "anti", "null_aware_anti") and cols <= lnames:
                left_p.append(p)
            elif kind == "right" and cols <= rnames:
                right_p.append(p)
            else:
                above.append(p)
        for i, p in enumerate(on):  # ON conjuncts may filter only the non-preserved side
            cols = columns_of(p)
            if not cols or not is_deterministic(p):
                cond.append(p)
            elif kind == "null_aware_anti" and i == 0:
                # NOT IN's membership test (decorrelation puts it first) must
                # see the subquery's NULLs even when its left side is constant
                cond.append(p)
            elif kind in ("left", "semi", "anti", "null_aware_anti") and cols <= rnames:
                right_p.append(p)
            elif kind == "right" and cols <= lnames:
                left_p.append(p)
            elif kind == "semi" and cols <= lnames:
                left_p.append(p)
            else:
                cond.append(p)
    new = Join(_push(node.left, left_p), _push(node.right, right_p), kind,
               conjoin(cond), node.null_equals_null)
    return _wrap(new, above)


def _aggregate(node: Aggregate, preds):
    mapping = dict(zip(node.group_names, node.group_exprs))
    down, keep = [], []
    for p in preds:
        cols = columns_of(p)
        if cols and cols <= mapping.keys() and all(is_deterministic(mapping[c]) for c in cols):
            down.append(substitute(p, mapping))
        else:
            keep.append(p)
    return _wrap(dataclasses.replace(node, input=_push(node.input, down)), keep)


def _positional(first: LogicalPlan, other: LogicalPlan, preds):
    mapping = {a.name: Column(b.name, b.dtype, b.nullable)
               for a, b in zip(first.schema, other.schema)}
    return [substitute(p, mapping) for p in preds]


def _union(node: Union, preds):
    first = node.inputs[0]
    inputs = tuple(_push(i, _positional(first, i, preds)) for i in node.inputs)
    return dataclasses.replace(node, inputs=inputs)


def _setop(node: SetOp, preds):
    return dataclasses.replace(node, left=_push(node.left, preds),
                               right=_push(node.right, _positional(node.left, node.right, preds)))


def _pass_through(node, preds):
    return dataclasses.replace(node, input=_push(node.input, preds))


def _window(node: Window, preds):
    keys = None
    for w in node.exprs:
        cols = {e.name for e in w.partition_by if isinstance(e, Column)}
        keys = cols if keys is None else keys & cols
    keys = keys or set()
    down = [p for p in preds if columns_of(p) and columns_of(p) <= keys]
    keep = [p for p in preds if p not in down]
    return _wrap(dataclasses.replace(node, input=_push(node.input, down)), keep)


def _unnest(node: Unnest, preds):
    """Conditions on the input's columns go below (an input row that fails
    them would only be repeated); those on the element stay above."""
    down = [p for p in preds if node.name not in columns_of(p)]
    keep = [p for p in preds if p not in down]
    return _wrap(dataclasses.replace(node, input=_push(node.input, down)), keep)


_HANDLERS = {
    Scan: _scan,
    Unnest: _unnest,
    Project: _project,
    Join: _join,
    Aggregate: _aggregate,
    Union: _union,
    SetOp: _setop,
    Sort: _pass_through,
    Distinct: _pass_through,
    Window: _window,
}
