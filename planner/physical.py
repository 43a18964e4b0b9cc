"""Physical plan nodes: how to compute, partition by partition.

Example (TPC-H Q1 shape, two stages cut at the hash exchange):

    Stage 1 (4 tasks, one per split group)
      ShuffleWriteExec(hash(l_returnflag#2, l_linestatus#3) -> 2)
        HashAggregateExec(partial, groups=[...], aggs=[sum(...), count_star()])
          FilterExec(l_shipdate#4 <= 1998-09-02)
            ParquetScanExec(lineitem, 4 split groups)
    Stage 2 (2 tasks, one per hash partition)
      SortExec(keys)  <- then a single-partition merge stage
        HashAggregateExec(final, ...)
          ShuffleReadExec(stage 1, hash)

Every node is plain data (frozen dataclass) so a task can be sent to another
process as JSON. A node produces `partitions(node)` output partitions; task i
of a stage pulls partition i of the stage's root. The executor implements
each node in executor/operators/ (one module per operator).

Partition rules every operator follows:
- ParquetScanExec: partition i reads `splits[i]` (a tuple of splits).
- ShuffleReadExec(mode="hash"): partition i reads hash partition i from every
  producer task; mode="all" ignores i and reads every producer's whole output
  (a broadcast or a gather to one partition).
- HashJoinExec(mode="partitioned"): partition i joins left partition i with
  right partition i; mode="broadcast": right is read whole (right.execute(0))
  and joined with each left partition, so only inner/left/semi/anti joins may
  broadcast the right side.
- UnionExec: its partitions are the inputs' partitions one after another.
- Others map partition i of their input to their partition i.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .expr import AggCall, Expr, SortKey, WindowCall
from .logical import Field, join_schema
from ..storage.splits import Split


class ExecNode:
    __slots__ = ()
    _children: ClassVar[tuple[str, ...]] = ()
    _expressions: ClassVar[tuple[str, ...]] = ()

    @property
    def schema(self) -> tuple[Field, ...]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ParquetScanExec(ExecNode):
    """Read Parquet splits. `columns[i]` is the source column (a file column or
    a Hive partition column) of output field `fields[i]`; `filters` are applied
    exactly after reading and used to skip row groups by statistics.
    `filesystem` is an fsspec protocol plus JSON-able storage options."""
    table: str
    fields: tuple[Field, ...]
    columns: tuple[str, ...]
    splits: tuple[tuple[Split, ...], ...]
    filters: tuple[Expr, ...] = ()
    protocol: str = "file"
    storage_options: tuple[tuple[str, Any], ...] = ()
    file_format: str = "parquet"       # "csv" / "json": whole text files (storage/textfiles.py)
    read_options: tuple[tuple[str, Any], ...] = ()
    # a LIMIT right above an unfiltered scan: each partition reads only its
    # first `fetch` rows (the first rows of its first row groups)
    fetch: int | None = None
    _expressions: ClassVar = ("filters",)

    @property
    def schema(self):
        return self.fields


@dataclass(frozen=True, slots=True)
class MemoryScanExec(ExecNode):
    """Read a table registered in this process (pyarrow.Table / DataFrame);
    partition i reads the i-th of `num_partitions` row slices."""
    table: str
    fields: tuple[Field, ...]
    columns: tuple[str, ...]
    num_partitions: int = 1
    filters: tuple[Expr, ...] = ()
    _expressions: ClassVar = ("filters",)

    @property
    def schema(self):
        return self.fields


@dataclass(frozen=True, slots=True)
class ValuesExec(ExecNode):
    fields: tuple[Field, ...]
    rows: tuple[tuple[Expr, ...], ...]
    _expressions: ClassVar = ("rows",)

    @property
    def schema(self):
        return self.fields


@dataclass(frozen=True, slots=True)
class FilterExec(ExecNode):
    input: ExecNode
    predicate: Expr
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("predicate",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class ProjectExec(ExecNode):
    input: ExecNode
    exprs: tuple[Expr, ...]
    names: tuple[str, ...]
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("exprs",)

    @property
    def schema(self):
        return tuple(Field(n, e.dtype) for n, e in zip(self.names, self.exprs))


@dataclass(frozen=True, slots=True)
class HashAggregateExec(ExecNode):
    """mode 'single': input rows -> final values (input already partitioned on
    the group keys, or one partition). 'partial': input rows -> one row of
    aggregate *state* per group (group columns, then state columns named by
    executor/operators/aggregate.py). 'final': state rows -> final values;
    its `group_exprs` are Columns of the partial output, its `aggs` the same
    AggCalls as the partial node's."""
    input: ExecNode
    mode: str
    group_exprs: tuple[Expr, ...]
    group_names: tuple[str, ...]
    aggs: tuple[AggCall, ...]
    agg_names: tuple[str, ...]
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("group_exprs", "aggs")

    @property
    def schema(self):
        groups = tuple(Field(n, e.dtype) for n, e in zip(self.group_names, self.group_exprs))
        if self.mode == "partial":
            from .aggregate_state import state_fields
            states: tuple = ()
            for a, n in zip(self.aggs, self.agg_names):
                states += state_fields(a, n)
            return groups + states
        return groups + tuple(Field(n, a.dtype) for n, a in zip(self.agg_names, self.aggs))


