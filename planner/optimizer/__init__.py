"""The logical optimizer: an ordered tuple of rules and the driver that runs them.

Each rule lives in its own module and has one shape,
`rule(plan: LogicalPlan, ctx: OptimizerContext) -> LogicalPlan`; it never
mutates a plan and never changes the root's output schema (names and types:
the driver checks after every rule). `optimize` runs RULES in order and
repeats the list until the plan stops changing (at most MAX_PASSES times).

    optimize(plan)                                   # all rules
    optimize(plan, disabled={"reorder_joins"})       # switch one off by name
    trace = []; optimize(plan, trace=trace)          # [(rule, plan after, seconds)]
"""

from __future__ import annotations

import time

from ...errors import InternalError, ProgrammingError
from ..logical import LogicalPlan
from .context import OptimizerContext
from .case_aggregates_as_filters import case_aggregates_as_filters
from .decorrelate_subqueries import decorrelate_subqueries
from .derive_filters_from_or import derive_filters_from_or
from .factor_or_predicates import factor_or_predicates
from .fold_constants import fold_constants
from .merge_projections import merge_projections
from .push_down_filter import push_down_filter
from .push_down_projection import push_down_projection
from .push_down_semi_joins import push_down_semi_joins
from .reduce_aggregates_by_join_keys import reduce_aggregates_by_join_keys
from .reorder_joins import reorder_joins
from .sample_scan_filters import sample_scan_filters
from .split_distinct_aggregates import split_distinct_aggregates
from .split_multiple_distinct_aggregates import split_multiple_distinct_aggregates
from .unwrap_cast_in_comparison import unwrap_cast_in_comparison
from .util import schema_signature

RULES = (
    decorrelate_subqueries,
    fold_constants,
    unwrap_cast_in_comparison,
    factor_or_predicates,
    derive_filters_from_or,
    push_down_filter,
    sample_scan_filters,
    push_down_semi_joins,
    reduce_aggregates_by_join_keys,
    split_multiple_distinct_aggregates,
    split_distinct_aggregates,
    case_aggregates_as_filters,
    reorder_joins,
    push_down_projection,
    merge_projections,
)

RULE_NAMES = tuple(r.__name__ for r in RULES)
MAX_PASSES = 3


def optimize(plan: LogicalPlan, ctx: OptimizerContext | None = None,
             disabled: set[str] | frozenset[str] = frozenset(),
             trace: list | None = None) -> LogicalPlan:
    """Run the enabled rules to a fixpoint; see the module docstring."""
    unknown = set(disabled) - set(RULE_NAMES)
    if unknown:
        raise ProgrammingError(
            f"unknown optimizer rule(s): {', '.join(sorted(unknown))} "
            f"(known: {', '.join(RULE_NAMES)})")
    ctx = ctx if ctx is not None else OptimizerContext()
    expected = schema_signature(plan)
    for _ in range(MAX_PASSES):
        before = plan
        for rule in RULES:
            name = rule.__name__
            if name in disabled:
                continue
            t0 = time.perf_counter()
            new = rule(plan, ctx)
            seconds = time.perf_counter() - t0
            got = schema_signature(new)
            if got != expected:
                raise InternalError(
                    f"optimizer rule {name} changed the plan's output schema "
                    f"from {_show(expected)} to {_show(got)}")
            plan = new
            if trace is not None:
                trace.append((name, plan, seconds))
        if plan == before:
            break
    return plan


def _show(signature) -> str:
    return "(" + ", ".join(f"{n} {t}" for n, t in signature) + ")"


__all__ = ["RULES", "RULE_NAMES", "MAX_PASSES", "optimize", "OptimizerContext"]
