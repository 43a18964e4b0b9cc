"""Runtime filters: a partitioned join's build side filters its probe side
before the probe side is shuffled.

A partitioned hash join reads both sides from shuffles. When the build
side turns out small (a filtered dimension, TPC-H Q21's 6,923 late orders
against all 6M lineitem rows at SF1), most probe rows are written to the
shuffle, read back and probed only to find no match. Here the probe
side's stage is given a `RuntimeFilterExec` under its shuffle write: it
reads the build stage's whole output, keeps the probe rows whose key is
among the build keys, and passes everything through when the build side
has more than `max_build_rows` rows (the filter would cost more than it
saves) or the memory pool refuses its keys. The probe stage then runs after
the build stage, not beside it.

Only where dropping probe rows without a key match cannot change the
answer: inner, semi (probe rows with a match), right outer, right semi
and right anti (build rows by whether a probe row matches); never left,
full or anti joins, which keep unmatched probe rows, nor joins where NULL
keys are equal. Also not when the probe stage feeds another consumer too,
or when the build stage depends on the probe stage (a cycle).

    dag = add_runtime_filters(build_stages(physical), max_build_rows=32_000_000)
"""

from __future__ import annotations

import dataclasses

from . import expr as E
from . import physical as P
from .stages import Stage, StageDag, input_stages
from .tree import walk

SAFE_KINDS = frozenset({"inner", "semi", "right", "right_semi", "right_anti"})


def add_runtime_filters(dag: StageDag, max_build_rows: int) -> StageDag:
    """`dag` with a runtime filter in every probe stage that may take one."""
    if max_build_rows <= 0:
        return dag
    stages = {s.id: s for s in dag.stages}
    filtered: set[int] = set()
    for consumer in dag.stages:
        for node in walk(consumer.root):
            change = _filter_for(node, consumer.id, stages, filtered, max_build_rows)
            if change is not None:
                stages[change.id] = change
                filtered.add(change.id)
    if not filtered:
        return dag
    return StageDag(_topological(dag, stages))


def _filter_for(join, consumer_id: int, stages: dict, filtered: set,
                max_build_rows: int) -> Stage | None:
    """The probe stage of `join` with a runtime filter, or None."""
    if not (isinstance(join, P.HashJoinExec) and join.mode == "partitioned"
            and join.kind in SAFE_KINDS and not join.null_equals_null and join.left_keys):
        return None
    probe_read, build_read = join.left, join.right
    if not (_hash_read(probe_read) and _hash_read(build_read)):
        return None
    probe_id, build_id = probe_read.stage_id, build_read.stage_id
    if probe_id == build_id or probe_id in filtered:
        return None
    if not all(isinstance(k, E.Column) for k in join.left_keys + join.right_keys):
        return None
    if any(a.dtype != b.dtype for a, b in zip(join.left_keys, join.right_keys)):
        return None
    probe = stages[probe_id]
    if not isinstance(probe.root, P.ShuffleWriteExec):
        return None
    readers = [n for s in stages.values() for n in walk(s.root)
               if isinstance(n, P.ShuffleReadExec) and n.stage_id == probe_id]
    if len(readers) != 1 or _depends_on(build_id, probe_id, stages):
        return None
    produced = probe.root.input.schema
    if len(produced) != len(probe_read.fields):
        return None
    # the consumer reads the probe stage under its own column names (by position)
    names = {f.name: p.name for f, p in zip(probe_read.fields, produced)}
    built = {f.name for f in build_read.fields}
    if (any(k.name not in names for k in join.left_keys)
            or any(k.name not in built for k in join.right_keys)):
        return None
    left_keys = tuple(dataclasses.replace(k, name=names[k.name]) for k in join.left_keys)
    build = P.ShuffleReadExec(build_id, build_read.fields, build_read.num_partitions, "all",
                              build_read.producer_tasks)
    keep = P.RuntimeFilterExec(probe.root.input, build, left_keys, join.right_keys,
                               max_build_rows)
    root = dataclasses.replace(probe.root, input=keep)
    return Stage(probe.id, root, input_stages(root), probe.tasks)


def _hash_read(node) -> bool:
    return isinstance(node, P.ShuffleReadExec) and node.mode == "hash"


def _depends_on(stage_id: int, other: int, stages: dict) -> bool:
    """True if stage `stage_id` reads `other`'s output, directly or not."""
    todo, seen = [stage_id], set()
    while todo:
        s = todo.pop()
        if s == other:
            return True
        if s not in seen:
            seen.add(s)
            todo.extend(stages[s].inputs)
    return False


def _topological(dag: StageDag, stages: dict) -> tuple[Stage, ...]:
    """The stages, producers before consumers (a probe stage now follows its
    build stage), otherwise in their old order; the final stage stays last."""
    order: list[Stage] = []
    placed: set[int] = set()

    def place(s: Stage) -> None:
        if s.id in placed:
            return
        for i in s.inputs:
            place(stages[i])
        placed.add(s.id)
        order.append(s)
    for s in dag.stages:
        place(stages[s.id])
    return tuple(order)
