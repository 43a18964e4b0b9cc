"""Run one client query's stage DAG on the cluster (coordinator side).

Owns `ClusterRunner`, the `runner(dag, ctx)` a coordinator Session uses in
place of the embedded thread pool: it submits the DAG to the coordinator's
ClusterScheduler, waits until the final stage is done, the query fails, it
is cancelled, or no worker is alive (an OperationalError saying how to
start one: after `no_worker_grace` seconds when none was alive since the
query began, after `no_worker_timeout` when they were lost mid-query), and
then either
- *streams*: returns no batches and keeps the final partitions' locations
  (`self.partitions`, query `self.streamed`), which the client fetches from
  the workers over Flight (a top-level SELECT: the coordinator never holds
  the result; a later streamed SELECT of the same request releases the
  earlier one's), or
- *collects*: fetches the final partitions itself (CREATE TABLE AS,
  EXPLAIN ANALYZE).
With EXPLAIN ANALYZE (ctx.metrics set) it folds the workers' per-operator
metrics back into ctx.metrics and leaves a per-task report in
`metrics.cluster_report` (lines: stage, task, worker, rows, bytes, time).

`cancel()` (from CancelQuery or a client that went away, any thread) stops
the request's current query and any later one, even one not yet submitted;
its runner then raises QueryCancelled and the query is released (workers
stop its tasks at once).

With `on_partition` set (ExecuteQueryStream), a streamed SELECT's final
partitions are announced one by one as they finish, so the client can fetch
the first while the rest still run.

A DAG that scans no files (system tables, constants) runs in the
coordinator's process when no worker is alive, so `system.workers` answers
at once on a coordinator with no workers.

Admission (cluster/admission.py): the first DAG of a request that scans
files waits in the coordinator's admission queue (its QueryRecord in state
`queued`) until the queue admits it, it is cancelled (it leaves the queue:
QueryCancelled), or `queue_timeout` passes (OperationalError saying what
it waited for and what is committed). The request then holds its
admission (its session's memory_limit at that moment, committed on every
worker) for its later DAGs too, until the coordinator frees it when the
request ends. DAGs that scan no files (system tables, VALUES, constants:
their data travels inline with the plan) never wait, so `SELECT * FROM
system.queries` answers while others queue; nor does a query resumed after
a coordinator restart (it was admitted before the restart).

`CoordinatorSession` is a Session that tells its runner whether the running
statement is a top-level SELECT (stream) or not (collect).
"""

from __future__ import annotations

import threading
import time
import uuid

import pyarrow as pa
from pyarrow import flight

from .. import errors
from ..executor.local_runner import run_dag
from ..planner.tree import walk
from ..executor.context import ExecContext
from ..executor.deadline import cancelled_error
from ..session import Session, result_table
from .flight_shuffle import make_ticket


def error_from(error_class: str, message: str) -> errors.Error:
    """The quiver.errors class named by a worker (never anything else)."""
    cls = getattr(errors, error_class, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.Error)):
        cls = errors.OperationalError
    try:
        return cls(message)
    except TypeError:
        return errors.OperationalError(message)


class CoordinatorSession(Session):
    """A Session whose runner streams the result of a top-level SELECT
    (journaled, so it can resume), and that runs `RESUME QUERY 'id'`."""

    def execute(self, sql, params=None, stream=False):
        from .resume import RESUME_RE
        m = RESUME_RE.match(sql)
        if m:
            return self.resume_query(m.group(1))
        return super().execute(sql, params, stream=stream)

    def run_query(self, bound, sql="", metrics=None, dag=None):
        self.runner.output_names = tuple(bound.output_names)
        self.runner.schema_bytes = None
        return super().run_query(bound, sql, metrics=metrics, dag=dag)

    def resume_query(self, query_id: str):
        """Run a failed or cancelled query again from its kept stage outputs."""
        from ..session import Result
        from .resume import prepare_resume
        from .tables_wire import schema_from_bytes
        dag, schema, rows = prepare_resume(self.runner.coord, query_id)
        runner = self.runner
        runner.stream, runner.resume_id, runner.restore = True, query_id, rows
        runner.schema_bytes = schema
        ctx = ExecContext(memory_tables={}, spill_dir=self.spill_dir)
        if self.batch_size:
            ctx.batch_size = self.batch_size
        self.current_ctx = ctx
        try:
            runner(dag, ctx)
        finally:
            runner.stream = False
            self.current_ctx = None
        return Result(schema_from_bytes(schema).empty_table(), -1, "SELECT")

    def _run_statement(self, st, sql):
        from ..parser import statements as S
        self.runner.stream = isinstance(st, S.Select)
        if self.runner.stream:
            self.runner.output_names = tuple(st.query.output_names)
        # only the last statement's result is the reply: announce only its partitions
        self.runner.announcing = self.runner.stream and self.final_statement
        try:
            return super()._run_statement(st, sql)
        finally:
            self.runner.stream = self.runner.announcing = False


