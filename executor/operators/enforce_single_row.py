"""EnforceSingleRowExec: the guard under a scalar subquery. At most one row
passes (reading every partition of its input); a second row raises
DataError; an empty input yields one row of NULLs (a scalar subquery over no
rows is NULL)."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from ...errors import DataError
from ...planner.physical import EnforceSingleRowExec, partitions
from ..registry import execute, implements
from .values import rows_only_batch


@implements(EnforceSingleRowExec)
def enforce_single_row_exec(node: EnforceSingleRowExec, partition: int,
                            ctx) -> Iterator[pa.RecordBatch]:
    fields = node.schema
    names = [f.name for f in fields]
    found: pa.RecordBatch | None = None
    for part in range(partitions(node.input)):
        for batch in execute(node.input, part, ctx):
            if not batch.num_rows:
                continue
            if found is not None or batch.num_rows > 1:
                raise DataError("scalar subquery returned more than one row")
            found = batch
    if found is None:
        if not fields:
            yield rows_only_batch(1)
            return
        found = pa.RecordBatch.from_arrays([pa.nulls(1, f.dtype) for f in fields],
                                           names=names)
    yield found
