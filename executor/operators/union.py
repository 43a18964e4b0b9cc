"""UnionExec: the partitions of the inputs one after another (UNION ALL;
UNION DISTINCT is an aggregate above it). Batches of every input are renamed,
and cast when a type differs, to the first input's schema."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from ...planner.physical import UnionExec, partitions
from ..registry import execute, implements
from .values import to_type


def locate(node: UnionExec, partition: int) -> tuple[int, int]:
    """(input index, partition of that input) for one union partition."""
    for i, child in enumerate(node.inputs):
        n = partitions(child)
        if partition < n:
            return i, partition
        partition -= n
    raise IndexError("union partition out of range")


@implements(UnionExec)
def union_exec(node: UnionExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    i, part = locate(node, partition)
    fields = node.schema
    names = [f.name for f in fields]
    for batch in execute(node.inputs[i], part, ctx):
        if batch.schema.names == names and all(
                batch.column(j).type == f.dtype for j, f in enumerate(fields)):
            yield batch
            continue
        arrays = [to_type(batch.column(j), f.dtype) for j, f in enumerate(fields)]
        if not arrays:
            yield batch
            continue
        yield pa.RecordBatch.from_arrays(arrays, names=names)
