"""Rule: read and carry only the columns somebody above needs.

    Project(o_orderpriority)                 Project(o_orderpriority)
      Join(semi, l_orderkey = o_orderkey)      Join(semi, l_orderkey = o_orderkey)
        Scan(orders: 9 columns)          ->      Project(o_orderkey, o_orderpriority)
        Scan(lineitem: 16 columns)                 Scan(orders: o_orderkey, o_orderpriority,
                                                        o_orderdate; filters on o_orderdate)
                                                 Scan(lineitem: l_orderkey)

Walking down with the set of names the parent needs: a Scan keeps the
fields that are needed or that its filters read; Projects, Aggregates (not
their groups) and Windows drop unneeded outputs; each join side that would
carry more than the join needs gets a narrowing Project; UNION ALL drops
the same positions from every input. Distinct, UNION and INTERSECT/EXCEPT
need all their input columns. The root's schema never
changes: it asks for all of its own columns. A node never ends with zero
columns (the row count must survive), so one column is kept if none is needed.
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa

from ..expr import Column, conjuncts
from ..logical import (Aggregate, Distinct, EnforceSingleRow, Filter, Join, Limit,
                       LogicalPlan, Project, Scan, SetOp, Sort, Union, Unnest, Values, Window)
from ..tree import children, with_children
from .util import expr_columns


def push_down_projection(plan: LogicalPlan, ctx) -> LogicalPlan:
    return _prune(plan, set(plan.names))


def _all(node: LogicalPlan) -> LogicalPlan:
    """Recurse into children that must keep every column."""
    return with_children(node, tuple(_prune(c, set(c.names)) for c in children(node)))


def _cols(exprs) -> set[str]:
    out: set[str] = set()
    for e in exprs:
        if e is not None:
            out |= expr_columns(e)
    return out


def _cheapest(fields) -> int:
    """Index of the field cheapest to carry when no column is needed."""
    for i, f in enumerate(fields):
        if pa.types.is_primitive(f.dtype):
            return i
    return 0


def _row_carrier(node: Project) -> list[int]:
    """The one output a Project keeps when none is needed (count(*) above
    it still counts its rows): a column the operators below read anyway
    (a join's or filter's), so no column is read only to be counted (SF1
    `count(*) ... WHERE o_totalprice > (subquery)` read o_orderkey too)."""
    if not node.names:
        return []
    used = _used_below(node.input)
    for i, e in enumerate(node.exprs):
        if isinstance(e, Column) and e.name in used:
            return [i]
    return [0]


def _used_below(plan: LogicalPlan) -> set[str]:
    """Columns that filters, join conditions, sorts and aggregates under
    `plan` read (a Project passing a column through does not count)."""
    out: set[str] = set()
    todo = [plan]
    while todo:
        node = todo.pop()
        if isinstance(node, Filter):
            out |= _cols([node.predicate])
        elif isinstance(node, Join):
            out |= _cols([node.condition])
        elif isinstance(node, Scan):
            out |= _cols(node.filters)
        elif isinstance(node, Sort):
            out |= _cols(k.expr for k in node.keys)
        elif isinstance(node, Aggregate):
            out |= _cols(node.group_exprs) | _cols(node.aggs)
        todo.extend(children(node))
    return out


def _prune(node: LogicalPlan, required: set[str]) -> LogicalPlan:
    if isinstance(node, Scan):
        need = required | _cols(node.filters)
        keep = [i for i, f in enumerate(node.fields) if f.name in need]
        if not keep and node.fields:
            keep = [_cheapest(node.fields)]
        if len(keep) == len(node.fields):
            return node
        return dataclasses.replace(node, fields=tuple(node.fields[i] for i in keep),
                                   columns=tuple(node.columns[i] for i in keep))
    if isinstance(node, Filter):
        return dataclasses.replace(
            node, input=_prune(node.input, required | _cols([node.predicate])))
    if isinstance(node, Project):
        keep = ([i for i, n in enumerate(node.names) if n in required]
                or _row_carrier(node))
        exprs = tuple(node.exprs[i] for i in keep)
        names = tuple(node.names[i] for i in keep)
        return Project(_prune(node.input, _cols(exprs)), exprs, names)
    if isinstance(node, Aggregate):
        keep = [i for i, n in enumerate(node.agg_names) if n in required]
        if not keep and not node.group_exprs and node.aggs:
            keep = [0]
        aggs = tuple(node.aggs[i] for i in keep)
        names = tuple(node.agg_names[i] for i in keep)
        inp = _prune(node.input, _cols(node.group_exprs) | _cols(aggs))
        return Aggregate(inp, node.group_exprs, node.group_names, aggs, names)
    if isinstance(node, Window):
        keep = [i for i, n in enumerate(node.window_names) if n in required]
        exprs = tuple(node.exprs[i] for i in keep)
        names = tuple(node.window_names[i] for i in keep)
        need = (required - set(node.window_names)) | _cols(exprs)
        if not exprs:
            return _prune(node.input, need)
        return Window(_prune(node.input, need), exprs, names)
    if isinstance(node, Unnest):
        need = (required - {node.name}) | _cols([node.expr])
        return dataclasses.replace(node, input=_prune(node.input, need))
    if isinstance(node, Union) and node.all:
        return _union_all(node, required)
    if isinstance(node, Join):
        return _join(node, required)
    if isinstance(node, (Sort,)):
        need = required | _cols(k.expr for k in node.keys)
        return dataclasses.replace(node, input=_prune(node.input, need))
    if isinstance(node, (Limit, EnforceSingleRow)):
        return dataclasses.replace(node, input=_prune(node.input, required))
    if isinstance(node, (Distinct, Union, SetOp, Values)):
        return _all(node)
    return _all(node)


def _union_all(node: Union, required: set[str]) -> LogicalPlan:
    """UNION ALL maps columns by position: drop the same positions everywhere."""
    first = node.inputs[0].schema
    keep = [i for i, f in enumerate(first) if f.name in required]
    if not keep:
        keep = [_cheapest(first)]
    if len(keep) == len(first):
        return _all(node)
    inputs = []
    for plan in node.inputs:
        fields = [plan.schema[i] for i in keep]
        inner = _prune(plan, {f.name for f in fields})
        if inner.names != tuple(f.name for f in fields):
            inner = Project(inner, tuple(f.column() for f in fields),
                            tuple(f.name for f in fields))
        inputs.append(inner)
    return Union(tuple(inputs), True)


def _narrow(plan: LogicalPlan, need: set[str]) -> LogicalPlan:
    """`plan` pruned to `need`, with a Project when it still carries more."""
    plan = _prune(plan, need)
    fields = [f for f in plan.schema if f.name in need]
    if not fields and plan.schema:
        fields = [plan.schema[_cheapest(plan.schema)]]
    if len(fields) == len(plan.schema):
        return plan
    if isinstance(plan, Project):
        index = {n: i for i, n in enumerate(plan.names)}
        keep = [index[f.name] for f in fields]
        return Project(plan.input, tuple(plan.exprs[i] for i in keep),
                       tuple(plan.names[i] for i in keep))
    return Project(plan, tuple(f.column() for f in fields), tuple(f.name for f in fields))


def _join(node: Join, required: set[str]) -> LogicalPlan:
    need = required | _cols(conjuncts(node.condition))
    left = _narrow(node.left, need & set(node.left.names))
    right = _narrow(node.right, need & set(node.right.names))
    if left is node.left and right is node.right:
        return node
    return dataclasses.replace(node, left=left, right=right)
