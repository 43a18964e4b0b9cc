"""UnnestExec: each input row repeated once per element of a list
expression, the element appended as the last column. A NULL or empty list
gives no row. Vectorized: the list's parent indices select the input rows
(one `take`), its flattened values are the new column."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ...planner.physical import UnnestExec
from ..registry import execute, implements
from .values import to_type


@implements(UnnestExec)
def unnest_exec(node: UnnestExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    from ..eval import evaluate
    out_schema = pa.schema([pa.field(f.name, f.dtype) for f in node.schema])
    element = node.expr.dtype.value_type
    for batch in execute(node.input, partition, ctx):
        ctx.check_cancelled()
        lists = to_type(evaluate(node.expr, batch), node.expr.dtype)
        if isinstance(lists, pa.ChunkedArray):
            lists = lists.combine_chunks()
        parents = pc.list_parent_indices(lists)
        if len(parents) == 0:
            continue
        values = to_type(pc.list_flatten(lists), element)
        rows = batch.take(parents)
        yield pa.RecordBatch.from_arrays(list(rows.columns) + [values], schema=out_schema)
