"""Which rows of a new batch can still enter a full top-N: `may_enter`.

Once a running top-N (operators/sort.py) holds `fetch` rows, its last row is
the bound: a new row that sorts after it on the first key can never enter.
Comparing the first key with the bound's value is one vectorized pass,
against a sort of the whole batch; in ORDER BY ... LIMIT over a big table
nearly every batch after the first few has no row left, and is neither
sorted nor merged (SF1 lineitem by l_extendedprice, LIMIT 10: the top-N's
own time went from 195 ms of task time to a few).

The comparison is inclusive (a row that ties on the first key may still win
on a later key), so the filter only drops rows the sort would drop; the
rows it keeps stay in input order (ties stay stable). Order follows the sort:
NULLs by the key's placement, NaN above every other float.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ...planner.expr import SortKey


def may_enter(values: pa.Array | pa.ChunkedArray, bound: pa.Scalar,
              key: SortKey) -> pa.Array | pa.ChunkedArray | None:
    """A boolean mask (no NULLs) of the rows of `values` (a batch's first
    sort key) that sort before or tie with `bound` (the first key of the
    top's last row) under `key`; None when every row may enter or the type
    has no comparison (the caller then keeps them all)."""
    if not bound.is_valid:
        return None                  # a NULL bound: rows tie or win on the NULL placement
    vtype = values.type
    if pa.types.is_dictionary(vtype) or vtype != bound.type:
        return None
    floating = pa.types.is_floating(vtype)
    if floating and bound.as_py() != bound.as_py():
        return None                  # a NaN bound: numbers sort before it too
    try:
        if key.ascending:
            mask = pc.less_equal(values, bound)
        else:
            mask = pc.greater_equal(values, bound)
            if floating:             # NaN is above every number: first when descending
                mask = pc.or_(mask, pc.is_nan(values))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if values.null_count:            # a NULL row enters only if NULLs come first
        mask = pc.fill_null(mask, key.nulls_first)
    return mask
