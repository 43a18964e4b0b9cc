"""List functions: list_value (a list per row from k argument columns, built
with one interleaving `take`) and list_length."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .registry import as_array, register


@register("list_value")
def list_value(call, args, n):
    element = call.dtype.value_type
    k = len(args)
    offsets = pa.array(np.arange(0, n * k + 1, max(k, 1)) if k else np.zeros(n + 1),
                       pa.int32())
    if k == 0:
        return pa.ListArray.from_arrays(offsets, pa.array([], element))
    columns = [as_array(a, n).cast(element) for a in args]
    # row i's values are columns[0][i], columns[1][i], ...: element j*n+i of the concat
    order = (np.arange(n)[:, None] + np.arange(k)[None, :] * n).ravel()
    values = pa.concat_arrays(columns).take(pa.array(order))
    return pa.ListArray.from_arrays(offsets, values, type=call.dtype)


@register("list_length")
def list_length(call, args, n):
    return pc.cast(pc.list_value_length(as_array(args[0], n)), pa.int64())
