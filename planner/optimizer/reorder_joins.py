"""Rule: order a tree of inner joins greedily by estimated size.

    Join(c_custkey = o_custkey AND l_orderkey = o_orderkey)   Project(c.., o.., l..)
      Join(None)                                               Join(c_custkey = o_custkey)
        Scan(customer)                                    ->     Join(l_orderkey = o_orderkey)
        Scan(orders)                                               Scan(lineitem)   (probe)
      Scan(lineitem)                                               Scan(orders)     (build)
                                                                 Scan(customer)

A maximal tree of inner joins is flattened into its relations (whatever is
not an inner join) and the conjuncts of its conditions. It is rebuilt left
deep: start from the largest base table (the fact table, probed; its size
before filters decides, since filter selectivities are guesses), then repeatedly
join the connected relation that keeps the estimated intermediate result
smallest (join sizes use key distinct counts from Parquet statistics, so a
join on a low-cardinality key such as a nation key is seen to multiply rows);
a relation with no predicate (a cross join) is taken only when no connected
relation remains. Each predicate is attached to the first join where all its
columns are available. The larger input of each join is kept on the left
(probe side) and the smaller on the right (build side). A Project restores
the original column order when the rebuilt tree's differs. Row counts come
from planner/statistics.py. Relations are reordered inside first.
"""

from __future__ import annotations

from ..expr import Expr, columns_of, conjoin, conjuncts
from ..logical import Join, LogicalPlan, Project
from ..statistics import base_rows, estimate_rows
from ..tree import children, with_children


def reorder_joins(plan: LogicalPlan, ctx) -> LogicalPlan:
    return _reorder(plan)


def _is_inner(node) -> bool:
    return isinstance(node, Join) and node.kind == "inner" and not node.null_equals_null


def _reorder(node: LogicalPlan) -> LogicalPlan:
    if not _is_inner(node):
        return with_children(node, tuple(_reorder(c) for c in children(node)))
    relations: list[LogicalPlan] = []
    preds: list[Expr] = []
    _flatten(node, relations, preds)
    relations = [_reorder(r) for r in relations]
    rebuilt = _greedy(relations, preds)
    if rebuilt == node:
        return node
    if rebuilt.names != node.names:
        rebuilt = Project(rebuilt, tuple(f.column() for f in node.schema), node.names)
    return rebuilt


def _flatten(node: LogicalPlan, relations: list, preds: list) -> None:
    if _is_inner(node):
        _flatten(node.left, relations, preds)
        _flatten(node.right, relations, preds)
        preds.extend(conjuncts(node.condition))
    else:
        relations.append(node)


def _greedy(relations: list[LogicalPlan], preds: list[Expr]) -> LogicalPlan:
    sizes = [estimate_rows(r) for r in relations]
    names = [set(r.names) for r in relations]
    cols = [columns_of(p) for p in preds]
    tie = [min(r.names, default="") for r in relations]  # order-independent
    base = [base_rows(r) for r in relations]
    start = min(range(len(relations)), key=lambda i: (-base[i], -sizes[i], tie[i]))
    current, current_size = relations[start], sizes[start]
    joined = set(names[start])
    remaining = [i for i in range(len(relations)) if i != start]
    used = [False] * len(preds)
    while remaining:
        def connected(i: int) -> bool:
            return any(not used[k] and c & names[i] and c & joined
                       and c <= joined | names[i] for k, c in enumerate(cols))
        pool = [i for i in remaining if connected(i)] or remaining

        def conditions(i: int) -> list[int]:
            available = joined | names[i]
            return [k for k, c in enumerate(cols) if not used[k] and c <= available]

        def joined_with(i: int) -> Join:
            left, right = current, relations[i]
            if sizes[i] > current_size:
                left, right = right, left
            return Join(left, right, "inner", conjoin([preds[k] for k in conditions(i)]))

        # the relation whose join keeps the intermediate result smallest
        outcome = {i: joined_with(i) for i in pool}
        result = {i: estimate_rows(j) for i, j in outcome.items()}
        pick = min(pool, key=lambda i: (result[i], sizes[i], tie[i]))
        for k in conditions(pick):
            used[k] = True
        remaining.remove(pick)
        current = outcome[pick]
        current_size = result[pick]
        joined = joined | names[pick]
    leftover = [p for k, p in enumerate(preds) if not used[k]]
    if leftover:  # only for a single relation, which never reaches here
        from ..logical import Filter
        current = Filter(current, conjoin(leftover))
    return current
