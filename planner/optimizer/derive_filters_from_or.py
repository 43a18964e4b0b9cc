"""Rule: from an OR that spans several tables, derive a filter for each table.

    (n1.n_name = 'FRANCE' AND n2.n_name = 'GERMANY')
 OR (n1.n_name = 'GERMANY' AND n2.n_name = 'FRANCE')

implies `n1.n_name = 'FRANCE' OR n1.n_name = 'GERMANY'` (and the same for
n2): each branch restricted to one table's conjuncts, ORed together. The
derived predicates go into those tables' scans, while the original OR stays
where it was. TPC-H Q7 (nation twice) and Q19 (part and lineitem) need this:
without it the scans read everything and the join order cannot see how
small the filtered sides are.

A derived predicate is only implied, so it may filter a table only where
dropping its rows cannot change the result: below inner joins, the preserved
side of outer joins, the left side of semi/anti joins, and through filters and
projections. A table reached only through anything else gets nothing.
"""

from __future__ import annotations

import dataclasses

from ... import datatypes as dt
from ..expr import Call, Expr, columns_of, conjoin, conjuncts
from ..logical import Filter, Join, LogicalPlan, Project, Scan
from ..tree import transform_up
from .factor_or_predicates import disjuncts


def derive_filters_from_or(plan: LogicalPlan, ctx) -> LogicalPlan:
    def rewrite(node):
        if isinstance(node, Filter):
            preds = conjuncts(node.predicate)
        elif isinstance(node, Join) and node.kind == "inner":
            preds = conjuncts(node.condition)
        else:
            return node
        ors = [p for p in preds if isinstance(p, Call) and p.fn == "or"]
        if not ors:
            return node
        owners = _reachable_scans(node)
        derived: dict[str, list[Expr]] = {}
        for p in ors:
            for scan_key, pred in _derive(p, owners).items():
                derived.setdefault(scan_key, []).append(pred)
        if not derived:
            return node
        return _add_scan_filters(node, derived)
    return transform_up(plan, rewrite)[0]


def _derive(p: Expr, owners: dict[str, str]) -> dict[str, Expr]:
    """Scan key -> predicate implied by `p` on that scan's columns alone."""
    cols = columns_of(p)
    scans = {owners[c] for c in cols if c in owners}
    spans_more = len(scans) + (not cols <= owners.keys())
    if not scans or spans_more < 2:
        return {}        # a one-table OR: push_down_filter moves it whole
    branches = [conjuncts(d) for d in disjuncts(p)]
    out = {}
    for scan in scans:
        parts = []
        for branch in branches:
            own = [c for c in branch
                   if columns_of(c) and all(owners.get(n) == scan for n in columns_of(c))]
            if not own:
                break
            parts.append(conjoin(own))
        else:
            pred = parts[0]
            for q in parts[1:]:
                pred = Call("or", (pred, q), dt.BOOL)
            out[scan] = pred
    return out


def _scan_key(scan: Scan) -> str:
    return scan.fields[0].name if scan.fields else f"{scan.table}@{id(scan)}"


def _safe_children(node: LogicalPlan) -> tuple[LogicalPlan, ...]:
    """Inputs whose rows an implied predicate may drop."""
    if isinstance(node, (Filter, Project)):
        return (node.input,)
    if isinstance(node, Join):
        if node.kind == "inner":
            return (node.left, node.right)
        if node.kind in ("left", "semi", "anti", "null_aware_anti"):
            return (node.left,)
        if node.kind == "right":
            return (node.right,)
    return ()


def _reachable_scans(node: LogicalPlan) -> dict[str, str]:
    """Column name -> key of the scan producing it, for scans reachable
    through safe inputs from `node`."""
    owners: dict[str, str] = {}
    stack = list(_safe_children(node))
    while stack:
        n = stack.pop()
        if isinstance(n, Scan):
            key = _scan_key(n)
            owners.update({f.name: key for f in n.fields})
        else:
            stack.extend(_safe_children(n))
    return owners


def _add_scan_filters(node: LogicalPlan, derived: dict[str, list[Expr]]) -> LogicalPlan:
    def visit(n):
        if isinstance(n, Scan):
            extra = [p for p in derived.get(_scan_key(n), []) if p not in n.filters]
            return dataclasses.replace(n, filters=n.filters + tuple(extra)) if extra else n
        return _map_safe_children(n, visit)
    return _map_safe_children(node, visit)


def _map_safe_children(node: LogicalPlan, fn) -> LogicalPlan:
    kids = _safe_children(node)
    changes = {}
    for name in ("input", "left", "right"):
        child = getattr(node, name, None)
        if child is not None and any(child is k for k in kids):
            new = fn(child)
            if new is not child:
                changes[name] = new
    return dataclasses.replace(node, **changes) if changes else node
