"""Rule: move a semi or anti join down to the join input whose rows it filters.

    Semi(o_orderkey = l_orderkey)                 Inner(c_custkey = o_custkey)
      Inner(c_custkey = o_custkey)          ->      Scan(customer)
        Scan(customer)                              Semi(o_orderkey = l_orderkey)
        Scan(orders)                                  Scan(orders)
      Aggregate(lineitem ...)                         Aggregate(lineitem ...)

A semi/anti join keeps or drops rows of its left input by looking only at
their own columns, so it commutes with an inner join (and with the
preserved side of an outer join) when every left-side column its condition
reads comes from one input. TPC-H Q18 filters orders by an IN subquery;
applied below the joins it leaves about 60 orders to join instead of 1.5M.
Also passes through Projects that keep the columns it reads.
"""

from __future__ import annotations

import dataclasses

from ..expr import columns_of
from ..logical import Join, LogicalPlan, Project
from ..statistics import base_rows, estimate_rows
from ..tree import transform_down

_FILTERING = ("semi", "anti", "null_aware_anti")


def push_down_semi_joins(plan: LogicalPlan, ctx) -> LogicalPlan:
    return transform_down(plan, _push)[0]


def _push(node):
    if not (isinstance(node, Join) and node.kind in _FILTERING and node.condition is not None):
        return node
    right_names = {f.name for f in node.right.schema}
    reads = columns_of(node.condition) - right_names
    target = node.left
    if isinstance(target, Project) and _passes_through(target, reads):
        return dataclasses.replace(target, input=dataclasses.replace(node, left=target.input))
    if not isinstance(target, Join) or not reads:
        return node
    sides = []
    if target.kind == "inner":
        sides = ["left", "right"]
    elif target.kind in ("left",) + _FILTERING:
        sides = ["left"]
    elif target.kind == "right":
        sides = ["right"]
    for side in sides:
        child = getattr(target, side)
        if reads <= {f.name for f in child.schema}:
            if target.kind == "inner" and _better_above(node, target, side):
                return node
            moved = dataclasses.replace(node, left=child)
            return dataclasses.replace(target, **{side: moved})
    return node


def _better_above(node: Join, target: Join, side: str) -> bool:
    """Stay above an inner join whose other input is filtered when the
    semi/anti join's own input (the subquery side, which it builds or
    probes in full) is at least as large as the rows it would filter down
    there: the filtered join then shrinks its rows first. TPC-H Q21's EXISTS
    and NOT EXISTS over lineitem, pushed onto lineitem, ran over all its
    late rows instead of the few of one nation's suppliers."""
    other = target.right if side == "left" else target.left
    filtered = estimate_rows(other) < base_rows(other)
    return filtered and estimate_rows(node.right) >= estimate_rows(getattr(target, side))


def _passes_through(project: Project, reads: set[str]) -> bool:
    """The Project outputs each column in `reads` unchanged under its name."""
    from ..expr import Column
    plain = {n for n, e in zip(project.names, project.exprs)
             if isinstance(e, Column) and e.name == n}
    return bool(reads) and reads <= plain
