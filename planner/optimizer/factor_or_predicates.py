"""Rule: pull the conjuncts that every branch of an OR shares out of the OR.

    (a = b AND x = 1) OR (a = b AND x = 2)
 -> a = b AND (x = 1 OR x = 2)

TPC-H Q19 repeats its join predicate `p_partkey = l_partkey` in each of
three OR branches; without this rule the join has no equi-key and runs as a
nested loop. Valid under three-valued logic: (A AND B) OR (A AND C) equals
A AND (B OR C) for every truth value of A, B and C. Runs before
push_down_filter, which then places the factored conjuncts.
"""

from __future__ import annotations

from ... import datatypes as dt
from ..expr import Call, Expr, conjoin, conjuncts
from ..logical import LogicalPlan
from ..tree import map_expressions, transform_up


def factor_or_predicates(plan: LogicalPlan, ctx) -> LogicalPlan:
    def rewrite_node(node):
        return map_expressions(node, factor_expression)
    return transform_up(plan, rewrite_node)[0]


def factor_expression(e: Expr) -> Expr:
    def fn(x):
        if isinstance(x, Call) and x.fn == "or":
            return _factor_or(x)
        return x
    return transform_up(e, fn)[0]


def disjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Call) and e.fn == "or":
        out: list[Expr] = []
        for a in e.args:
            out.extend(disjuncts(a))
        return out
    return [e]


def _factor_or(e: Call) -> Expr:
    branches = [conjuncts(d) for d in disjuncts(e)]
    common = [c for c in branches[0] if all(c in b for b in branches[1:])]
    if not common:
        return e
    rests = [[c for c in b if c not in common] for b in branches]
    if any(not r for r in rests):
        # one branch is exactly the common part: the OR adds nothing
        return conjoin(common)
    ors = [conjoin(r) for r in rests]
    rest = ors[0]
    for o in ors[1:]:
        rest = Call("or", (rest, o), dt.BOOL)
    return conjoin(common + [rest])
