"""Measure what a scan's filters keep on a sample of its table.

The join orderer and the broadcast choice work from estimated row counts.
Range filters on integer and date columns are estimated from Parquet
min/max statistics (planner/statistics.py); every other conjunct had a
fixed guess: 0.1 for an equality, 0.25 for a LIKE. TPC-H Q8's
`p_type = 'ECONOMY ANODIZED STEEL'` keeps 1 part in 150 and Q9's
`p_name LIKE '%green%'` 1 in 20, so the guesses made the orderer probe
lineitem with the wrong dimension first and build the larger side.

This rule evaluates those conjuncts together (so correlated conjuncts are
not multiplied as if independent) on up to 4,096 rows taken from a few
row groups spread over the table (storage/row_sample.py) and records the
share kept on the Scan (`filter_sample`), which statistics.scan_selectivity
uses while the scan's conjuncts are still the sampled ones. A sample where
nothing matches counts as half a row matched. Shares are remembered per
table object (forgotten with it), so planning the same query again reads
nothing. Without an evaluator in the context, or for a source that cannot
be sampled, or when evaluating fails, the guesses stay.

    Scan(part, filters=[p_type = 'ECONOMY ANODIZED STEEL'])
      -> Scan(..., filter_sample=((p_type = ...,), 0.0068))
"""

from __future__ import annotations

import dataclasses
import threading
import weakref

import pyarrow as pa
import pyarrow.compute as pc

from ...storage.row_sample import sample_rows
from ..expr import Column, columns_of, conjoin
from ..logical import LogicalPlan, Scan
from ..statistics import guessed_conjuncts
from ..tree import transform_up
from .context import OptimizerContext
from .util import is_deterministic, substitute

_SHARES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # source -> {key: share}
_LOCK = threading.Lock()


def sample_scan_filters(plan: LogicalPlan, ctx: OptimizerContext) -> LogicalPlan:
    if ctx.evaluate is None:
        return plan

    def visit(node):
        if not isinstance(node, Scan) or not node.filters:
            return node
        guessed = tuple(guessed_conjuncts(node))
        if not guessed or (node.filter_sample is not None and node.filter_sample[0] == guessed):
            return node
        share = _share(node, guessed, ctx.evaluate)
        if share is None:
            return node
        return dataclasses.replace(node, filter_sample=(guessed, share))
    return transform_up(plan, visit)[0]


def _share(scan: Scan, guessed: tuple, evaluate) -> float | None:
    """Share of sampled rows the conjuncts keep (None: no sample)."""
    predicate = conjoin(list(guessed))
    names = columns_of(predicate)
    if not names or not is_deterministic(predicate):
        return None
    fields = {f.name: (c, f) for f, c in zip(scan.fields, scan.columns)}
    if not names <= fields.keys():
        return None
    # in the table's own column names: the same filter in another query (or
    # under an optimizer-made name) is the same key
    types = {}
    for n in sorted(names):
        column, f = fields[n]
        types.setdefault(column, f.dtype)
    key = substitute(predicate, {n: Column(fields[n][0], types[fields[n][0]], fields[n][1].nullable)
                                 for n in names})
    try:
        with _LOCK:
            known = _SHARES.setdefault(scan.source, {})
            if key in known:
                return known[key]
    except TypeError:             # a source that cannot be weakly referenced
        known = {}
    share = _measure(scan.source, key, types, evaluate)
    with _LOCK:
        known[key] = share
    return share


def _measure(source, predicate, types: dict, evaluate) -> float | None:
    """Share of a sample of `source` (columns `types`) that `predicate`
    (over those column names) keeps."""
    try:
        batch = sample_rows(source, list(types), pa.schema(list(types.items())))
        if batch is None or not batch.num_rows:
            return None
        # evaluate gives one boolean Array (a filter's type)
        kept = pc.sum(pc.fill_null(evaluate(predicate, batch), False)).as_py() or 0
    except Exception:  # noqa: BLE001 - an estimate: the filter runs for real later
        return None
    return max(kept, 0.5) / batch.num_rows
