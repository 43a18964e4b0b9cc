"""Rule: DISTINCT aggregates of one argument become two aggregations.

    Aggregate(g; count(DISTINCT x), sum(DISTINCT x))
 -> Aggregate(g'; count(x'), sum(x'))
      Aggregate(g', x'; )                        (the distinct (g, x) pairs)

A DISTINCT aggregate cannot be computed in two phases (a partial count of
distinct values does not add up), so it runs as one task per group-key
partition holding every distinct value: with no GROUP BY, or few groups,
one task reads the whole input. Grouping by (g, x) first has a partial
phase on every input partition and spreads the pairs over all partitions;
the second aggregation then sees each (g, x) once, so the plain aggregate
of x is the DISTINCT one. A NULL x makes its own pair, which count, sum,
avg, min and max skip, as they skip NULL.

Applied when every aggregate is DISTINCT, has no FILTER, is one of
count/sum/avg/min/max, and all read the same one expression, or a widening
cast of it (`sum(DISTINCT x)` reads x as a DECIMAL: distinct values stay
distinct, so the cast moves to the second aggregation).
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa

from ... import datatypes as dt
from ..expr import Cast, Column
from ..logical import Aggregate
from ..tree import transform_up

SPLITTABLE = ("count", "sum", "avg", "min", "max")


def split_distinct_aggregates(plan, ctx):
    return transform_up(plan, lambda node: _split(node, ctx))[0]


def _split(node, ctx):
    if not (isinstance(node, Aggregate) and node.aggs):
        return node
    if not all(a.distinct and a.filter is None and a.fn in SPLITTABLE and len(a.args) == 1
               for a in node.aggs):
        return node
    arg = distinct_base(node.aggs[0].args[0])
    if any(distinct_base(a.args[0]) != arg for a in node.aggs):
        return node
    group_names = tuple(ctx.fresh_name(n) for n in node.group_names)
    arg_name = ctx.fresh_name("distinct")
    pairs = Aggregate(node.input, node.group_exprs + (arg,), group_names + (arg_name,), (), ())
    value = Column(arg_name, arg.dtype)
    return Aggregate(
        pairs,
        tuple(Column(n, e.dtype) for n, e in zip(group_names, node.group_exprs)),
        node.group_names,
        tuple(dataclasses.replace(a, args=(_rebase(a.args[0], value),), distinct=False)
              for a in node.aggs),
        node.agg_names)


def distinct_base(e):
    """The expression under a widening cast (distinct values stay distinct)."""
    if isinstance(e, Cast) and _widening(e.arg.dtype, e.dtype):
        return e.arg
    return e


def _rebase(e, value: Column):
    return dataclasses.replace(e, arg=value) if isinstance(e, Cast) and distinct_base(e) is not e \
        else value


def _widening(src, dst) -> bool:
    if dt.is_integer(src) and dt.is_integer(dst):
        signed_src, signed_dst = (pa.types.is_signed_integer(t) for t in (src, dst))
        if signed_src == signed_dst:
            return dst.bit_width >= src.bit_width
        return signed_dst and dst.bit_width > src.bit_width
    if dt.is_integer(src) and dt.is_decimal(dst):
        return dst.scale >= 0 and dst.precision - dst.scale >= dt.integer_digits(src)
    if dt.is_decimal(src) and dt.is_decimal(dst):
        return dst.scale >= src.scale and dst.precision - dst.scale >= src.precision - src.scale
    return False

