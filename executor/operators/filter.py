"""FilterExec: keep the rows of each input batch where the predicate is TRUE
(NULL counts as false); batches left empty are dropped."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from ...planner.physical import FilterExec
from ..registry import execute, implements


@implements(FilterExec)
def filter_exec(node: FilterExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    from ..eval import filter_batch
    for batch in execute(node.input, partition, ctx):
        ctx.check_cancelled()
        out = filter_batch(batch, node.predicate)
        if out.num_rows:
            yield out
