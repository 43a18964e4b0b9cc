"""The hash aggregate operator (planner.physical.HashAggregateExec).

Consumes every input batch of its partition, then yields the groups:

    for each batch:   keys -> KeyEncoder -> dense group ids
                      (first row of each new id kept: the group's key values)
                      args (+ FILTER mask) -> accumulators.update(ids, ...)
    at the end:       key columns ++ per-aggregate results (or states)
                      -> batches of at most ctx.batch_size rows

Modes: 'single' (rows -> final values), 'partial' (rows -> state columns as
planner/aggregate_state.py lays them out), 'final' (state columns -> final
values; group exprs are Columns of the partial output). Without group keys
every mode emits exactly one row, even for an empty input (count 0, the
rest NULL), so a final phase over partial rows stays right.

Memory: the groups' state (key values, hash tables, accumulators) is
reserved from the memory pool after every batch (ctx.reserve), and before
a batch what its new keys could make the hash tables allocate (a doubling
of a large table is otherwise twice its size, uncounted, for a moment). Refused, a
'partial' aggregate simply emits what it has and starts afresh (the final
phase merges); a 'single' or 'final' aggregate whose aggregates all have a
partial form writes its state rows to hash-partitioned Arrow IPC files and
merges each file separately at the end (aggregate_spill.AggSpill).
Grouped aggregates without a partial form (DISTINCT, string_agg) reserve
their input rows instead and aggregate them at the end; refused, the rows
go to files by a hash of their group keys, each aggregated on its own
afterwards (aggregate_spill.RowSpill: a grace aggregation; the last level
aggregates row by row and holds only the groups' state). What cannot be
spilled (a global DISTINCT, one group's state larger than the limit) fails
with MemoryLimitExceeded.

A 'partial' aggregate whose first 64K rows are at least 80% distinct
groups stops grouping (TPC-H Q16's DISTINCT pairs: 1.19M rows, 1.19M
groups): it emits what it has and passes the rest on as state rows, a group
per row, which the final phase groups anyway (DataFusion and Spark skip
such partial aggregation too).

The groups of one task (GroupTable) live in aggregate_groups.py, the
accumulators in aggregate_accumulators.py, the kernels in executor/kernels/.
"""

from __future__ import annotations

import pyarrow as pa

from ...planner.aggregate_state import has_partial_form
from ...planner.expr import Column
from ...planner.physical import HashAggregateExec, ParquetScanExec, ProjectExec
from .. import registry
from ..registry import implements
from . import aggregate_spill
from .project import picks_columns
from .aggregate_groups import GroupTable, sliced


def can_spill(node: HashAggregateExec) -> bool:
    return bool(node.group_exprs) and all(has_partial_form(a) for a in node.aggs)


@implements(HashAggregateExec)
def hash_aggregate(node: HashAggregateExec, partition: int, ctx):
    mode = node.mode
    if mode not in ("single", "partial", "final"):
        raise ValueError(f"unknown aggregate mode {mode!r}")
    yield from aggregate_batches(node, _input(node, partition, ctx), ctx, 0)


def _input(node: HashAggregateExec, partition: int, ctx):
    """The input rows; read straight from Parquet, string group keys that
    are dictionary-encoded in the file stay so (GroupTable codes them by
    dictionary). Not for the grace path, which writes rows to IPC files."""
    scan, picked = node.input, None
    if picks_columns(scan):
        picked, scan = scan, scan.input       # look through it
    if (isinstance(scan, ParquetScanExec) and scan.file_format == "parquet"
            and node.mode in ("partial", "single") and can_spill(node)):
        source = {} if picked is None else {n: e.name for n, e in zip(picked.names, picked.exprs)}
        keys = frozenset(source.get(e.name, e.name) for e in node.group_exprs
                         if isinstance(e, Column) and pa.types.is_string(e.dtype))
        if keys:
            batches = registry.execute(scan, partition, ctx, keep_dictionary=keys)
            return batches if picked is None else _picked(picked, batches, ctx)
    return registry.execute(node.input, partition, ctx)


def _picked(project: ProjectExec, batches, ctx):
    """A Project of plain columns over the scan's batches, dictionary
    columns left as they are (the Project would decode them): `SELECT
    DISTINCT o_clerk, o_orderpriority` groups by dictionary codes (SF1
    orders: 0.22 s by whole-row string keys, now a few ms)."""
    names = list(project.names)
    for batch in batches:
        ctx.check_cancelled()
        yield pa.RecordBatch.from_arrays([batch.column(e.name) for e in project.exprs],
                                         names=names)


# a partial aggregate whose first rows are almost as many groups as rows
# stops grouping and passes its rows on as state rows (the final phase
# groups them anyway): SKIP_PROBE_ROWS rows probed, SKIP_RATIO groups per row
SKIP_PROBE_ROWS = 65_536
SKIP_RATIO = 0.8


def _probing(batches, rows: int):
    """The batches, the first one cut after `rows` rows (the probe decides
    before the rest of a large first batch is grouped)."""
    first = True
    for batch in batches:
        if first and batch.num_rows > rows:
            yield batch.slice(0, rows)
            batch = batch.slice(rows)
        first = False
        yield batch


