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

_OPERATORS: dict[type, Callable] = {}
_LOADED = False

# node type -> the module under executor/operators that implements it, so a
# query imports only the operators it runs (a `SELECT 1` loads no numba
# kernels); a type missing here loads every operator module
_MODULES = {
    "HashAggregateExec": "aggregate", "EnforceSingleRowExec": "enforce_single_row",
    "FilterExec": "filter", "HashJoinExec": "hash_join", "LimitExec": "limit",
    "MemoryScanExec": "memory_scan", "ProjectExec": "project", "ParquetScanExec": "scan",
    "ShuffleReadExec": "shuffle_read", "ShuffleWriteExec": "shuffle_write",
    "SortExec": "sort", "UnionExec": "union", "ValuesExec": "values", "WindowExec": "window",
}


def _load_operators() -> None:
    global _LOADED
    from . import operators
    operators.load_all()                 # registers every operator
    _LOADED = True


def _operator(node_type: type) -> Callable:
    op = _OPERATORS.get(node_type)
    if op is None and not _LOADED:
        module = _MODULES.get(node_type.__name__)
        if module is not None:
            import importlib
            importlib.import_module(f"{__package__}.operators.{module}")
        op = _OPERATORS.get(node_type)
        if op is None:
            _load_operators()
            op = _OPERATORS.get(node_type)
    if op is None:
        from ..errors import NotSupportedError
        raise NotSupportedError(f"no operator for {node_type.__name__}")
    return op


def implements(node_type: type) -> Callable:
    def register(fn: Callable) -> Callable:
        _OPERATORS[node_type] = fn
        return fn
    return register


def execute(node, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    """Run partition `partition` of `node`, yielding record batches whose
    column names are the node's schema names."""
    op = _operator(type(node))
    if ctx.metrics is None:
        yield from op(node, partition, ctx)
        return
    it = op(node, partition, ctx)
    while True:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            ctx.metrics.record(node, 0, time.perf_counter() - t0)
            return
        ctx.metrics.record(node, batch.num_rows, time.perf_counter() - t0)
        yield batch
