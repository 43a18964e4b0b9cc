"""Rule: an aggregate joined on a group key only needs the groups the join
can match: filter its input by a small filtered table that bounds that key.

    Inner(p_partkey = l_partkey#2)                 Inner(p_partkey = l_partkey#2)
      Inner(l_partkey = p_partkey)                   Inner(l_partkey = p_partkey)
        Scan(lineitem)                                 Scan(lineitem)
        Scan(part, p_brand = 'Brand#23')               Scan(part, p_brand = 'Brand#23')
      Aggregate(l_partkey#2; avg(l_quantity))  ->    Aggregate(l_partkey#2; avg(l_quantity))
        Scan(lineitem)                                 Semi(l_partkey#2 = p_partkey')
                                                         Scan(lineitem)
                                                         Scan(part', p_brand = 'Brand#23')

A decorrelated subquery (TPC-H Q17, Q20) aggregates the whole table by the
correlation key, and the join then keeps the few groups whose key the outer
side has. The outer side's key values are bounded by a filtered scan it
joins on that key (its `restrictor`), so the aggregate's input can be
semi-joined with a copy of that scan (fresh column names) before grouping:
rows of a group all share the key, so whole groups go, and each dropped group
could never have matched. On Q17 this aggregates ~6,000 lineitem rows instead
of 6M at SF1.

The same holds for the right side of a left, semi or anti join (no right
row without a match counts; a scalar subquery in SELECT decorrelates to a
left join: `(SELECT max(l_extendedprice) FROM lineitem WHERE l_orderkey =
o_orderkey)` for one day's orders aggregated all 1.5M SF1 orders' lines,
0.30 s, now 0.14 s) and for the left side of a right join, never for a
preserved side.

Applied only when the restrictor is a chain of Projects and Filters over one
Scan with filters (cheap to read twice, and selective), estimated at most a
quarter of the aggregate's input, with the key compared as plain columns of
one type.
"""

from __future__ import annotations

import dataclasses

from ..expr import Call, Column, conjuncts
from ..logical import Aggregate, Filter, Join, LogicalPlan, Project, Scan
from ..statistics import estimate_rows
from ..tree import transform_down, walk
from .util import copy_chain, is_deterministic

MAX_SHARE = 0.25      # the restrictor's rows at most this share of the aggregate's input


def reduce_aggregates_by_join_keys(plan: LogicalPlan, ctx) -> LogicalPlan:
    return transform_down(plan, lambda node: _reduce(node, ctx))[0]


# join kinds whose output never depends on a right (left) row no left (right)
# row matches: that side's aggregate may lose the groups the other side lacks
# (a scalar subquery in SELECT decorrelates to a left join; NOT IN's
# null-aware anti join is not here: a right NULL key alone changes its answer)
RIGHT_REDUCIBLE = frozenset({"inner", "left", "semi", "anti"})
LEFT_REDUCIBLE = frozenset({"inner", "right", "right_semi", "right_anti"})


def _reduce(node, ctx):
    if not (isinstance(node, Join) and node.condition is not None
            and (node.kind in RIGHT_REDUCIBLE or node.kind in LEFT_REDUCIBLE)
            and not node.null_equals_null):       # a NULL key must not match for groups to go
        return node
    left_names = {f.name for f in node.left.schema}
    for a, b in _column_equalities(node.condition):
        lk, rk = (a, b) if a.name in left_names else (b, a)
        if lk.name not in left_names or rk.name in left_names:
            continue
        if node.kind in RIGHT_REDUCIBLE:
            right = _reduce_side(node.right, rk, node.left, lk, ctx)
            if right is not None:
                return dataclasses.replace(node, right=right)
        if node.kind in LEFT_REDUCIBLE:
            left = _reduce_side(node.left, lk, node.right, rk, ctx)
            if left is not None:
                return dataclasses.replace(node, left=left)
    return node


def _column_equalities(condition):
    for c in conjuncts(condition):
        if (isinstance(c, Call) and c.fn == "eq" and len(c.args) == 2
                and all(isinstance(x, Column) for x in c.args)):
            yield c.args


