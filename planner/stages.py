"""Cut a physical plan into a DAG of stages at every ExchangeExec.

Example: a partitioned join of two scans becomes three stages

    Stage 0: ShuffleWriteExec(stage 0, hash(o_orderkey) -> 4) <- scan orders
    Stage 1: ShuffleWriteExec(stage 1, hash(l_orderkey) -> 4) <- scan lineitem
    Stage 2: HashJoinExec(ShuffleReadExec(0), ShuffleReadExec(1))   [final]

A stage runs as one task per output partition of its root. Stages are plain
data: the embedded runner and the cluster scheduler run the same DAG, and
hosts are bound only when a task is launched.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def build_stages(plan: P.ExecNode) -> StageDag:
    stages: list[Stage] = []

    def cut(node):
        if not isinstance(node, P.ExchangeExec):
            return node
        stage_id = len(stages)
        producer_tasks = P.partitions(node.input)
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
