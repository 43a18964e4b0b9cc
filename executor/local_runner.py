"""Run a stage DAG in this process: the embedded engine.

The StageScheduler decides which tasks may run; a thread pool as wide as the
machine's cores runs them (operators release the GIL in numba and Arrow
kernels); shuffles go through the in-memory store.

`DagRun` is one query in flight. The final stage's batches go into a
`ResultWindow` (executor/result_window.py) that the client drains in
partition order while the query runs: a final-stage task produces batches
until the window is full, then *parks* (its pipeline, a generator, is kept
and resumed on the pool later), so no pool thread waits on a slow client and
the result held in memory stays bounded. Whoever wants the next batch pumps
the run (`pump()`): it handles finished tasks, launches ready ones and
resumes parked ones. `run_dag()` drains such a run into a list of every
final batch, in partition order (for callers that need the whole result).
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator

import pyarrow as pa

from ..errors import (Error, ExecutionError, InternalError, OperationalError,
                      QueryCancelled, disk_full_message)
from ..planner.stages import StageDag
from .context import ExecContext
from .deadline import cancelled_error
from .memory import note_work_started, release_unused_memory, release_when_idle
from .registry import execute
from .result_window import DEFAULT_WINDOW, ResultWindow
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


def run_task(dag: StageDag, task: TaskId, ctx: ExecContext) -> None:
    """Drive one non-final task's pipeline (its root writes the shuffle)."""
    stage = dag.stage(task.stage)
    ctx.set_task(task.stage, task.partition)
    for _ in execute(stage.root, task.partition, ctx):
        ctx.check_cancelled()


class _FinalTask:
    """A final-stage task: its pipeline is pulled in slices, each ending when
    the window is full (parked) or the pipeline is done."""

    def __init__(self, dag: StageDag, task: TaskId, ctx: ExecContext, window: ResultWindow):
        self.task = task
        self.ctx = ctx
        self.window = window
        self.pipeline = execute(dag.stage(task.stage).root, task.partition, ctx)

    def run_slice(self) -> bool:
        """Produce batches while the window has room; True when done."""
        p = self.task.partition
        self.ctx.set_task(self.task.stage, p)       # this slice may run on another thread
        while self.window.may_put(p):
            self.ctx.check_cancelled()
            try:
                batch = next(self.pipeline)
            except StopIteration:
                self.window.finish(p)
                return True
            self.window.put(p, batch)
        return False


