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
relation remains, and one linked only by predicates that are not equalities
of the two sides (an OR across them) counts as connected only while the
cross product is small (CROSS_PAIRS). A candidate comes with its snowflake branch: the
relations that connect to it but not to what is already joined are joined
to it first when that shrinks it (orders with the customers of one market
segment, TPC-H Q3: lineitem then probes 1.5M orders, not 7.3M, and the
second join disappears), recursively (customer with its filtered nation).
Each predicate is attached to the first join where all its
columns are available. The larger input of each join is kept on the left
(probe side) and the smaller on the right (build side). A Project restores
the original column order when the rebuilt tree's differs. Row counts come
from planner/statistics.py. Relations are reordered inside first.
"""

from __future__ import annotations

from ..expr import Expr, columns_of, conjoin, conjuncts
from ..logical import Join, LogicalPlan, Project
from ..physical_planner import split_join_condition
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
            links = [k for k, c in enumerate(cols)
                     if not used[k] and c & names[i] and c & joined and c <= joined | names[i]]
            return _linked([preds[k] for k in links], joined, names[i],
                           current_size * sizes[i])
        pool = [i for i in remaining if connected(i)] or remaining
        # each candidate with the relations only it reaches that shrink it
        branches = {i: _branch(i, set(remaining) - {i}, joined, relations, sizes, names,
                               cols, preds, used) for i in pool}

        def conditions(b: "_Branch") -> list[int]:
            available = joined | b.names
            return [k for k, c in enumerate(cols)
                    if not used[k] and k not in b.used and c <= available]

        def joined_with(b: "_Branch") -> Join:
            left, right = current, b.plan
            if b.size > current_size:
                left, right = right, left
            return Join(left, right, "inner", conjoin([preds[k] for k in conditions(b)]))

        # the candidate whose join keeps the intermediate result smallest
        outcome = {i: joined_with(b) for i, b in branches.items()}
        result = {i: estimate_rows(j) for i, j in outcome.items()}
        pick = min(pool, key=lambda i: (result[i], sizes[i], tie[i]))
        chosen = branches[pick]
        for k in conditions(chosen) + sorted(chosen.used):
            used[k] = True
        for m in chosen.members:
            remaining.remove(m)
        current = outcome[pick]
        current_size = result[pick]
        joined = joined | chosen.names
    leftover = [p for k, p in enumerate(preds) if not used[k]]
    if leftover:  # only for a single relation, which never reaches here
        from ..logical import Filter
        current = Filter(current, conjoin(leftover))
    return current


# a predicate that is not an equality of the two sides (an OR across them,
# a range) links two relations only when their cross product, which the
# join must then test pair by pair, is estimated at most this many rows:
# two filtered nations (TPC-H Q7), not 280K lineitem rows and 25 nations
CROSS_PAIRS = 100_000


def _linked(links: list[Expr], mine: set, theirs: set, pairs: float) -> bool:
    """Whether predicates `links` (each spanning `mine` and `theirs`) make
    a join worth taking: one gives a hash join key (the physical planner's
    own test), or the cross product is small."""
    if not links:
        return False
    keys, _, _ = split_join_condition(conjoin(links), mine, theirs)
    return bool(keys) or pairs <= CROSS_PAIRS


# a relation joins a candidate's branch only if it cuts the branch's
# estimated rows at least this much (a filtered dimension, not a lookup)
_BRANCH_SHRINK = 0.8


class _Branch:
    """A relation, possibly pre-joined with relations only it reaches."""

    __slots__ = ("plan", "size", "names", "members", "used")

    def __init__(self, plan, size, names, members, used):
        self.plan, self.size, self.names, self.members, self.used = plan, size, names, members, used


def _branch(i: int, free: set[int], outside: set[str], relations, sizes, names, cols, preds,
            used) -> _Branch:
    """Relation i, joined first with those of `free` that connect to it but
    not to `outside` (the columns already joined) when that shrinks it: a
    snowflake branch (TPC-H Q3's orders with the customers of one market
    segment) becomes one smaller build side instead of a large build and a
    second join after it. Greedy and recursive: a joined relation brings its
    own branch (customer with its nation with its region)."""
    b = _Branch(relations[i], sizes[i], set(names[i]), [i], set())
    free = set(free)
    while True:
        def links(j: int, within: set[str]) -> list[int]:
            return [k for k, c in enumerate(cols) if not used[k] and k not in b.used
                    and c & names[j] and c & within and c <= within | names[j]]
        candidates = [j for j in sorted(free)
                      if _linked([preds[k] for k in links(j, b.names)], b.names, names[j],
                                 b.size * sizes[j])
                      and not links(j, outside)]
        best = None
        for j in candidates:
            sub = _branch(j, free - {j}, outside | b.names, relations, sizes, names, cols,
                          preds, used)
            within = b.names | sub.names
            conds = [k for k, c in enumerate(cols) if not used[k] and k not in b.used
                     and k not in sub.used and c <= within and c & b.names and c & sub.names]
            left, right = (b.plan, sub.plan) if b.size >= sub.size else (sub.plan, b.plan)
            plan = Join(left, right, "inner", conjoin([preds[k] for k in conds]))
            size = estimate_rows(plan)
            if size <= _BRANCH_SHRINK * b.size and (best is None or size < best[1]):
                best = (plan, size, sub, conds)
        if best is None:
            return b
        plan, size, sub, conds = best
        b = _Branch(plan, size, b.names | sub.names, b.members + sub.members,
                    b.used | sub.used | set(conds))
        free -= set(sub.members)
