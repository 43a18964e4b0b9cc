"""join_kept: the rows that passed a filter in several batches, as one batch.

A scan filters each row group as it is read (dictionary reads end a batch
at every row group) and joins the kept rows into batches of about the batch
size. Filtering each batch and then concatenating copies every kept value
twice; where the mask keeps most rows (TPC-H Q1's `l_shipdate <= d` keeps
99%) those two copies cost 20% of the query. Fixed-width columns without
NULLs (integers, floats, dates, times, decimal128) are gathered here in one
pass per column (kernels/row_gather.py); other columns (strings,
dictionaries, booleans, columns with NULLs) keep Arrow's filter and concat.

Small inputs stay with Arrow, so a short query never loads numba.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .kernels.arrow_buffers import mask_values
from .kernels.row_gather import gather_kept

# rows (before filtering) from which the kernel is used
KERNEL_MIN_ROWS = 32 * 1024

Part = tuple[pa.RecordBatch, "pa.Array | None"]     # (batch, keep mask or None: all)


def kept_count(part: Part) -> int:
    batch, mask = part
    return batch.num_rows if mask is None else mask.true_count


def join_kept(parts: list[Part]) -> pa.RecordBatch:
    """One batch of the kept rows of `parts`, in order (masks without NULLs;
    every part has the same schema)."""
    if len(parts) == 1 and parts[0][1] is None:
        return parts[0][0]
    schema = parts[0][0].schema
    total = sum(kept_count(p) for p in parts)
    rows = sum(b.num_rows for b, _ in parts)
    columns: list = [None] * len(schema)
    rest: list[int] = []
    if rows >= KERNEL_MIN_ROWS:
        keeps = [None if m is None else mask_values(m).view(np.uint8)
                 for _, m in parts]
        for i, field in enumerate(schema):
            width = _gather_width(field.type)
            if width and not any(b.column(i).null_count for b, _ in parts):
                columns[i] = _gathered(field.type, width, [b.column(i) for b, _ in parts],
                                       keeps, total)
            else:
                rest.append(i)
    else:
        rest = list(range(len(schema)))
    if rest:
        filtered = [b.select(rest) if m is None else b.select(rest).filter(m) for b, m in parts]
        joined = (filtered[0] if len(filtered) == 1
                  else pa.Table.from_batches(filtered).combine_chunks().to_batches()[0])
        for j, i in enumerate(rest):
            columns[i] = joined.column(j)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _gather_width(t: pa.DataType) -> int:
    """Bytes a value of `t` takes when it can be gathered as raw words (4,
    8 or 16), else 0."""
    if pa.types.is_decimal128(t):
        return 16
    if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_temporal(t)) \
            and not pa.types.is_boolean(t):
        width = t.bit_width // 8
        return width if width in (4, 8) else 0
    return 0


def _words(arr: pa.Array, width: int) -> np.ndarray:
    """The array's values as int32, int64 or (rows, 2) int64 words (a view)."""
    buf = arr.buffers()[1]
    if width == 4:
        return np.frombuffer(buf, dtype=np.int32)[arr.offset:arr.offset + len(arr)]
    words = np.frombuffer(buf, dtype=np.int64)
    if width == 8:
        return words[arr.offset:arr.offset + len(arr)]
    return words.reshape(-1, 2)[arr.offset:arr.offset + len(arr)]


def _gathered(t: pa.DataType, width: int, arrays: list, keeps: list, total: int) -> pa.Array:
    dtype = np.int32 if width == 4 else np.int64
    out = np.empty((total + 1, 2) if width == 16 else total + 1, dtype=dtype)
    pos = 0
    for arr, keep in zip(arrays, keeps):
        values = _words(arr, width)
        if keep is None:
            out[pos:pos + len(values)] = values
            pos += len(values)
        else:
            pos = gather_kept(values, keep, out, pos)
    return pa.Array.from_buffers(t, total, [None, pa.py_buffer(out[:total])])