class DagRun:
    """One query's stage DAG running on the pool; see the module docstring."""

    def __init__(self, dag: StageDag, ctx: ExecContext,
                 on_progress: Callable[[StageScheduler], None] | None = None,
                 pool: ThreadPoolExecutor | None = None,
                 window: int | None = DEFAULT_WINDOW, reservation=None):
        if ctx.shuffle is None:
            ctx.shuffle = MemoryShuffleStore(ctx)
        self.dag, self.ctx = dag, ctx
        self.pool = pool or shared_pool()
        self.sched = StageScheduler(dag, max_attempts=1)
        note_work_started()
        if reservation is None:
            reservation = ctx.reserve("ResultWindow")
        # results waiting for the client hold at most a quarter of the query's
        # memory (the operators still running need room); held batches spill
        # when an operator of the query is refused
        cap = max(1, ctx.effective_limit() // 4)
        window = cap if window is None else min(window, cap)
        self.window = ResultWindow(dag.final.tasks, window, reservation, ctx.spill_dir)
        ctx.add_spiller(self.window.spill)
        ctx.add_cleanup(self.window.clear)
        self.on_progress = on_progress
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._running: dict[Future, TaskId] = {}
        self._parked: list[_FinalTask] = []
        self._finals: dict[Future, _FinalTask] = {}
        self.closed = False
        self._report()

    @property
    def finished(self) -> bool:
        return self.sched.finished

    def _report(self) -> None:
        if self.on_progress is not None:
            counters = self.ctx.options.get("scan_counters")
            self.sched.rows = counters.rows_read if counters is not None else None
            self.on_progress(self.sched)

    def _submit(self, fn, task: TaskId, final: _FinalTask | None = None) -> None:
        fut = self.pool.submit(fn) if final is not None else \
            self.pool.submit(run_task, self.dag, task, self.ctx)
        self._running[fut] = task
        if final is not None:
            self._finals[fut] = final
        fut.add_done_callback(self._events.put)

    def _launch(self) -> bool:
        """Start ready tasks and resume parked ones that have room; True if any."""
        started = False
        for task in self.sched.ready_tasks():
            if task.stage == self.dag.final.id:
                ft = _FinalTask(self.dag, task, self.ctx, self.window)
                self._submit(ft.run_slice, task, ft)
            else:
                self._submit(None, task)
            started = True
        still = []
        for ft in self._parked:
            if self.window.may_put(ft.task.partition):
                self._submit(ft.run_slice, ft.task, ft)
                started = True
            else:
                still.append(ft)
        self._parked = still
        return started

    def _handle(self, fut: Future) -> None:
        task = self._running.pop(fut)
        final = self._finals.pop(fut, None)
        exc = fut.exception()
        if exc is not None:
            if isinstance(exc, QueryCancelled):
                exc = cancelled_error(self.ctx)   # a time limit's cancel says so
            self.ctx.cancelled.set()          # stop the query's other tasks
            self.sched.task_failed(task, str(exc), retryable=False)
            self.close()
            _raise_task_error(exc, task)
        if final is not None and not fut.result():
            self._parked.append(final)
            return
        self.sched.task_succeeded(task)
        for done in _finished_inputs(self.dag, self.sched, task.stage):
            self.ctx.shuffle.drop_stage(done)
        if self.sched.stage_done(task.stage):
            # the stage's tables and buffers are gone: their pages are given
            # back between stages past half the limit, and once the process
            # is idle after the query (the next query reuses them instead)
            if task.stage == self.dag.final.id:
                release_when_idle()
            else:
                release_unused_memory(self.ctx.effective_limit() // 2)
        self._report()

    def pump(self, block: bool = True) -> None:
        """Advance the run: handle finished tasks, start ready ones, resume
        parked ones. With `block`, first wait until a running task ends.
        Raises the query's error, if any."""
        self._check_live()
        self._launch()
        if block and self._running:
            while True:
                try:
                    self._handle(self._events.get(timeout=0.1))
                    break
                except queue.Empty:
                    self._check_live()
        elif block and not self.sched.finished and not self._parked:
            raise InternalError("the query stalled: no task is running or ready")
        while True:
            try:
                fut = self._events.get_nowait()
            except queue.Empty:
                break
            self._handle(fut)
        self._launch()

    def _check_live(self) -> None:
        if self.closed:
            raise QueryCancelled("query cancelled")
        if self.ctx.cancelled.is_set():
            self.close()
            raise cancelled_error(self.ctx)

    def pending_rows(self) -> int | None:
        """Rows produced but not yet taken, once the query has finished."""
        if self.sched.finished and self.sched.failed is None:
            return self.window.buffered_rows
        return None

    def next_batch(self) -> pa.RecordBatch | None:
        """The next final batch in partition order, pumping as needed; None
        at the end of the result."""
        while True:
            batch = self.window.take()
            if batch is not None:
                return batch
            if self.window.exhausted and self.sched.finished:
                return None
            if not self._running and not self._launch():
                self._check_live()
                raise InternalError("the query stalled: no task is running or ready")
            self.pump(block=True)

    def fill(self) -> None:
        """Run until the query finishes or the window is full."""
        while not self.sched.finished:
            if self._parked and not self._running:
                return
            self.pump(block=True)

    def close(self) -> None:
        """Stop the query (if it still runs) and free what it holds; waits
        for its running tasks, which stop at their next batch."""
        if self.closed:
            return
        self.closed = True
        if not self.sched.finished:
            self.ctx.cancelled.set()
        for fut in list(self._running):
            fut.cancel()
        for fut in list(self._running):
            try:
                fut.exception()               # waits; its error no longer matters
            except BaseException:             # noqa: BLE001 - cancelled futures
                pass
        self._running.clear()
        for ft in self._parked + list(self._finals.values()):
            ft.pipeline.close()
        self._parked, self._finals = [], {}
        self.window.clear()
        for stage in self.dag.stages:
            self.ctx.shuffle.drop_stage(stage.id)


def run_dag(dag: StageDag, ctx: ExecContext,
            on_progress: Callable[[StageScheduler], None] | None = None,
            pool: ThreadPoolExecutor | None = None) -> list[pa.RecordBatch]:
    """Run the whole DAG; every final batch, in partition order."""
    run = DagRun(dag, ctx, on_progress, pool)
    try:
        out = []
        while (batch := run.next_batch()) is not None:
            out.append(batch)
        return out
    finally:
        run.close()


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
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        raise OperationalError(disk_full_message(
            "the disk filled up while the query wrote to it",
            "point spill_dir at a larger disk")) from exc
    raise ExecutionError(f"{type(exc).__name__}: {exc}", stage=task.stage,
                         task=task.partition, worker="local") from exc
