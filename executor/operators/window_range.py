"""Where a RANGE frame bound lies for each row: the row's ORDER BY key plus
the frame's offset, in the float units the frame kernels search
(executor/kernels/window_frames.py).

A numeric offset (`RANGE 3 PRECEDING`) adds the same amount to every key; a
DATE key counts it in days. An INTERVAL offset (`RANGE INTERVAL 1 MONTH
PRECEDING`) is calendar arithmetic over DATE or TIMESTAMP keys, so each row's
bound moves by its own number of days (2020-03-31 minus one month is
2020-02-29), the same rule as `date - INTERVAL`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import NotSupportedError
from ..functions.datetime import add_months

_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def key_as_float(arr: pa.Array) -> np.ndarray:
    """The ORDER BY key as float64 (dates in days, timestamps in their unit);
    NULLs read as 0, the caller keeps them out of every search."""
    t = arr.type
    if pa.types.is_date32(t):
        arr = arr.cast(pa.int32())
    elif pa.types.is_timestamp(t) or pa.types.is_date64(t):
        arr = arr.cast(pa.int64())
    elif not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
        raise NotSupportedError(f"RANGE offset over an ORDER BY key of type {t}")
    return pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)


def range_targets(arr: pa.Array, w: np.ndarray, offset, ascending: bool) -> np.ndarray:
    """Each row's bound in window units: `w` is the key as key_as_float,
    negated for a DESC key; offset a signed number (negative PRECEDING) or a
    signed (months, days, nanos) interval, applied to the key `arr`."""
    if not isinstance(offset, tuple):
        return w + float(offset)
    months, days, nanos = offset
    if not ascending:            # PRECEDING on a DESC key means larger keys
        months, days, nanos = -months, -days, -nanos
    shifted = _shift(arr, months, days, nanos)
    return shifted if ascending else -shifted


def _shift(arr: pa.Array, months: int, days: int, nanos: int) -> np.ndarray:
    t = arr.type
    if pa.types.is_date32(t):
        if nanos:
            raise NotSupportedError("a RANGE frame over a DATE key with an INTERVAL that has "
                                    "a time part (order by a TIMESTAMP instead)")
        d = pc.fill_null(arr.cast(pa.int32()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
        if months:
            d = add_months(d, np.full(len(d), months, dtype=np.int64))
        return (d + days).astype(np.float64)
    if pa.types.is_timestamp(t):
        per_second = _PER_SECOND[t.unit]
        per_day = 86_400 * per_second
        v = pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
        day = np.floor_divide(v, per_day)
        time_of_day = v - day * per_day
        if months:
            day = add_months(day, np.full(len(day), months, dtype=np.int64))
        out = (day + days) * per_day + time_of_day + (nanos * per_second) // 1_000_000_000
        return out.astype(np.float64)
    raise NotSupportedError(f"a RANGE frame with an INTERVAL offset over an ORDER BY key of "
                            f"type {t} (it needs a DATE or TIMESTAMP)")