def _reduce_side(side, key: Column, other, other_key: Column, ctx):
    """`side` with its aggregate's input semi-joined, or None."""
    path, node, name = [], side, key.name
    while isinstance(node, Project):                  # Projects passing the key through
        src = _plain_source(node, name)
        if src is None:
            return None
        path.append(node)
        node, name = node.input, src
    if not isinstance(node, Aggregate):
        return None
    group = dict(zip(node.group_names, node.group_exprs)).get(name)
    if not isinstance(group, Column) or group.dtype != key.dtype:
        return None
    candidates = [(s, c) for s, c in _restrictors(other, other_key.name)
                  if _field(s, c) is not None and _field(s, c).dtype == group.dtype]
    if not candidates:
        return None
    source, column = min(candidates, key=lambda sc: estimate_rows(sc[0]))
    if estimate_rows(source) > MAX_SHARE * estimate_rows(node.input):
        return None
    if _already_reduced(node.input, group.name, source):
        return None
    copy, names = copy_chain(source, ctx)
    field = _field(source, column)
    semi = Join(node.input, copy, "semi",
                Call("eq", (group, Column(names[column], field.dtype, field.nullable)),
                     _bool_type()))
    out = dataclasses.replace(node, input=semi)
    for p in reversed(path):
        out = dataclasses.replace(p, input=out)
    return out


def _bool_type():
    from ... import datatypes as dt
    return dt.BOOL


def _plain_source(project: Project, name: str) -> str | None:
    for n, e in zip(project.names, project.exprs):
        if n == name:
            return e.name if isinstance(e, Column) else None
    return None


def _field(plan, name: str):
    for f in plan.schema:
        if f.name == name:
            return f
    return None


def _restrictors(node, name: str) -> list[tuple[LogicalPlan, str]]:
    """(subtree, column) pairs such that every value of `name` in `node`'s
    output (NULL aside) is a value of `column` in `subtree`'s output;
    only simple filtered chains are returned (see _is_chain)."""
    if _is_chain(node):
        return [(node, name)]
    if isinstance(node, Project):
        src = _plain_source(node, name)
        return [] if src is None else _restrictors(node.input, src)
    if isinstance(node, Filter):
        return _restrictors(node.input, name)
    if isinstance(node, Aggregate):
        group = dict(zip(node.group_names, node.group_exprs)).get(name)
        return _restrictors(node.input, group.name) if isinstance(group, Column) else []
    if not isinstance(node, Join) or node.condition is None:
        return []
    left = {f.name for f in node.left.schema}
    on_left = name in left
    if node.kind == "inner":
        pass
    elif node.kind in ("semi", "left") and on_left:
        pass
    else:
        return []
    here, there = (node.left, node.right) if on_left else (node.right, node.left)
    out = _restrictors(here, name)
    if node.kind == "left":
        return out                    # the right side bounds nothing of the left
    for a, b in _column_equalities(node.condition):
        for mine, theirs in ((a, b), (b, a)):
            if mine.name == name and (theirs.name in left) != on_left:
                out += _restrictors(there, theirs.name)
    return out


def _is_chain(node) -> bool:
    """Projects and Filters over one Scan, some filter among them, every
    expression deterministic."""
    filtered = False
    while isinstance(node, (Project, Filter)):
        exprs = node.exprs if isinstance(node, Project) else (node.predicate,)
        if not all(is_deterministic(e) for e in exprs):
            return False
        filtered = filtered or isinstance(node, Filter)
        node = node.input
    return (isinstance(node, Scan) and (filtered or bool(node.filters))
            and all(is_deterministic(e) for e in node.filters))


def _already_reduced(plan, key: str, source) -> bool:
    """A semi join this rule added (possibly pushed further down since)."""
    table = _scan_of(source)
    for node in walk(plan):
        if (isinstance(node, Join) and node.kind == "semi" and node.condition is not None
                and key in {c.name for c in walk(node.condition) if isinstance(c, Column)}):
            right = _scan_of(node.right)
            if right is not None and right.table == table.table and \
                    len(right.filters) == len(table.filters):
                return True
    return False


def _scan_of(node):
    while isinstance(node, (Project, Filter)):
        node = node.input
    return node if isinstance(node, Scan) else None
