"""Run a stage DAG in this process: the embedded engine.

The StageScheduler decides which tasks may run; a thread pool as wide as the
machine's cores runs them (operators release the GIL in numba and Arrow
kernels); shuffles go through the in-memory store. The final stage's
partitions are returned in partition order.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable, Iterator

import pyarrow as pa

from ..errors import Error, ExecutionError
from ..planner.stages import StageDag
from .context import ExecContext
from .registry import execute
from .scheduler import StageScheduler, TaskId
from .shuffle import MemoryShuffleStore

_POOL_LOCK = threading.Lock()
_POOL: ThreadPoolExecutor | None = None


def shared_pool() -> ThreadPoolExecutor:
    """One pool per process, as wide as the machine, shared by all queries."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                                       thread_name_prefix="quiver-task")
        return _POOL


def run_task(dag: StageDag, task: TaskId, ctx: ExecContext) -> list[pa.RecordBatch]:
    """Drive one task's pipeline; returns the batches of a final-stage task."""
    stage = dag.stage(task.stage)
    ctx.set_task(task.stage, task.partition)
    out = []
    for batch in execute(stage.root, task.partition, ctx):
        ctx.check_cancelled()
        out.append(batch)
    return out


def run_dag(dag: StageDag, ctx: ExecContext,
            on_progress: Callable[[StageScheduler], None] | None = None,
            pool: ThreadPoolExecutor | None = None) -> list[pa.RecordBatch]:
    if ctx.shuffle is None:
        ctx.shuffle = MemoryShuffleStore(ctx)
    pool = pool or shared_pool()
    sched = StageScheduler(dag, max_attempts=1)
    results: dict[int, list[pa.RecordBatch]] = {}
    running: dict[Future, TaskId] = {}
    final_id = dag.final.id
    counters = ctx.options.get("scan_counters")

    def report():
        if on_progress is not None:
            sched.rows = counters.rows_read if counters is not None else None
            on_progress(sched)
    try:
        report()
        while not sched.finished:
            for task in sched.ready_tasks():
                running[pool.submit(run_task, dag, task, ctx)] = task
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                task = running.pop(fut)
                exc = fut.exception()
                if exc is not None:
                    ctx.cancelled.set()       # stop the query's other tasks
                    sched.task_failed(task, str(exc), retryable=False)
                    _raise_task_error(exc, task)
                if task.stage == final_id:
                    results[task.partition] = fut.result()
                sched.task_succeeded(task)
                for consumer_done in _finished_inputs(dag, sched, task.stage):
                    ctx.shuffle.drop_stage(consumer_done)
            report()
    finally:
        for fut in running:
            fut.cancel()
        if running:
            wait(list(running))
    return [b for p in sorted(results) for b in results[p]]


def _finished_inputs(dag: StageDag, sched: StageScheduler, stage_id: int) -> Iterator[int]:
    """Stages whose every consumer has completed: their output can be freed."""
    if not sched.stage_done(stage_id):
        return
    for producer in dag.stage(stage_id).inputs:
        if all(sched.stage_done(c.id) for c in dag.consumers(producer)):
            yield producer


def _raise_task_error(exc: BaseException, task: TaskId) -> None:
    if isinstance(exc, Error):
        raise exc
    raise ExecutionError(f"{type(exc).__name__}: {exc}", stage=task.stage,
                         task=task.partition, worker="local") from exc
