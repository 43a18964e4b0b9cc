"""The row order that sorts rows by a list of sort keys: `sort_indices`.

Why a module of its own: SortExec (operators/sort.py), its external merge
sort (operators/sort_spill.py) and the window operator
(operators/window_layout.py) all order rows the same way. sort.py hands
spilling to sort_spill, so if sort_spill imported this function from sort.py
the two would import each other; here, below both, they do not.
operators/sort.py still re-exports `sort_indices`.

Ordering follows Quiver's SQL semantics: each key has its own direction and
NULLS FIRST/LAST, strings compare as UTF-8 bytes, NaN is greater than every
other float, and the order is stable (ties keep input order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .packed_sort import packed_order

if TYPE_CHECKING:
    from ...planner.expr import SortKey


def sort_indices(arrays: Sequence[pa.Array | pa.ChunkedArray],
                 keys: Sequence[SortKey]) -> np.ndarray:
    """Row order (int64 indices) that sorts rows by `arrays[i]` per `keys[i]`
    (only each key's direction and null placement are used); stable.
    Fixed-width keys whose ranges fit in 64 bits are sorted as one packed
    word (packed_sort.py); other keys by Arrow's multi-key sort."""
    order = packed_order(arrays, keys)
    if order is not None:
        return order
    columns: list = []
    sort_keys: list[tuple[str, str, str]] = []
    n = None
    for arr, key in zip(arrays, keys):
        n = len(arr)
        if pa.types.is_null(arr.type):
            continue                              # all NULL: every row ties
        order = "ascending" if key.ascending else "descending"
        nulls = "at_start" if key.nulls_first else "at_end"
        if pa.types.is_floating(arr.type) and pc.any(pc.is_nan(arr)).as_py():
            # NaN sorts above every number: an is-NaN key decides it first
            name = f"k{len(columns)}"
            columns.append(pc.is_nan(arr))
            sort_keys.append((name, order, nulls))
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)
        columns.append(arr)
        sort_keys.append((f"k{len(columns) - 1}", order, nulls))
    if not sort_keys:
        return np.arange(n or 0, dtype=np.int64)
    table = pa.table(columns, names=[f"k{i}" for i in range(len(columns))])
    idx = pc.sort_indices(table, sort_keys=sort_keys)
    return idx.to_numpy().astype(np.int64, copy=False)
