"""Logical plan -> physical plan: choose join strategies and aggregation
phases, and place exchanges where data must move between tasks.

Example: an inner join of a big `lineitem` with a small `nation` becomes

    HashJoinExec(inner, broadcast)
      ParquetScanExec(lineitem, 8 partitions)
      ExchangeExec(single, broadcast)
        ParquetScanExec(nation, 1 partition)

while two big inputs are both hash-exchanged on their keys into the same
number of partitions. planner/stages.py later cuts the plan at every
ExchangeExec. The number of shuffle partitions is chosen here from estimated
input sizes, never by the user.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field

import pyarrow as pa

from ..errors import NotSupportedError, OperationalError
from .. import datatypes as dt
from . import logical as L
from . import physical as P
from .aggregate_state import has_partial_form
from .scan_pruning import prune_files
from .statistics import estimate_rows
from .expr import Call, Cast, Column, Expr, columns_of, conjoin, conjuncts

ROW_BYTES_GUESS = 64


@dataclass
class PhysicalOptions:
    """Knobs for planning. Tests use them for the verification matrix; users
    never need to set them."""
    target_partitions: int = field(default_factory=lambda: os.cpu_count() or 2)
    shuffle_partitions: int | None = None      # None: chosen from input sizes
    broadcast_rows: int = 200_000              # build sides up to this are broadcast
    # the plan runs in one process (the embedded engine): a broadcast build is
    # made once and shared by its tasks, so it is worth more (see _broadcasts)
    one_process: bool = True
    # processes a broadcast build side is sent to and built in (a cluster's
    # workers; the coordinator sets it)
    processes: int = 1
    join_strategy: str | None = None           # None, "broadcast" or "partitioned"
    # what the query may hold (bytes; the session caps it by its memory
    # limit, a coordinator by its workers' pools): a build side past
    # broadcast_rows is broadcast only while its estimated size in memory is
    # at most half of it; None: no such cap
    memory_bytes: int | None = None
    split_bytes: int = 64 << 20                # scan bytes per task
    rows_per_shuffle_partition: int = 2_000_000
    # a join estimated (from known table sizes) to produce or compare more
    # rows than this is refused instead of run; None: no limit
    max_join_rows: float | None = 1e11
    # a partitioned join's build side of at most this many rows filters its
    # probe side before the shuffle (planner/runtime_filters.py); 0: never.
    # Its keys are reserved from the pool (refused: the probe rows pass), so
    # the cap only bounds the work of a set that may filter little: TPC-H Q5
    # at SF100 under 4GB (22.8M orders of one year) shuffled all 600M lineitem
    # rows to disk with 2M and ran out of disk; with 32M it takes 57 s
    runtime_filter_rows: int = 32_000_000


def _estimate(plan: L.LogicalPlan) -> float:
    return float(estimate_rows(plan))


# A shared broadcast build holds about 3.5x its columns' bytes (the batches,
# the key encoding, the hash table: TPC-H Q3's 21.8M orders rows of 24 bytes
# held 1.7 GiB at SF30), and at least its bytes plus ~64 bytes a row (hash
# tables kept at most half full, row ids): bytes alone missed narrow rows,
# so Q5's 22.8M orders rows of 16 bytes at SF100 were broadcast under 4GB,
# refused at 1.5 GiB, spilled, and re-read by each of 405 probe tasks
# (12 GiB spilled, 465 s of task time; partitioned: the query 391 -> 108 s).
# It is broadcast only while that is at most half of what the query may
# hold, so the probe side's pipeline and buffers fit too.
BUILD_MEMORY_FACTOR = 3.5
BUILD_BYTES_PER_ROW = 64


def build_memory(node: L.LogicalPlan) -> float:
    """Estimated bytes a hash join's build side over `node` holds."""
    size = estimate_bytes(node)
    return max(size * BUILD_MEMORY_FACTOR, size + _estimate(node) * BUILD_BYTES_PER_ROW)


STRING_BYTES = 24          # a guess for a string value's bytes (offset + data)


