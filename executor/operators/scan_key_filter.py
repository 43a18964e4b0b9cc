"""Probe rows a broadcast join cannot match, dropped by the probe side's scan.

A broadcast hash join has its build side's keys before its probe side
runs. When the probe side is a Parquet scan (under projections only) and
the join keeps only rows that match (inner, semi) on one integer key, the
join hands the scan the filter of its build keys (kernels/key_filter.py: a
range and a bitmap): the scan drops rows whose key cannot match before it
joins its batches, so their other columns are never copied and the join
never probes them. TPC-H Q3 at SF10: the lineitem scan kept 32M rows after
`l_shipdate > d`, of which the join kept 302K. The join still checks every
key it gets, so a filter that keeps too much only costs time: after
TRIAL_ROWS rows, one that kept more than USELESS of them stops.

Joins above inner or semi broadcast joins whose probe side leads to the
scan pass their filters down too (TPC-H Q5: lineitem probes orders, then
supplier). The join registers the filter in `ctx.options[REGISTRY]` under
the scan node, its own thread and itself just before it pulls its probe
side's first batch, and withdraws it when the probe ends; the scan takes it (once) when it
starts, in the same thread (execute() returns generators that run at their
first batch). The entry holds the node, so its id is not reused while it is
registered, and a plan that uses the same scan node elsewhere (in another
task, or later in this one) never gets the filter.
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa

from ...planner.expr import Column
from ...planner.physical import HashJoinExec, ParquetScanExec, ProjectExec
from ..kernels.arrow_buffers import key_words, validity
from ..kernels.key_filter import KeyFilter

REGISTRY = "scan_key_filters"
TRIAL_ROWS = 200_000
USELESS = 0.9
_KINDS = ("inner", "semi")

# The hash table's own filter keeps a bitmap only up to 64 bits a key (it
# must not outgrow the table); a scan filter's bitmap may be sparser, up to
# this many bits (4 MiB): TPC-H's part keys kept by Q8 are 13K over 2M.
_SCAN_MAX_BITS = 1 << 25


def offer(node: HashJoinExec, build, ctx) -> tuple | None:
    """Register the build keys' filter for the probe side's scan, when the
    join's kind, key and probe side allow; returns what to withdraw()."""
    if node.kind not in _KINDS or node.null_equals_null or len(node.left_keys) != 1:
        return None
    encoder = getattr(build, "encoder", None)
    table = encoder.int_key_table() if encoder is not None else None
    key = node.left_keys[0]
    if table is None or not isinstance(key, Column) or key.dtype != encoder.types[0]:
        return None
    target = _scan_field(node.left, key.name)
    if target is None:
        return None
    scan, field = target
    token = (id(scan), threading.get_ident(), id(node))
    ctx.options.setdefault(REGISTRY, {})[token] = (scan, field, table.scan_filter(_SCAN_MAX_BITS))
    return token


def withdraw(ctx, token: tuple | None) -> None:
    if token is not None:
        ctx.options.get(REGISTRY, {}).pop(token, None)


def _scan_field(plan, name: str):
    """(scan, field name) that the column `name` of `plan` is, through
    projections of plain columns and the probe sides of inner and semi
    broadcast joins (which pass each probe row's columns on unchanged, so a
    row the filter drops is one the join above would drop); None otherwise."""
    while True:
        if isinstance(plan, ProjectExec):
            if name not in plan.names:
                return None
            expr = plan.exprs[plan.names.index(name)]
            if not isinstance(expr, Column):
                return None
            plan, name = plan.input, expr.name
        elif (isinstance(plan, HashJoinExec) and plan.mode == "broadcast"
              and plan.kind in _KINDS and any(f.name == name for f in plan.left.schema)):
            plan = plan.left
        else:
            break
    if isinstance(plan, ParquetScanExec) and any(f.name == name for f in plan.fields):
        return plan, name
    return None


class ScanKeyFilter:
    """The mask of a scan's rows whose key may match; gives up once it
    keeps nearly every row it tried."""

    def __init__(self, field: str, keys: KeyFilter) -> None:
        self.field, self.keys = field, keys
        self.tried = self.kept = 0
        self.active = True

    def mask(self, batch: pa.RecordBatch) -> np.ndarray | None:
        """Bool per row (None: keep every row)."""
        if not self.active:
            return None
        arr = batch.column(self.field)
        keep = self.keys.contains(key_words(arr), validity(arr))
        if self.tried < TRIAL_ROWS:
            self.tried += len(keep)
            self.kept += int(np.count_nonzero(keep))
            if self.tried >= TRIAL_ROWS and self.kept > USELESS * self.tried:
                self.active = False
        return keep


def for_scan(node: ParquetScanExec, ctx) -> "ScanKeyFilters | None":
    """The filters joins registered for this scan in this thread (taken)."""
    registry = ctx.options.get(REGISTRY)
    if not registry:
        return None
    mine = (id(node), threading.get_ident())
    filters = []
    for token in [t for t in list(registry) if t[:2] == mine]:
        entry = registry.pop(token, None)
        if entry is not None and entry[0] is node:
            filters.append(ScanKeyFilter(entry[1], entry[2]))
    return ScanKeyFilters(filters) if filters else None


class ScanKeyFilters:
    """Several joins' filters on one scan: a row must pass them all."""

    def __init__(self, filters: list[ScanKeyFilter]) -> None:
        self.filters = filters

    def mask(self, batch: pa.RecordBatch) -> np.ndarray | None:
        keep = None
        for f in self.filters:
            m = f.mask(batch)
            if m is not None:
                keep = m if keep is None else keep & m
        return keep
