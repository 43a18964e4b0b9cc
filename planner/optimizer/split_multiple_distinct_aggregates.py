"""Rule: DISTINCT aggregates of different arguments, or next to plain
aggregates, become one aggregation per argument, joined on the group keys.

    Aggregate(g; count(DISTINCT a), count(DISTINCT b), sum(c))
 -> Project(g, n_a, n_b, s)
      Join(g = g', g = g'', NULLs equal)
        Aggregate(g; count(DISTINCT a))          <- input
        Aggregate(g'; count(DISTINCT b))         <- input' (a copy, fresh names)
        Aggregate(g''; sum(c))                   <- input''

split_distinct_aggregates runs a DISTINCT aggregate in two phases, but only
when every aggregate is DISTINCT of the same argument; with two arguments,
or `count(*), count(DISTINCT user)`, the aggregate stayed one task per group-key partition holding every
distinct value of both (no GROUP BY: one task for the whole input; SF1
lineitem's count(DISTINCT l_suppkey), count(DISTINCT l_partkey),
count(DISTINCT l_shipdate): 0.66 s). Split per argument, each branch is an
aggregation that rule splits again.

Every branch reads the same rows and groups them by the same keys, so the
branches have the same groups: an inner join on the keys, with NULL keys
equal, pairs them one to one (without GROUP BY each branch is one row, even
over no rows, and the join is a cross join of single rows). Applied when
the input is a chain of Projects and Filters over one Scan (read again per
branch; util.copy_chain gives each copy fresh names), every group key and
filter is deterministic, and the DISTINCT aggregates are ones
split_distinct_aggregates can split (no FILTER, one argument).
"""

from __future__ import annotations

from ... import datatypes as dt
from ..expr import AggCall, Call, Column, conjoin
from ..logical import Aggregate, Filter, Join, Project, Scan
from ..tree import transform_up
from .split_distinct_aggregates import SPLITTABLE, distinct_base
from .util import copy_chain, is_deterministic, substitute


def split_multiple_distinct_aggregates(plan, ctx):
    return transform_up(plan, lambda node: _split(node, ctx))[0]


def _split(node, ctx):
    if not (isinstance(node, Aggregate) and node.aggs):
        return node
    parts: dict = {}                 # a DISTINCT argument (or None: the plain aggregates) -> aggs
    for i, a in enumerate(node.aggs):
        if a.distinct:
            if a.filter is not None or a.fn not in SPLITTABLE or len(a.args) != 1:
                return node
            parts.setdefault(distinct_base(a.args[0]), []).append(i)
        else:
            parts.setdefault(None, []).append(i)
    distinct_args = sum(1 for k in parts if k is not None)
    if not distinct_args or len(parts) < 2 or not _readable_twice(node.input):
        return node                  # (one argument alone: split_distinct_aggregates)
    if not all(is_deterministic(g) for g in node.group_exprs):
        return node
    branches = []
    for n, indexes in enumerate(parts.values()):
        if n == 0:
            source, mapping = node.input, {}
        else:
            source, names = copy_chain(node.input, ctx)
            mapping = {f.name: Column(names[f.name], f.dtype, f.nullable)
                       for f in node.input.schema}
        branches.append(Aggregate(
            source,
            tuple(substitute(g, mapping) for g in node.group_exprs),
            tuple(ctx.fresh_name(g) for g in node.group_names),
            tuple(_renamed(node.aggs[i], mapping) for i in indexes),
            tuple(ctx.fresh_name(node.agg_names[i]) for i in indexes)))
    joined = branches[0]
    first_keys = [Column(f.name, f.dtype) for f in branches[0].schema[:len(node.group_exprs)]]
    for b in branches[1:]:
        keys = [Column(f.name, f.dtype) for f in b.schema[:len(node.group_exprs)]]
        cond = conjoin([Call("eq", (k0, k), dt.BOOL) for k0, k in zip(first_keys, keys)])
        joined = Join(joined, b, "inner", cond, null_equals_null=cond is not None)
    out_of = {}
    for b, indexes in zip(branches, parts.values()):
        for i, f in zip(indexes, b.schema[len(node.group_exprs):]):
            out_of[i] = Column(f.name, f.dtype)
    exprs = tuple(first_keys) + tuple(out_of[i] for i in range(len(node.aggs)))
    return Project(joined, exprs, node.group_names + node.agg_names)


def _renamed(agg: AggCall, mapping: dict) -> AggCall:
    return substitute(agg, mapping) if mapping else agg


def _readable_twice(plan) -> bool:
    """A chain of Projects and Filters over one Scan, all deterministic."""
    while isinstance(plan, (Project, Filter)):
        exprs = plan.exprs if isinstance(plan, Project) else (plan.predicate,)
        if not all(is_deterministic(e) for e in exprs):
            return False
        plan = plan.input
    return isinstance(plan, Scan) and all(is_deterministic(e) for e in plan.filters)