class ClusterRunner:
    def __init__(self, coordinator, request_id: str = "", base_id: str | None = None):
        self.coord = coordinator
        self.request_id = request_id
        self.base_id = base_id or uuid.uuid4().hex[:16]
        self.stream = False
        self.partitions: list[tuple[str, bytes, int]] | None = None
        self.streamed: str | None = None
        self.query_ids: list[str] = []
        self.cancelled = threading.Event()
        self.session = None
        # ExecuteQueryStream: on_partition(query_id, schema, index, address, ticket, rows)
        # is called (under the coordinator's lock) as each final partition of a
        # streamed SELECT finishes
        self.on_partition = None
        self.announcing = False
        # durability (cluster/resume.py): the SQL, the result's column names,
        # and for a resumed query its id and the journal's completed tasks
        self.sql = ""
        self.output_names: tuple | None = None
        self.schema_bytes: bytes | None = None
        self.resume_id: str | None = None
        self.restore: list | None = None
        self.record = None          # the request's QueryRecord (system.queries)
        self.admitted = False       # the admission queue let this request run

    def cancel(self) -> None:
        self.cancelled.set()
        if self.session is not None:
            self.session.cancel()
        for qid in list(self.query_ids):
            self.coord.scheduler_cancel(qid)
        with self.coord.cond:
            self.coord.cond.notify_all()       # a queued request leaves the queue now

    def __call__(self, dag, ctx) -> list[pa.RecordBatch]:
        coord = self.coord
        n = len(self.query_ids)
        query_id = self.resume_id or (self.base_id if n == 0 else f"{self.base_id}-{n}")
        restore, self.resume_id, self.restore = self.restore, None, None
        if self.cancelled.is_set():
            raise errors.QueryCancelled("query cancelled")
        with coord.cond:
            idle = not coord.scheduler.alive_workers()
        reads_files = _reads_files(dag)
        if idle and not reads_files:
            return run_dag(dag, ctx)                 # system tables, constants: answer now
        if reads_files:
            self._wait_for_admission(ctx)
        self.query_ids.append(query_id)
        from .resume import is_resumable
        resumable = self.stream and ctx.metrics is None and is_resumable(dag)
        if restore is None:
            coord.journal_query(query_id, self.request_id, self.sql, dag,
                                self._schema_bytes(dag), ctx, resumable)
        job = coord.submit(query_id, dag, ctx, self.request_id, restore,
                           priority=getattr(self.session, "priority", 0))
        announce = self._announcer(query_id, dag, job) \
            if self.announcing and ctx.metrics is None and self.on_partition is not None else None
        try:
            with coord.cond:
                idle_since = None                    # no alive worker since
                seen_worker = not idle
                while not job.done:
                    if announce is not None:
                        announce()
                    if ctx.cancelled.is_set() or self.cancelled.is_set():
                        coord.scheduler.cancel(query_id)
                        break
                    now = time.monotonic()
                    # no worker at all: fail fast (after a short grace for one
                    # that is registering); workers lost mid-query may come back
                    limit = coord.no_worker_timeout if seen_worker else min(
                        coord.no_worker_grace, coord.no_worker_timeout)
                    if coord.scheduler.alive_workers():
                        idle_since, seen_worker = None, True
                    elif idle_since is None:
                        idle_since = now
                    elif now - idle_since > limit:
                        why = (f"every worker was lost {limit:g} s ago" if seen_worker
                               else "none is alive")
                        raise errors.OperationalError(
                            f"no worker has joined this coordinator ({why}): start one with "
                            f"`quiver worker --coordinator {coord.address}`")
                    coord.cond.wait(0.2)
            if job.cancelled or ctx.cancelled.is_set() or self.cancelled.is_set():
                raise cancelled_error(ctx)
            if job.error is not None:
                raise error_from(*job.error)
            final = dag.final
            with coord.cond:
                parts = []
                for p in range(final.tasks):
                    wid = job.outputs[(final.id, p)]
                    rows = sum(a.rows for a in job.attempts if a.stage == final.id and
                               a.partition == p and a.state in ("succeeded", "restored"))
                    parts.append((coord.result_address(wid),
                                  make_ticket(query_id, final.id, 0, [p]), rows))
            _fold_memory(job, ctx)
            if ctx.metrics is not None:
                self._fold_metrics(job, ctx.metrics)
            if self.stream and ctx.metrics is None:
                if self.streamed is not None:
                    coord.release(self.streamed)
                self.partitions, self.streamed = parts, query_id
                coord.journal.query_ended(query_id, "finished")
                return []
            batches = []
            for address, ticket, _ in parts:
                try:
                    batches.extend(coord.clients.fetch_result(address, ticket))
                except (flight.FlightError, pa.ArrowException, OSError) as exc:
                    coord.clients.forget(address)
                    raise errors.OperationalError(
                        f"cannot fetch a result partition from worker {address}: "
                        f"{str(exc).splitlines()[0]}") from None
            coord.release(query_id)
            return batches
        except BaseException as exc:
            coord.scheduler_cancel(query_id)
            if resumable and isinstance(exc, errors.Error):
                coord.retain(query_id, "cancelled" if isinstance(exc, errors.QueryCancelled)
                             else "failed", str(exc))
            else:
                coord.release(query_id)
            raise
        finally:
            coord.job_finished(query_id)

    def _wait_for_admission(self, ctx) -> None:
        """Queue this request until the admission queue lets it run (once
        per request; a request without a session, one resumed after a
        restart, runs at once)."""
        session, coord, record = self.session, self.coord, self.record
        if self.admitted or session is None:
            return
        with coord.cond:
            queue = coord.admission
            ticket = queue.enqueue(self.request_id, session.user, session.priority,
                                   getattr(ctx, "memory_limit", None), time.monotonic())
            coord.admit_queued()
            if record is not None:
                record.priority = session.priority
                if not ticket.admitted:
                    record.state, record.queued_since = "queued", time.time()
            try:
                while not ticket.admitted:
                    if ctx.cancelled.is_set() or self.cancelled.is_set():
                        raise errors.QueryCancelled("query cancelled while queued")
                    now = time.monotonic()
                    if queue.timed_out(ticket, now):
                        why = queue.why_waiting(ticket, coord.memory_capacity())
                        raise errors.OperationalError(
                            f"query waited {ticket.queued_seconds(now):.0f} s in the admission "
                            f"queue (--queue-timeout {queue.queue_timeout:g}) for {why}")
                    coord.cond.wait(0.2)
                    coord.admit_queued()
            except BaseException:
                queue.release(self.request_id)
                coord.cond.notify_all()
                raise
            finally:
                if record is not None and record.queued_since is not None:
                    record.queued_seconds = record.waited(time.time())
                    record.queued_since = None
                    if ticket.admitted:
                        record.state = "running"
        self.admitted = True

    def _announcer(self, query_id: str, dag, job):
        """A function that tells on_partition about final partitions that
        finished since it last ran (called with the coordinator's lock held)."""
        final = dag.final
        schema = pa.schema([pa.field(n, f.dtype) for n, f in zip(self.output_names,
                                                                  final.root.schema)])
        told: set[int] = set()

        def announce() -> None:
            for p in range(final.tasks):
                wid = job.outputs.get((final.id, p))
                if p in told or wid is None:
                    continue
                address = self.coord.result_address(wid)
                if not address:
                    continue
                rows = sum(a.rows for a in job.attempts if a.stage == final.id and
                           a.partition == p and a.state in ("succeeded", "restored"))
                told.add(p)
                self.on_partition(query_id, schema, p, address,
                                  make_ticket(query_id, final.id, 0, [p]), rows)
        return announce

    def _schema_bytes(self, dag) -> bytes | None:
        """The result's Arrow schema with the user's column names (journaled)."""
        if self.schema_bytes is None and self.output_names is not None:
            from .tables_wire import schema_to_bytes
            self.schema_bytes = schema_to_bytes(
                result_table([], dag.final.root.schema, self.output_names).schema)
        return self.schema_bytes

    def _fold_metrics(self, job, metrics) -> None:
        """Workers' per-operator metrics onto this DAG's nodes, plus a task report."""
        lines = []
        for stage in job.dag.stages:
            nodes = list(walk(stage.root))
            attempts = sorted((a for a in job.attempts if a.stage == stage.id),
                              key=lambda a: (a.partition, a.attempt))
            lines.append(f"Stage {stage.id} tasks:")
            for a in attempts:
                for pos, values in (a.metrics or {}).items():
                    i = int(pos)
                    if i < len(nodes):
                        metrics.record(nodes[i], values[0], values[1])
                        if len(values) >= 4:
                            metrics.record_memory(nodes[i], values[2], values[3])
                if a.bytes and a.state == "succeeded":    # what the task wrote
                    metrics.record_written(stage.root, 0, a.bytes)
                err = f" error={a.error}" if a.error else ""
                err = f" ended_by={a.why}{err}" if a.why else err
                lines.append(f"  task {a.partition} attempt {a.attempt} worker={a.worker} "
                             f"{a.state} rows={a.rows} bytes={a.bytes} "
                             f"time={a.seconds * 1000:.1f}ms{err}")
        metrics.cluster_report = lines


def _fold_memory(job, ctx) -> None:
    """The query's memory on the workers into ctx.options['remote_memory']:
    peak = the sum over workers of their largest task, spilled = all tasks;
    also per stage (for EXPLAIN ANALYZE)."""
    per_worker: dict = {}
    spilled = 0
    stages = ctx.options.setdefault("remote_stages", {})
    for a in job.attempts:
        if a.state != "succeeded":
            continue
        per_worker[a.worker] = max(per_worker.get(a.worker, 0), a.peak_memory)
        spilled += a.spilled
        peak, sp = stages.get(a.stage, (0, 0))
        stages[a.stage] = (max(peak, a.peak_memory), sp + a.spilled)
    total = ctx.options.setdefault("remote_memory", {"peak": 0, "spilled": 0})
    total["peak"] = max(total["peak"], sum(per_worker.values()))
    total["spilled"] += spilled


def _reads_files(dag) -> bool:
    """Whether any stage scans files (which only workers do)."""
    from ..planner import physical as P
    return any(isinstance(n, P.ParquetScanExec) for st in dag.stages for n in walk(st.root))


def wait_seconds(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
