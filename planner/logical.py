"""Logical plan nodes: what to compute, not how.

Example: `SELECT l_returnflag, sum(l_quantity) FROM lineitem
WHERE l_shipdate <= DATE '1998-09-02' GROUP BY 1` binds to

    Aggregate(groups=[l_returnflag#2], aggs=[sum(l_quantity#1)])
      Filter(l_shipdate#3 <= 1998-09-02)
        Scan(lineitem: l_quantity#1, l_returnflag#2, l_shipdate#3)

Every node is a frozen dataclass; `schema` is derived from the node, never
stored. Output column names are unique in the whole plan (see expr.py), so
a rule may move an expression across nodes without renaming.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

from .. import datatypes as dt
from .expr import AggCall, Expr, SortKey, WindowCall


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    dtype: pa.DataType
    nullable: bool = True

    def column(self):
        from .expr import Column
        return Column(self.name, self.dtype, self.nullable)


class LogicalPlan:
    __slots__ = ()
    _children: ClassVar[tuple[str, ...]] = ()
    _expressions: ClassVar[tuple[str, ...]] = ()

    @property
    def schema(self) -> tuple[Field, ...]:
        raise NotImplementedError

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.schema)


@dataclass(frozen=True, slots=True)
class Scan(LogicalPlan):
    """Read a table. `source` is a storage.Dataset or storage.MemoryTable;
    `columns[i]` is the name in the source of output field `fields[i]`.
    `filters` are applied exactly by the scan (and used to prune partitions,
    files and row groups)."""
    table: str
    source: Any
    fields: tuple[Field, ...]
    columns: tuple[str, ...]
    filters: tuple[Expr, ...] = ()
    # (the conjuncts a sample was taken for, the share of its rows they
    # kept): set by optimizer/sample_scan_filters.py, read by
    # planner/statistics.py while the conjuncts still match the filters
    filter_sample: tuple | None = None
    _expressions: ClassVar = ("filters",)

    @property
    def schema(self):
        return self.fields


@dataclass(frozen=True, slots=True)
class Values(LogicalPlan):
    """Literal rows (`SELECT 1`, `VALUES (...)`); zero fields and one row for
    a SELECT without FROM."""
    fields: tuple[Field, ...]
    rows: tuple[tuple[Expr, ...], ...]
    _expressions: ClassVar = ("rows",)

    @property
    def schema(self):
        return self.fields


# the input of a SELECT without FROM (and of a FROM-less UNNEST): one row, no columns
EMPTY_ROW = Values((), ((),))


@dataclass(frozen=True, slots=True)
class Filter(LogicalPlan):
    input: LogicalPlan
    predicate: Expr
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("predicate",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class Project(LogicalPlan):
    input: LogicalPlan
    exprs: tuple[Expr, ...]
    names: tuple[str, ...]
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("exprs",)

    @property
    def schema(self):
        return tuple(Field(n, e.dtype, getattr(e, "nullable", True))
                     for n, e in zip(self.names, self.exprs))


@dataclass(frozen=True, slots=True)
class Aggregate(LogicalPlan):
    """GROUP BY: output is the group columns then the aggregates."""
    input: LogicalPlan
    group_exprs: tuple[Expr, ...]
    group_names: tuple[str, ...]
    aggs: tuple[AggCall, ...]
    agg_names: tuple[str, ...]
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("group_exprs", "aggs")

    @property
    def schema(self):
        return (tuple(Field(n, e.dtype) for n, e in zip(self.group_names, self.group_exprs))
                + tuple(Field(n, a.dtype) for n, a in zip(self.agg_names, self.aggs)))


JOIN_KINDS = ("inner", "left", "right", "full", "semi", "anti", "null_aware_anti")


@dataclass(frozen=True, slots=True)
class Join(LogicalPlan):
    """kind is one of JOIN_KINDS; condition None is a cross join. semi/anti
    output only the left side. null_aware_anti is NOT IN: a NULL on either
    side of the key makes the row's membership unknown, so it is dropped.
    null_equals_null makes NULL keys match (INTERSECT / EXCEPT)."""
    left: LogicalPlan
    right: LogicalPlan
    kind: str
    condition: Expr | None = None
    null_equals_null: bool = False
    _children: ClassVar = ("left", "right")
    _expressions: ClassVar = ("condition",)

    @property
    def schema(self):
        return join_schema(self.kind, self.left.schema, self.right.schema)


# Physical plans only: a semi/anti join built on its *left* (kept) side, the
# larger right side probing it (physical_planner chooses it by size).
RIGHT_SEMI_KINDS = ("right_semi", "right_anti")


def join_schema(kind: str, left: tuple[Field, ...], right: tuple[Field, ...]) -> tuple[Field, ...]:
    """A join's output: left then right columns (semi/anti: left only;
    right_semi/right_anti: right only); the side an outer join may pad with
    NULLs becomes nullable."""
    if kind in ("semi", "anti", "null_aware_anti"):
        return left
    if kind in RIGHT_SEMI_KINDS:
        return right
    if kind in ("right", "full"):
        left = tuple(Field(f.name, f.dtype, True) for f in left)
    if kind in ("left", "full"):
        right = tuple(Field(f.name, f.dtype, True) for f in right)
    return left + right


@dataclass(frozen=True, slots=True)
class Sort(LogicalPlan):
    input: LogicalPlan
    keys: tuple[SortKey, ...]
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("keys",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class Limit(LogicalPlan):
    input: LogicalPlan
    limit: int | None
    offset: int = 0
    _children: ClassVar = ("input",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class Distinct(LogicalPlan):
    input: LogicalPlan
    _children: ClassVar = ("input",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class Union(LogicalPlan):
    """UNION [ALL]; output names are the first input's, the others map by
    position (their types already coerced by the binder)."""
    inputs: tuple[LogicalPlan, ...]
    all: bool = True
    _children: ClassVar = ("inputs",)

    @property
    def schema(self):
        first = self.inputs[0].schema
        return tuple(Field(f.name, f.dtype, any(i.schema[k].nullable for i in self.inputs))
                     for k, f in enumerate(first))


@dataclass(frozen=True, slots=True)
class SetOp(LogicalPlan):
    """INTERSECT / EXCEPT [ALL]: kind is 'intersect' or 'except'."""
    left: LogicalPlan
    right: LogicalPlan
    kind: str
    all: bool = False
    _children: ClassVar = ("left", "right")

    @property
    def schema(self):
        return self.left.schema


@dataclass(frozen=True, slots=True)
class Window(LogicalPlan):
    """Input columns, then one column per window function, named by
    `window_names` (`names`, as on every plan, is all output columns)."""
    input: LogicalPlan
    exprs: tuple[WindowCall, ...]
    window_names: tuple[str, ...]
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("exprs",)

    @property
    def schema(self):
        return self.input.schema + tuple(Field(n, e.dtype)
                                         for n, e in zip(self.window_names, self.exprs))


@dataclass(frozen=True, slots=True)
class Unnest(LogicalPlan):
    """Input columns, then `name`: one row per element of the list `expr`
    for each input row (none for a NULL or empty list)."""
    input: LogicalPlan
    expr: Expr
    name: str
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("expr",)

    @property
    def schema(self):
        return self.input.schema + (Field(self.name, self.expr.dtype.value_type),)


@dataclass(frozen=True, slots=True)
class EnforceSingleRow(LogicalPlan):
    """Passes through at most one row; more is a DataError (scalar subquery)."""
    input: LogicalPlan
    _children: ClassVar = ("input",)

    @property
    def schema(self):
        return tuple(Field(f.name, f.dtype, True) for f in self.input.schema)


@dataclass(frozen=True, slots=True)
class BoundQuery:
    """A bound SELECT: the plan and the names the user sees for its columns."""
    plan: LogicalPlan
    output_names: tuple[str, ...]


def fields_by_name(plan: LogicalPlan) -> dict[str, Field]:
    return {f.name: f for f in plan.schema}


__all__ = [
    "Field", "LogicalPlan", "Scan", "Values", "EMPTY_ROW", "Filter", "Project", "Aggregate",
    "Join", "JOIN_KINDS", "RIGHT_SEMI_KINDS", "join_schema", "Sort", "Limit", "Distinct", "Union", "SetOp",
    "Window", "EnforceSingleRow", "BoundQuery", "fields_by_name", "dt",
]
