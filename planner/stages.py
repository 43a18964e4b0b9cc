"""Cut a physical plan into a DAG of stages at every ExchangeExec.

Example: a partitioned join of two scans becomes three stages

    Stage 0: ShuffleWriteExec(stage 0, hash(o_orderkey) -> 4) <- scan orders
    Stage 1: ShuffleWriteExec(stage 1, hash(l_orderkey) -> 4) <- scan lineitem
    Stage 2: HashJoinExec(ShuffleReadExec(0), ShuffleReadExec(1))   [final]

A stage runs as one task per output partition of its root. Stages are plain
data: the embedded runner and the cluster scheduler run the same DAG, and
hosts are bound only when a task is launched.

Shared work: two exchanges over the same computation (a CTE referenced twice,
a self-join's scans) differ only in their column ids. Such a subplan becomes
one stage; each consumer's ShuffleReadExec reads it under its own field names
(shuffle reads rename by position), and the stage has two consumers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from . import expr as E
from . import physical as P
from .tree import transform_up, walk


@dataclass(frozen=True, slots=True)
class Stage:
    id: int
    root: P.ExecNode            # a ShuffleWriteExec, or the final plan
    inputs: tuple[int, ...]     # ids of the stages it reads
    tasks: int                  # one task per output partition of the root

    @property
    def is_final(self) -> bool:
        return not isinstance(self.root, P.ShuffleWriteExec)


@dataclass(frozen=True, slots=True)
class StageDag:
    stages: tuple[Stage, ...]   # producers before consumers; the last is final

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, stage_id: int) -> Stage:
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(stage_id)

    def consumers(self, stage_id: int) -> list[Stage]:
        return [s for s in self.stages if stage_id in s.inputs]


def input_stages(root: P.ExecNode) -> tuple[int, ...]:
    return tuple(sorted({n.stage_id for n in walk(root) if isinstance(n, P.ShuffleReadExec)}))


_OUTPUT_NAMES = ("names", "group_names", "agg_names")


def _column_names(node: P.ExecNode) -> set[str]:
    """Every column name a subplan defines (all it reads are among them),
    and the aggregate names its state columns are named after."""
    names: set[str] = set()
    for n in walk(node):
        names.update(f.name for f in n.schema)
        for attr in _OUTPUT_NAMES:
            names.update(getattr(n, attr, ()))
    return names


def canonical_key(node: P.ExchangeExec) -> tuple:
    """The exchange as nested tuples (class, field values...) with the column
    names its subplan defines numbered by first appearance: equal keys mean
    the same computation up to column ids. Literal values are kept as they
    are, so a string constant that happens to equal a column name is never
    renamed."""
    names = _column_names(node.input)
    numbering: dict[str, int] = {}

    def canon(value):
        if isinstance(value, E.Literal):
            return (E.Literal, type(value.value), _hashable(value.value), value.dtype)
        fields = _dataclass_fields(type(value))
        if fields is not None:
            return (type(value),) + tuple(canon(getattr(value, f)) for f in fields)
        if isinstance(value, str):
            if value in names:
                return (_COLUMN, numbering.setdefault(value, len(numbering)))
            return value
        if isinstance(value, (tuple, list)):
            return (type(value),) + tuple(canon(v) for v in value)
        if isinstance(value, dict):
            return (dict,) + tuple(sorted((repr(k), canon(v)) for k, v in value.items()))
        return _hashable(value)
    return canon(node)


_COLUMN = object()      # marks a renumbered column name in a canonical key
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _dataclass_fields(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names (None for other classes), looked up once
    per class: canonical keys visit every node and expression of a plan."""
    try:
        return _FIELDS[cls]
    except KeyError:
        names = tuple(f.name for f in dataclasses.fields(cls)) \
            if dataclasses.is_dataclass(cls) else None
        _FIELDS[cls] = names
        return names


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return (type(value), repr(value))
    return (type(value), value)


def build_stages(plan: P.ExecNode) -> StageDag:
    stages: list[Stage] = []
    seen: dict[tuple, int] = {}         # canonical exchange -> its stage id

    def cut(node):
        if not isinstance(node, P.ExchangeExec):
            return node
        key = canonical_key(node)
        producer_tasks = P.partitions(node.input)
        if key in seen:
            stage_id = seen[key]
        else:
            stage_id = seen[key] = len(stages)
            root = P.ShuffleWriteExec(node.input, stage_id, node.partitioning)
            stages.append(Stage(stage_id, root, input_stages(root), producer_tasks))
        mode = "all" if node.broadcast or isinstance(node.partitioning, P.SinglePartitioning) \
            else "hash"
        return P.ShuffleReadExec(stage_id, node.schema, node.partitioning.count, mode,
                                 producer_tasks)

    final_root, _ = transform_up(plan, cut)
    stages.append(Stage(len(stages), final_root, input_stages(final_root),
                        P.partitions(final_root)))
    return StageDag(tuple(stages))
