"""Maps each physical node type to the operator that runs it.

An operator is a generator function `(node, partition, ctx) -> Iterator[
pyarrow.RecordBatch]` registered with `@implements(NodeType)`. Operators pull
their inputs through `execute(child, partition, ctx)`, which also records
metrics when EXPLAIN ANALYZE asked for them.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

import pyarrow as pa

from ..errors import NotSupportedError

# filled by the operator modules as the executor package is imported
_OPERATORS: dict[type, Callable] = {}


def implements(node_type: type) -> Callable:
    def register(fn: Callable) -> Callable:
        _OPERATORS[node_type] = fn
        return fn
    return register


def execute(node, partition: int, ctx, **options) -> Iterator[pa.RecordBatch]:
    """Run partition `partition` of `node`, yielding record batches whose
    column names are the node's schema names. `options` go to the operator
    (one that takes them: parquet_scan's keep_dictionary)."""
    try:
        op = _OPERATORS[type(node)]
    except KeyError:
        raise NotSupportedError(f"no operator for {type(node).__name__}") from None
    if ctx.metrics is None:
        yield from op(node, partition, ctx, **options)
        return
    it = op(node, partition, ctx, **options)
    while True:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            ctx.metrics.record(node, 0, time.perf_counter() - t0)
            return
        ctx.metrics.record(node, batch.num_rows, time.perf_counter() - t0, batch.nbytes)
        yield batch
