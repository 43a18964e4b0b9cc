"""ProjectExec: evaluate the node's expressions over each input batch and
emit them under the node's names (a projection with no expressions keeps the
row count, see values.rows_only_batch)."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from ...planner.expr import Column
from ...planner.physical import ProjectExec
from ..registry import execute, implements
from .values import rows_only_batch, to_type


@implements(ProjectExec)
def project_exec(node: ProjectExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    from ..eval import evaluate, shared_subexpressions
    names = list(node.names)
    for batch in execute(node.input, partition, ctx):
        ctx.check_cancelled()
        if not node.exprs:
            yield rows_only_batch(batch.num_rows)
            continue
        with shared_subexpressions():
            arrays = [to_type(evaluate(e, batch), e.dtype) for e in node.exprs]
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def picks_columns(node) -> bool:
    """Whether `node` is a ProjectExec that only picks (and renames) input
    columns: an operator may look through it to the scan below (aggregate
    dictionary keys, late top-N rows)."""
    return (isinstance(node, ProjectExec) and bool(node.exprs)
            and all(isinstance(e, Column) for e in node.exprs))