def _pass_through(node: HashAggregateExec, batches, ctx):
    """Each row its own group: state rows straight from the input rows, in
    batches of about ctx.batch_size rows (what a batch in flight holds)."""
    table, rows = None, 0
    for batch in batches:
        ctx.check_cancelled()
        if batch.num_rows == 0:
            continue
        if table is None:
            table = GroupTable(node, "partial", each_row=True)
        table.add(batch)
        rows += batch.num_rows
        if rows >= ctx.batch_size:
            yield from sliced(table.batch(node.schema, True), ctx.batch_size)
            table, rows = None, 0
    if table is not None:
        yield from sliced(table.batch(node.schema, True), ctx.batch_size)


def aggregate_batches(node: HashAggregateExec, batches, ctx, level: int):
    """Aggregate `batches` (rows of node.input) in node.mode, within the
    memory pool; `level` counts how deep a row spill already split them."""
    mode = node.mode
    if not can_spill(node) and node.group_exprs and mode == "single":
        yield from _grace_aggregate(node, batches, ctx, level)
        return
    spillable = can_spill(node)
    # refused, a partial aggregate emits its groups (the final phase merges
    # early flushes) and a spillable one writes them out; others cannot
    evictable = mode == "partial" or spillable
    res = ctx.reserve(f"HashAggregate ({mode})", node)
    table = GroupTable(node, mode)
    spill = None
    probe = mode == "partial" and bool(node.group_exprs) and spillable and level == 0
    if probe:
        batches = _probing(batches, SKIP_PROBE_ROWS)
    rows_in = 0

    def evict():
        nonlocal table, spill
        if mode == "partial":
            yield from sliced(table.batch(node.schema, True), ctx.batch_size)
        else:
            if spill is None:
                spill = aggregate_spill.AggSpill(node, ctx, level=0, reservation=res)
            spill.write(table)
        table = GroupTable(node, mode)
        res.resize(table.held())

    try:
        for batch in batches:
            ctx.check_cancelled()
            if batch.num_rows == 0:
                continue
            # the key tables' next size is reserved before they allocate it
            if (evictable and table.n and not res.try_resize(
                    table.held() + table.growth_bound(batch.num_rows))):
                yield from evict()
            table.add(batch)
            rows_in += batch.num_rows
            if probe and rows_in >= SKIP_PROBE_ROWS:
                probe = False
                if table.n >= SKIP_RATIO * rows_in:
                    yield from evict()
                    res.resize(0)
                    yield from _pass_through(node, batches, ctx)
                    return
            if res.try_resize(table.held()):
                continue
            if evictable:
                yield from evict()
            else:
                res.resize(table.held())   # nothing to spill: MemoryLimitExceeded,
                                           # or granted after reclaiming and waiting
        if spill is None:
            yield from sliced(table.batch(node.schema, mode == "partial"), ctx.batch_size)
            return
        spill.write(table)
        del table
        res.resize(0)
        yield from spill.merge()
    finally:
        res.free()


def _grace_aggregate(node: HashAggregateExec, batches, ctx, level: int):
    """A grouped aggregate without a partial form (DISTINCT, string_agg): a
    grace aggregation. The input rows are held while the pool allows and
    aggregated at the end; refused, they and the rest of the input go to
    files by a hash of the group keys, each aggregated on its own one level
    down. At the last level the rows are aggregated as they come (only the
    groups' state is held), and state the pool refuses is MemoryLimitExceeded."""
    if level >= aggregate_spill.MAX_LEVEL:
        yield from _streamed_aggregate(node, batches, ctx)
        return
    res = ctx.reserve("HashAggregate (single, distinct)", node)
    held: list[pa.RecordBatch] = []
    rows = None
    try:
        for batch in batches:
            ctx.check_cancelled()
            if batch.num_rows == 0:
                continue
            if rows is not None:
                rows.write(batch)
            elif res.try_grow(batch.nbytes):
                held.append(batch)
            else:
                rows = aggregate_spill.RowSpill(node, ctx, level, res)
                for b in held:
                    rows.write(b)
                held = []
                res.resize(0)
                rows.write(batch)
        if rows is not None:
            yield from rows.aggregate_rest(aggregate_batches)
            return
        table = GroupTable(node, "single")
        for batch in held:
            table.add(batch)
        held = []
        yield from sliced(table.batch(node.schema, False), ctx.batch_size)
    finally:
        res.free()
        if rows is not None:
            rows.close()


def _streamed_aggregate(node: HashAggregateExec, batches, ctx):
    res = ctx.reserve("HashAggregate (single, distinct)", node)
    try:
        table = GroupTable(node, "single")
        for batch in batches:
            ctx.check_cancelled()
            if batch.num_rows:
                table.add(batch)
                res.resize(table.held())     # refused: MemoryLimitExceeded
        yield from sliced(table.batch(node.schema, False), ctx.batch_size)
    finally:
        res.free()
