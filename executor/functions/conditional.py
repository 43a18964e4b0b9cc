"""coalesce, nullif, greatest, least (CASE and IN are node types handled in
executor/eval.py). greatest/least skip NULLs, as DuckDB does."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .registry import as_array, register


@register("coalesce")
def coalesce(call, args, n):
    if len(args) == 1:
        return args[0]
    return pc.coalesce(*args)


@register("nullif")
def nullif(call, args, n):
    a, b = args
    if pa.types.is_null(a.type) or pa.types.is_null(b.type):
        return as_array(a, n)      # nullif(x, NULL) is x; nullif(NULL, y) is NULL
    same = pc.fill_null(pc.equal(a, b), False)
    return pc.if_else(same, pa.scalar(None, call.dtype), as_array(a, n))


def _all_null_typed(args) -> bool:
    return all(pa.types.is_null(a.type) for a in args)


@register("scalar_subquery_value")
def scalar_subquery_value(call, args, n):
    """A decorrelated scalar subquery without an aggregate: per outer row the
    number of subquery rows and one of their values. More than one row is
    the error SQL asks for; none gives NULL."""
    from ...errors import DataError
    count, value = args
    if pc.any(pc.greater(count, 1)).as_py():
        raise DataError("scalar subquery returned more than one row")
    return as_array(value, n)


@register("greatest")
def greatest(call, args, n):
    if _all_null_typed(args):
        return as_array(args[0], n)
    return pc.max_element_wise(*args, skip_nulls=True)


@register("least")
def least(call, args, n):
    if _all_null_typed(args):
        return as_array(args[0], n)
    return pc.min_element_wise(*args, skip_nulls=True)
