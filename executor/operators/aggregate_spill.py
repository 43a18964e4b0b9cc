"""Spilling for the hash aggregate (aggregate.py) when the memory pool
refuses its groups in a 'single' or 'final' aggregate.

AggSpill (every aggregate has a partial form): each time the pool refuses
the in-memory groups, their *state rows* (group
keys, then the partial-state columns of planner/aggregate_state.py) are
split by a re-mixed hash of the group keys into FANOUT Arrow IPC files
under ctx.spill_dir (a temporary folder by default), and the operator
starts again with empty groups. At the end every file is merged on its
own by a final-mode GroupTable: equal keys always land in the same file,
so each group is finished by exactly one merge. A file whose merge is
refused again is split one level down with another salt (at most
MAX_LEVEL levels; beyond that MemoryLimitExceeded). The files are
removed when the merge finishes or fails.

RowSpill (DISTINCT, string_agg: no partial form): once the pool refuses
the input rows such an aggregate holds, they and the rest of its input are
written by a hash of their group keys to FANOUT files of input rows, and
each file is aggregated on its own afterwards (aggregate.aggregate_batches,
one level down; at the last level row by row into the groups' state), so
again every group is finished by exactly one aggregation.
"""

from __future__ import annotations

import shutil
from typing import Iterator

import pyarrow as pa

from ...planner.expr import Column
from ...planner.physical import HashAggregateExec
from ..hash_spill_files import FANOUT, HashSpillFiles
from .aggregate_groups import GroupTable, eval_array, sliced
MAX_LEVEL = 3


def _final_node(node: HashAggregateExec) -> HashAggregateExec:
    """The aggregate that merges state rows of `node`'s groups."""
    if node.mode == "final":
        return node
    cols = tuple(Column(n, e.dtype) for n, e in zip(node.group_names, node.group_exprs))
    return HashAggregateExec(node.input, "final", cols, node.group_names, node.aggs,
                             node.agg_names)


def _state_schema(node: HashAggregateExec) -> pa.Schema:
    partial = HashAggregateExec(node.input, "partial", node.group_exprs, node.group_names,
                                node.aggs, node.agg_names)
    return pa.schema([pa.field(f.name, f.dtype) for f in partial.schema])


class AggSpill:
    """FANOUT IPC files of state rows for one aggregate task (or one
    sub-partition of a spilled merge, at level > 0)."""

    def __init__(self, node: HashAggregateExec, ctx, level: int, reservation) -> None:
        self.node, self.ctx, self.level = node, ctx, level
        self.res = reservation          # the aggregate's: counts spilled bytes, holds merges
        self.final = _final_node(node)
        self.schema = _state_schema(node)
        self.fields = [f for f in HashAggregateExec(
            node.input, "partial", node.group_exprs, node.group_names,
            node.aggs, node.agg_names).schema]
        self.salt = 0xA66 + 104729 * (level + 1)
        self.folder = ctx.spill_folder("quiver-agg-")
        self.files = HashSpillFiles(self.folder, "state", self.schema, reservation, FANOUT)

    def write(self, table) -> None:
        """Write the state rows of a GroupTable (aggregate_groups.GroupTable)."""
        batch = table.batch(self.fields, as_state=True)
        self.write_batch(batch)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self.files.write(batch, batch.columns[:len(self.node.group_exprs)], self.salt)

    def merge(self) -> Iterator[pa.RecordBatch]:
        """Final values of every group, file by file; removes the files."""
        ctx = self.ctx
        try:
            self.files.finish()
            for p in self.files.written():
                table = GroupTable(self.final, "final")
                deeper = None
                for batch in self.files.read(p):
                    ctx.check_cancelled()
                    table.add(batch)
                    if self.res.try_resize(table.held()):
                        continue
                    if self.level + 1 >= MAX_LEVEL:
                        self.res.resize(table.held())     # MemoryLimitExceeded,
                        continue                          # or granted after reclaiming
                    if deeper is None:
                        deeper = AggSpill(self.final, ctx, self.level + 1, self.res)
                    deeper.write(table)
                    table = GroupTable(self.final, "final")
                    self.res.resize(0)
                if deeper is None:
                    yield from sliced(table.batch(self.node.schema, False), ctx.batch_size)
                    del table
                    self.res.resize(0)
                else:
                    deeper.write(table)
                    del table
                    self.res.resize(0)
                    yield from deeper.merge()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class RowSpill:
    """Input rows of the groups an aggregate could not hold, in FANOUT IPC
    files by a hash of their group keys (aggregates without a partial form)."""

    def __init__(self, node: HashAggregateExec, ctx, level: int, reservation) -> None:
        self.node, self.ctx, self.level, self.res = node, ctx, level, reservation
        self.salt = 0xD157 + 15485863 * (level + 1)
        self.folder = ctx.spill_folder("quiver-aggrows-")
        self.schema = pa.schema([pa.field(f.name, f.dtype) for f in node.input.schema])
        self.files = HashSpillFiles(self.folder, "rows", self.schema, reservation, FANOUT)

    def write(self, batch: pa.RecordBatch) -> None:
        keys = [eval_array(e, batch) for e in self.node.group_exprs]
        self.files.write(batch, keys, self.salt)

    def aggregate_rest(self, aggregate) -> Iterator[pa.RecordBatch]:
        """`aggregate(node, batches, ctx, level)` over each file in turn."""
        self.files.finish()
        for p in self.files.written():
            yield from aggregate(self.node, self.files.read(p), self.ctx, self.level + 1)

    def close(self) -> None:
        self.files.abandon()
        shutil.rmtree(self.folder, ignore_errors=True)