@dataclass(frozen=True, slots=True)
class HashJoinExec(ExecNode):
    """Equi-join on left_keys[i] = right_keys[i], then `condition` (a residual
    predicate over both sides). kind as in logical.JOIN_KINDS. The hash table is
    built on the right input and probed with the left. No keys: a nested-loop
    (cross) join with `condition`."""
    left: ExecNode
    right: ExecNode
    kind: str
    left_keys: tuple[Expr, ...]
    right_keys: tuple[Expr, ...]
    condition: Expr | None = None
    mode: str = "partitioned"          # or "broadcast"
    null_equals_null: bool = False
    _children: ClassVar = ("left", "right")
    _expressions: ClassVar = ("left_keys", "right_keys", "condition")

    @property
    def schema(self):
        return join_schema(self.kind, self.left.schema, self.right.schema)


@dataclass(frozen=True, slots=True)
class RuntimeFilterExec(ExecNode):
    """The rows of `left` whose key (left_keys) is among the keys of `right`
    (right_keys), a finished stage read whole: a partitioned join's build
    side filtering its probe side before the probe side is shuffled
    (planner/runtime_filters.py). When `right` has more than max_build_rows
    rows, or the memory pool refuses its keys, `left` passes as it is (the
    join still gives the answer). NULL keys never pass."""
    left: ExecNode
    right: ExecNode
    left_keys: tuple[Expr, ...]
    right_keys: tuple[Expr, ...]
    max_build_rows: int
    _children: ClassVar = ("left", "right")
    _expressions: ClassVar = ("left_keys", "right_keys")

    @property
    def schema(self):
        return self.left.schema


@dataclass(frozen=True, slots=True)
class SortExec(ExecNode):
    """Sort each partition; `fetch` keeps only the first rows (top-N)."""
    input: ExecNode
    keys: tuple[SortKey, ...]
    fetch: int | None = None
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("keys",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class LimitExec(ExecNode):
    """Skip `offset` rows then pass `limit` rows (None: all), per partition."""
    input: ExecNode
    limit: int | None
    offset: int = 0
    _children: ClassVar = ("input",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class UnnestExec(ExecNode):
    """Row-wise: each input row repeated once per element of the list `expr`,
    with the element as the last column `name`."""
    input: ExecNode
    expr: Expr
    name: str
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("expr",)

    @property
    def schema(self):
        return self.input.schema + (Field(self.name, self.expr.dtype.value_type),)


@dataclass(frozen=True, slots=True)
class WindowExec(ExecNode):
    """Input partitions hold whole window partitions (hash on partition_by, or
    one partition). Output: input columns then one column per window call."""
    input: ExecNode
    exprs: tuple[WindowCall, ...]
    names: tuple[str, ...]
    _children: ClassVar = ("input",)
    _expressions: ClassVar = ("exprs",)

    @property
    def schema(self):
        return self.input.schema + tuple(Field(n, e.dtype) for n, e in zip(self.names, self.exprs))


@dataclass(frozen=True, slots=True)
class UnionExec(ExecNode):
    """Concatenation; inputs after the first are renamed to its names."""
    inputs: tuple[ExecNode, ...]
    _children: ClassVar = ("inputs",)

    @property
    def schema(self):
        return self.inputs[0].schema


@dataclass(frozen=True, slots=True)
class EnforceSingleRowExec(ExecNode):
    """At most one row passes; a second is a DataError. One partition."""
    input: ExecNode
    _children: ClassVar = ("input",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class HashPartitioning:
    exprs: tuple[Expr, ...]
    count: int


@dataclass(frozen=True, slots=True)
class SinglePartitioning:
    count: int = 1


@dataclass(frozen=True, slots=True)
class ExchangeExec(ExecNode):
    """Where data must move between tasks: the physical planner places these,
    and planner/stages.py cuts the plan here into a ShuffleWriteExec (root of
    the producer stage) and a ShuffleReadExec (leaf of the consumer stage).
    `broadcast` (with SinglePartitioning) means every consumer partition
    reads the whole output."""
    input: ExecNode
    partitioning: Any
    broadcast: bool = False
    _children: ClassVar = ("input",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class ShuffleWriteExec(ExecNode):
    """Root of every non-final stage: write the input's rows to the shuffle
    store, split by `partitioning` (HashPartitioning or SinglePartitioning)."""
    input: ExecNode
    stage_id: int
    partitioning: Any
    _children: ClassVar = ("input",)

    @property
    def schema(self):
        return self.input.schema


@dataclass(frozen=True, slots=True)
class ShuffleReadExec(ExecNode):
    """Leaf that reads a producer stage's output (see the module docstring
    for mode 'hash' and 'all')."""
    stage_id: int
    fields: tuple[Field, ...]
    num_partitions: int
    mode: str = "hash"
    producer_tasks: int = 0

    @property
    def schema(self):
        return self.fields


def partitions(node: ExecNode) -> int:
    """How many output partitions a node produces."""
    if isinstance(node, ParquetScanExec):
        return max(1, len(node.splits))
    if isinstance(node, MemoryScanExec):
        return node.num_partitions
    if isinstance(node, (ValuesExec, EnforceSingleRowExec)):
        return 1
    if isinstance(node, ShuffleReadExec):
        return 1 if node.mode == "all" else node.num_partitions
    if isinstance(node, ExchangeExec):
        return node.partitioning.count
    if isinstance(node, HashJoinExec):
        return partitions(node.left)
    if isinstance(node, UnionExec):
        return sum(partitions(i) for i in node.inputs)
    kids = [getattr(node, c) for c in node._children]
    return partitions(kids[0]) if kids else 1