def estimate_bytes(plan: L.LogicalPlan) -> float:
    """Estimated bytes of a plan's output: rows times the row's width
    (fixed-width types by their width, strings STRING_BYTES, others 16)."""
    width = 0
    for f in plan.schema:
        t = f.dtype
        if dt.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
            width += STRING_BYTES
            continue
        try:
            width += max(t.bit_width // 8, 1)
        except ValueError:          # not fixed-width: lists, structs, ...
            width += 16
    return _estimate(plan) * max(width, 1)


def _scans(plan: L.LogicalPlan):
    from .tree import walk
    return [n for n in walk(plan) if isinstance(n, L.Scan)]


def _sizes_known(plan: L.LogicalPlan) -> bool:
    from .statistics import source_rows
    scans = _scans(plan)
    return bool(scans) and all(source_rows(s.source) is not None for s in scans)


class PhysicalPlanner:
    """`evaluate(expr, batch) -> pa.Array` (executor.eval.evaluate, handed
    in by the session so the planner imports nothing of the executor) lets
    scan pruning evaluate Hive partition filters; without it every partition
    is kept."""

    def __init__(self, options: PhysicalOptions | None = None, evaluate=None):
        self.options = options or PhysicalOptions()
        self.evaluate = evaluate

    # -- entry -------------------------------------------------------------
    def plan(self, node: L.LogicalPlan) -> P.ExecNode:
        method = getattr(self, "_plan_" + type(node).__name__, None)
        if method is None:
            raise NotSupportedError(f"cannot plan {type(node).__name__}")
        return method(node)

    # -- helpers -----------------------------------------------------------
    def _shuffle_count(self, *inputs: L.LogicalPlan) -> int:
        opts = self.options
        if opts.shuffle_partitions:
            return opts.shuffle_partitions
        rows = sum(_estimate(i) for i in inputs)
        wanted = math.ceil(rows / opts.rows_per_shuffle_partition)
        return max(1, min(opts.target_partitions * 2, max(wanted, opts.target_partitions)))

    def _to_single(self, node: P.ExecNode) -> P.ExecNode:
        if P.partitions(node) == 1:
            return node
        return P.ExchangeExec(node, P.SinglePartitioning())

    # -- leaves ------------------------------------------------------------
    def _plan_Scan(self, node: L.Scan) -> P.ExecNode:
        source = node.source
        if getattr(source, "kind", None) == "memory" or not hasattr(source, "splits"):
            rows = getattr(source, "num_rows", 0)
            parts = max(1, min(self.options.target_partitions, rows // 100_000 or 1))
            return P.MemoryScanExec(node.table, node.fields, node.columns, parts, node.filters)
        column_of_field = dict(zip((f.name for f in node.fields), node.columns))
        files = prune_files(source, list(node.filters), column_of_field, self.evaluate)
        # cut big files into row-group splits small enough that every core
        # gets work, but no smaller than needed, and as many as a multiple
        # of the cores (the tasks run in waves, one per core)
        total = sum(f.size for f in files)
        cores = max(1, self.options.target_partitions)
        waves = max(1, -(-total // (self.options.split_bytes * cores)))
        target = max(1, -(-total // (waves * cores)))
        splits = source.splits(target_bytes=target, files=files)
        groups = group_splits(splits, self.options.split_bytes,
                              self.options.target_partitions)
        return P.ParquetScanExec(
            node.table, node.fields, node.columns, groups, node.filters,
            protocol=getattr(source, "protocol", "file"),
            storage_options=tuple(sorted((getattr(source, "storage_options", None) or {}).items())),
            file_format=getattr(source, "file_format", "parquet"),
            read_options=_read_options(source),
        )

    def _plan_Values(self, node: L.Values) -> P.ExecNode:
        return P.ValuesExec(node.fields, node.rows)

    # -- row-wise ------------------------------------------------------------
    def _plan_Filter(self, node: L.Filter) -> P.ExecNode:
        return P.FilterExec(self.plan(node.input), node.predicate)

    def _plan_Project(self, node: L.Project) -> P.ExecNode:
        return P.ProjectExec(self.plan(node.input), node.exprs, node.names)

    def _plan_Unnest(self, node: L.Unnest) -> P.ExecNode:
        return P.UnnestExec(self.plan(node.input), node.expr, node.name)

    # -- aggregation -----------------------------------------------------------
    def _plan_Aggregate(self, node: L.Aggregate) -> P.ExecNode:
        child = self.plan(node.input)
        if P.partitions(child) == 1:
            return P.HashAggregateExec(child, "single", node.group_exprs, node.group_names,
                                       node.aggs, node.agg_names)
        two_phase = all(has_partial_form(a) for a in node.aggs)
        n = self._shuffle_count(node.input) if node.group_exprs else 1
        if not two_phase:
            if node.group_exprs:
                ex = P.ExchangeExec(child, P.HashPartitioning(tuple(node.group_exprs), n))
            else:
                ex = P.ExchangeExec(child, P.SinglePartitioning())
            return P.HashAggregateExec(ex, "single", node.group_exprs, node.group_names,
                                       node.aggs, node.agg_names)
        partial = P.HashAggregateExec(child, "partial", node.group_exprs, node.group_names,
                                      node.aggs, node.agg_names)
        group_cols = tuple(Column(name, e.dtype) for name, e in
                           zip(node.group_names, node.group_exprs))
        if group_cols:
            ex = P.ExchangeExec(partial, P.HashPartitioning(group_cols, n))
        else:
            ex = P.ExchangeExec(partial, P.SinglePartitioning())
        return P.HashAggregateExec(ex, "final", group_cols, node.group_names,
                                   node.aggs, node.agg_names)

    def _plan_Distinct(self, node: L.Distinct) -> P.ExecNode:
        cols = tuple(f.column() for f in node.input.schema)
        names = tuple(f.name for f in node.input.schema)
        agg = L.Aggregate(node.input, cols, names, (), ())
        return self._plan_Aggregate(agg)

    # -- joins -------------------------------------------------------------
    def _plan_Join(self, node: L.Join) -> P.ExecNode:
        left_names = set(node.left.names)
        right_names = set(node.right.names)
        lkeys, rkeys, residual = split_join_condition(node.condition, left_names, right_names,
                                                      node.kind == "null_aware_anti")
        self._check_join_size(node, bool(lkeys))
        left = self.plan(node.left)
        right = self.plan(node.right)
        kind = node.kind
        if not lkeys:
            # nested loop: broadcast the right side unless it must stay partitioned
            if kind in ("right", "full"):
                return P.HashJoinExec(self._to_single(left), self._to_single(right), kind,
                                      (), (), residual, "partitioned", node.null_equals_null)
            return P.HashJoinExec(left, P.ExchangeExec(right, P.SinglePartitioning(), True),
                                  kind, (), (), residual, "broadcast", node.null_equals_null)
        if P.partitions(left) == 1 and P.partitions(right) == 1:
            return self._partitioned_join(node, left, right, lkeys, rkeys, residual)
        strategy = self.options.join_strategy
        can_broadcast = kind in ("inner", "left", "semi", "anti", "null_aware_anti")
        if strategy is None:
            strategy = "broadcast" if can_broadcast and self._broadcasts(node) else "partitioned"
        if kind == "null_aware_anti":
            # NOT IN needs to see the whole build side (is it empty? has it a
            # NULL?) in every partition: hash-partitioning it would hide those
            strategy = "broadcast"
        if strategy == "broadcast" and can_broadcast:
            return P.HashJoinExec(left, P.ExchangeExec(right, P.SinglePartitioning(), True),
                                  kind, lkeys, rkeys, residual, "broadcast",
                                  node.null_equals_null)
        n = self._shuffle_count(node.left, node.right)
        lex = P.ExchangeExec(left, P.HashPartitioning(lkeys, n))
        rex = P.ExchangeExec(right, P.HashPartitioning(rkeys, n))
        return self._partitioned_join(node, lex, rex, lkeys, rkeys, residual)

    def _broadcasts(self, node: L.Join) -> bool:
        """Broadcast the build (right) side? Yes up to broadcast_rows. Past
        it, when the probe side is at least `copies` times larger, where
        copies is the number of processes that receive and build it (at
        least 2): in one process the build is made once and shared by the
        tasks, and against `cores` tasks (target_partitions) building once
        on one core costs less than hash-partitioning both sides; on a
        cluster each worker builds it once for its tasks (cluster/
        task_builds.py). A partitioned join shuffles the probe side, usually
        the largest table (TPC-H Q18 at SF1 shuffled all 6M lineitem rows to
        meet 57 orders; at SF1 on local[2] joins took ~2x the embedded
        engine's time). Never when the build would not fit in half of what
        a query may hold. A broadcast build the pool refuses spills like a
        partitioned one."""
        build = _estimate(node.right)
        if build <= self.options.broadcast_rows:
            return True
        memory = self.options.memory_bytes
        if memory is not None and build_memory(node.right) > memory / 2:
            # a broadcast build the pool refuses spills once, but then every
            # probe task re-reads all of it (TPC-H Q3 at SF30 under 4GB: 119
            # tasks x 4.1 GiB, 255 s); partitioned, each task reads its share
            return False
        if self.options.one_process:
            # only where the probe side clearly dominates: a partitioned build is
            # also split over tasks that run a few at a time (less memory at once)
            copies = max(1, self.options.target_partitions)
        else:
            copies = max(2, self.options.processes)
        return build * copies <= _estimate(node.left)

    def _partitioned_join(self, node: L.Join, left, right, lkeys, rkeys, residual):
        """A join whose sides are partitioned alike. A semi/anti join whose
        kept (left) side is estimated smaller than the other builds on it
        instead (right_semi/right_anti): the larger side only probes, and the
        hash table holds the smaller (TPC-H Q21 at SF10 built on all 60M
        lineitem rows to keep 3.4M)."""
        kind = node.kind
        if kind in ("semi", "anti") and _estimate(node.left) < _estimate(node.right):
            return P.HashJoinExec(right, left, "right_" + kind, rkeys, lkeys, residual,
                                  "partitioned", node.null_equals_null)
        return P.HashJoinExec(left, right, kind, lkeys, rkeys, residual, "partitioned",
                              node.null_equals_null)

    def _check_join_size(self, node: L.Join, equi: bool) -> None:
        """Refuse a join whose work is absurd: a nested loop over more than
        max_join_rows pairs, or an equi-join estimated to produce more rows
        (key distinct counts from statistics). Only when every table under
        it has a known row count, so a guess never refuses a query."""
        limit = self.options.max_join_rows
        if not limit or not _sizes_known(node):
            return
        if equi:
            rows, what = _estimate(node), "produce"
        else:
            rows, what = _estimate(node.left) * _estimate(node.right), "compare"
        if rows > limit:
            tables = sorted({s.table for s in _scans(node)})
            raise OperationalError(
                f"refusing the {node.kind} join of {', '.join(tables)} estimated to {what} "
                f"about {rows:.3g} rows (more than max_join_rows = {limit:.3g}); add a "
                f"join condition, or connect with a larger max_join_rows to run it anyway")

    # -- ordering ------------------------------------------------------------
    def _plan_Sort(self, node: L.Sort, fetch: int | None = None) -> P.ExecNode:
        child = self.plan(node.input)
        if P.partitions(child) == 1:
            return P.SortExec(child, node.keys, fetch)
        local = P.SortExec(child, node.keys, fetch)
        return P.SortExec(P.ExchangeExec(local, P.SinglePartitioning()), node.keys, fetch)

    def _plan_Limit(self, node: L.Limit) -> P.ExecNode:
        if isinstance(node.input, L.Sort) and node.limit is not None:
            sort = self._plan_Sort(node.input, fetch=node.limit + node.offset)
            return P.LimitExec(sort, node.limit, node.offset)
        child = self.plan(node.input)
        if node.limit is not None:
            child = _scan_fetching(child, node.limit + node.offset)
        if P.partitions(child) == 1:
            return P.LimitExec(child, node.limit, node.offset)
        local = child
        if node.limit is not None:
            local = P.LimitExec(child, node.limit + node.offset, 0)
        return P.LimitExec(P.ExchangeExec(local, P.SinglePartitioning()),
                           node.limit, node.offset)

    def _plan_Window(self, node: L.Window) -> P.ExecNode:
        """One WindowExec per distinct PARTITION BY, each after an exchange
        that brings whole window partitions together."""
        child = self.plan(node.input)
        groups: dict[tuple, list[int]] = {}
        for i, w in enumerate(node.exprs):
            groups.setdefault(tuple(w.partition_by), []).append(i)
        order: list[int] = []
        for keys, idxs in groups.items():
            if not keys:
                child = self._to_single(child)
            elif P.partitions(child) > 1:
                n = self._shuffle_count(node.input)
                child = P.ExchangeExec(child, P.HashPartitioning(keys, n))
            child = P.WindowExec(child, tuple(node.exprs[i] for i in idxs),
                                 tuple(node.window_names[i] for i in idxs))
            order.extend(idxs)
        if order != sorted(order):
            cols = tuple(f.column() for f in node.schema)
            return P.ProjectExec(child, cols, tuple(f.name for f in node.schema))
        return child

    # -- set operations ------------------------------------------------------
    def _plan_Union(self, node: L.Union) -> P.ExecNode:
        union = P.UnionExec(tuple(self.plan(i) for i in node.inputs))
        if node.all:
            return union
        cols = tuple(f.column() for f in node.schema)
        names = tuple(f.name for f in node.schema)
        n = self._shuffle_count(*node.inputs)
        if P.partitions(union) == 1:
            return P.HashAggregateExec(union, "single", cols, names, (), ())
        partial = P.HashAggregateExec(union, "partial", cols, names, (), ())
        ex = P.ExchangeExec(partial, P.HashPartitioning(cols, n))
        return P.HashAggregateExec(ex, "final", cols, names, (), ())

    def _plan_SetOp(self, node: L.SetOp) -> P.ExecNode:
        if node.all:
            raise NotSupportedError(f"{node.kind.upper()} ALL is not supported; "
                                    f"use {node.kind.upper()} (distinct)")
        left_fields = node.left.schema
        right_fields = node.right.schema
        cond = conjoin([Call("eq", (lf.column(), rf.column()), dt.BOOL)
                        for lf, rf in zip(left_fields, right_fields)])
        kind = "semi" if node.kind == "intersect" else "anti"
        join = L.Join(L.Distinct(node.left), node.right, kind, cond, null_equals_null=True)
        return self._plan_Join(join)

    def _plan_EnforceSingleRow(self, node: L.EnforceSingleRow) -> P.ExecNode:
        return P.EnforceSingleRowExec(self._to_single(self.plan(node.input)))


def split_join_condition(condition: Expr | None, left_names: set[str],
                         right_names: set[str], null_aware: bool = False):
    """Equi-join keys (left, right) and the residual predicate of a condition.
    Keys of different types are cast to their common supertype so that both
    sides hash and compare alike. null_aware (NOT IN): the first conjunct is
    the membership test `x = subquery column` whose NULLs count, so it must
    be a key (which treats NULLs so) even when x is a constant, and the
    only key: NULLs of the other (correlation) conjuncts just fail to match."""
    lkeys: list[Expr] = []
    rkeys: list[Expr] = []
    rest: list[Expr] = []
    for i, c in enumerate(conjuncts(condition)):
        if isinstance(c, Call) and c.fn == "eq":
            a, b = c.args
            ca, cb = columns_of(a), columns_of(b)
            if null_aware and i > 0:
                rest.append(c)
                continue
            if null_aware and (ca or cb):
                if ca <= left_names and cb <= right_names:
                    pass
                elif ca <= right_names and cb <= left_names:
                    a, b = b, a
                else:
                    rest.append(c)
                    continue
            elif ca and cb and ca <= left_names and cb <= right_names:
                pass
            elif ca and cb and ca <= right_names and cb <= left_names:
                a, b = b, a
            else:
                rest.append(c)
                continue
            common = dt.common_supertype(a.dtype, b.dtype)
            if common is None:
                rest.append(c)
                continue
            lkeys.append(a if a.dtype == common else Cast(a, common))
            rkeys.append(b if b.dtype == common else Cast(b, common))
        else:
            rest.append(c)
    return tuple(lkeys), tuple(rkeys), conjoin(rest)


# a LIMIT up to this many rows reads only the first rows of an unfiltered
# scan; a larger one reads whole row groups as usual
FETCH_MAX_ROWS = 1 << 16


def _scan_fetching(node: P.ExecNode, rows: int) -> P.ExecNode:
    """`node` with its Parquet scan told to read only its first `rows` rows
    per partition, when the scan is unfiltered and only Projects lie between
    (`SELECT * FROM lineitem LIMIT 10` decoded a whole row group of every
    column in each task: 0.13 s)."""
    if isinstance(node, P.ProjectExec):
        inner = _scan_fetching(node.input, rows)
        return node if inner is node.input else dataclasses.replace(node, input=inner)
    if (isinstance(node, P.ParquetScanExec) and not node.filters and 0 < rows <= FETCH_MAX_ROWS
            and node.file_format == "parquet"):
        return dataclasses.replace(node, fetch=rows)
    return node


def group_splits(splits: list[P.Split], target_bytes: int, min_groups: int):
    """Pack splits into per-task groups of about target_bytes, with at least
    min_groups groups when there are enough splits (so every core works),
    and a multiple of min_groups (the cores) when there are enough."""
    if not splits:
        return ()
    total = sum(max(s.size, 1) for s in splits)
    n = max(math.ceil(total / target_bytes), min(min_groups, len(splits)))
    if min_groups > 1 and n % min_groups:       # whole waves of one task per core
        n += min_groups - n % min_groups
    n = min(n, len(splits))
    bins: list[list[P.Split]] = [[] for _ in range(n)]
    sizes = [0] * n
    for s in sorted(splits, key=lambda s: -max(s.size, 1)):
        k = sizes.index(min(sizes))
        bins[k].append(s)
        sizes[k] += max(s.size, 1)
    return tuple(tuple(b) for b in bins if b)



def _read_options(source) -> tuple:
    """How a scan reads a CSV / JSON source: its read options plus the file's
    column names (a headerless CSV names its columns by position)."""
    if getattr(source, "file_format", "parquet") == "parquet":
        return ()
    opts = dict(source.read_options or {})
    opts["columns"] = tuple(source.file_schema.names)
    return tuple(sorted(opts.items()))
