"""ValuesExec: the literal rows of `VALUES (...)` and `SELECT` without FROM.

Produces one batch holding all rows. Also owns `rows_only_batch(n)`, the
representation of a batch with `n` rows and no columns (what `SELECT 1` and
count(*) over a table need): Arrow's `RecordBatch.from_arrays([], names=[])`
always has 0 rows, but selecting zero columns from a batch keeps its row
count, so we build a one-column batch of `n` nulls and select no column.
Such a batch survives Arrow IPC, `pa.concat_batches` and `slice`.

The loops here run over the plan's literal rows (a few expressions written
in the SQL text), not over data.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from ...planner.expr import Literal
from ...planner.physical import ValuesExec
from ..registry import implements


def rows_only_batch(num_rows: int) -> pa.RecordBatch:
    """A record batch with `num_rows` rows and no columns."""
    return pa.record_batch([pa.nulls(num_rows)], names=["_"]).select([])


def to_type(arr: pa.Array, dtype: pa.DataType) -> pa.Array:
    """`arr` cast to `dtype` when its type differs (a no-op otherwise)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == dtype else arr.cast(dtype)


def _column(exprs, dtype: pa.DataType) -> pa.Array:
    """One output column from the expressions of one VALUES column."""
    if all(isinstance(e, Literal) for e in exprs):
        values = [e.value for e in exprs]
        types = {e.dtype for e in exprs}
        if len(types) == 1 and not pa.types.is_null(next(iter(types))):
            return to_type(pa.array(values, type=next(iter(types))), dtype)
        if all(v is None for v in values):
            return pa.nulls(len(values), dtype)
        return pa.concat_arrays([to_type(pa.array([e.value], type=e.dtype), dtype)
                                 for e in exprs])
    from ..eval import evaluate
    one = rows_only_batch(1)
    return pa.concat_arrays([to_type(evaluate(e, one), dtype) for e in exprs])


@implements(ValuesExec)
def values_exec(node: ValuesExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    n = len(node.rows)
    if not node.fields:
        yield rows_only_batch(n)
        return
    arrays = [_column([row[j] for row in node.rows], f.dtype)
              for j, f in enumerate(node.fields)]
    yield pa.RecordBatch.from_arrays(arrays, names=[f.name for f in node.fields])
