"""Which task runs on which worker: the cluster's scheduling state machine.

Events in, launches out, no threads or sockets (the coordinator calls it
under one lock; tests drive it with virtual workers):

    cs = ClusterScheduler(heartbeat_timeout=10, locality_wait=0.5)
    cs.add_worker("w1", "grpc+tcp://127.0.0.1:9001", slots=2, local_roots=["/data/a"], now=t)
    job = cs.submit("q1", dag, now=t)
    for launch in cs.assign("w1", free_slots=2, now=t):   # Launch(query, task, inputs)
        ...send launch to w1...
    cs.task_finished("w1", "q1", task, ok=True, now=t)     # or ok=False, reason=...
    cs.check_workers(now=t)                                # declares silent workers lost

Each query's stage order, readiness and attempts are the executor's
StageScheduler (the embedded runner drives the same one); this module adds
workers: a ready task goes to a worker with a free slot (the worker asks
with `assign`); a task that reads a split lying under some alive worker's
`--local-root` goes only to such a worker for `locality_wait` seconds, then
anywhere. A lost worker's running tasks are failed (retryable) and the
outputs it held that a consumer still needs are rerun (lineage, via
StageScheduler.output_lost). Every attempt is kept (`job.attempts`), with
why it ended (`Attempt.why`: lost, stalled, checksum mismatch, fetch
failed, repeated error, speculative loser...).

Retry policy (`_fail`): user errors and bad plans never retry; an internal
error that repeats the message of the task's previous attempt fails the
query at once; a fetch failure reruns the producer (only the tasks named,
for a missing file or a checksum mismatch; every output at that address
when it did not answer) and does not count against the consumer task. A
task whose worker says it made no progress for `task_stall_timeout`
seconds is failed as stalled and rerun (`reconcile`). Speculative attempts
live in speculation.py.

A query's job leaves `jobs` with `retire(query_id)` (finished, failed or
cancelled) and stays in `finished` (the last FINISHED_KEPT) for
system.tasks; a report arriving for a retired job still ends its attempt
and frees the worker's running entry.
"""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from ..executor.scheduler import StageScheduler, TaskId
from ..planner import physical as P
from ..planner.stages import StageDag
from ..planner.tree import walk
from . import speculation
from .sched_state import Current, Outputs, RunningSet

# typed failure reasons (values of the proto enum FailureReason)
USER_ERROR, FETCH_FAILED, CANCELLED, INTERNAL, BAD_PLAN, WORKER_LOST = 1, 2, 3, 4, 5, 6
RETRYABLE = {FETCH_FAILED, INTERNAL, WORKER_LOST}
FINISHED_KEPT = 50
_WHY = {USER_ERROR: "user error", FETCH_FAILED: "fetch failed", CANCELLED: "cancelled",
        INTERNAL: "internal error", BAD_PLAN: "bad plan", WORKER_LOST: "worker lost"}


@dataclass
class WorkerInfo:
    worker_id: str
    address: str
    slots: int
    local_roots: tuple[str, ...] = ()
    state: str = "alive"                  # alive | lost | left
    last_seen: float = 0.0
    running: set = field(default_factory=set)     # {(query_id, stage, partition)}
    tasks_completed: int = 0
    tasks_failed: int = 0
    instance: str = ""                    # the worker process's random id (cluster/identity.py)
    memory_limit: int = 0                 # bytes of its memory pool (0: not reported)


@dataclass
class Attempt:
    stage: int
    partition: int
    attempt: int
    worker: str
    started: float
    ended: float | None = None
    state: str = "running"                # running | succeeded | failed | lost | cancelled
    error: str | None = None
    why: str = ""                         # how it ended, in words (system.tasks)
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    metrics: dict = field(default_factory=dict)
    peak_memory: int = 0                  # bytes the task reserved at most (its worker's pool)
    spilled: int = 0                      # bytes it spilled


@dataclass(frozen=True)
class Launch:
    query_id: str
    task: TaskId
    inputs: dict          # stage_id -> (partitions, [producer address per task])


class QueryJob:
    def __init__(self, query_id: str, dag: StageDag, now: float, max_attempts: int):
        self.query_id = query_id
        self.dag = dag
        self.sched = StageScheduler(dag, max_attempts=max_attempts)
        self.submitted = now
        self.priority = 0                # the session's priority (share_weight)
        self.served = 0                  # when it last got a slot (ClusterScheduler._served)
        self.pending: deque[tuple[TaskId, float]] = deque()   # ready, not yet launched
        self.outputs: Outputs = Outputs()                 # (stage, partition) -> worker id
        self.durations: dict[int, list[float]] = {}       # stage -> seconds of succeeded attempts
        self._addresses: dict[int, tuple] = {}            # stage -> (version key, addresses)
        self.attempts: list[Attempt] = []
        self.current: Current = Current()                  # running attempt per task
        self.backups: dict[tuple[int, int], Attempt] = {}  # speculative twin per task
        self.error: tuple[str, str] | None = None          # (error class, message)
        self.cancelled = False
        self._paths: dict[tuple[int, int], list[str]] = {}
        self._scans: dict[int, list[P.ParquetScanExec]] = {}   # stage -> its scans

    @property
    def done(self) -> bool:
        return self.error is not None or self.cancelled or self.sched.finished

    def split_paths(self, stage_id: int, partition: int) -> list[str]:
        key = (stage_id, partition)
        if key not in self._paths:
            if stage_id not in self._scans:            # walk the plan once per stage
                self._scans[stage_id] = [n for n in walk(self.dag.stage(stage_id).root)
                                         if isinstance(n, P.ParquetScanExec)]
            paths = []
            for node in self._scans[stage_id]:
                if partition < len(node.splits):
                    paths.extend(s.host or s.path for s in node.splits[partition])
            self._paths[key] = paths
        return self._paths[key]


def share_weight(priority: int) -> float:
    """How many slots a query of this priority gets for each slot a
    priority-0 query gets: 1 + priority (priority 5 runs up to six tasks
    for every one of a priority-0 query), and 1 / (1 - priority) below 0.

    Weighted, not a strict tier: the admission queue (admission.py) is
    already strict (a higher priority is admitted first), but once
    admitted, a query holds its memory commitment until it ends, so a
    low-priority query starved of slots by a strict tier would keep its
    memory committed and hold back admission for everyone. With weights
    every running query keeps moving, the higher ones faster."""
    return 1.0 + priority if priority >= 0 else 1.0 / (1.0 - priority)


def _under(path: str, root: str) -> bool:
    path = path[len("file://"):] if path.startswith("file://") else path
    root = os.path.abspath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class ClusterScheduler:
    def __init__(self, heartbeat_timeout: float = 10.0, locality_wait: float = 0.5,
                 max_attempts: int = 4, task_stall_timeout: float = 60.0,
                 speculation: bool = True,
                 speculation_multiplier: float = speculation.DEFAULT_MULTIPLIER,
                 speculation_min_seconds: float = speculation.DEFAULT_MIN_SECONDS):
        self.heartbeat_timeout = heartbeat_timeout
        self._served = 0                 # slots handed out so far (fair sharing tie-break)
        self.task_stall_timeout = task_stall_timeout
        self.speculation = speculation
        self.speculation_multiplier = speculation_multiplier
        self.speculation_min_seconds = speculation_min_seconds
        self.locality_wait = locality_wait
        self.max_attempts = max_attempts
        self.workers: dict[str, WorkerInfo] = {}
        self._running = RunningSet.counter()   # query -> entries in the workers' running sets
        self._rooted: dict[str, WorkerInfo] = {}   # workers with local roots (locality)
        self._workers_version = 0              # bumped when a worker (re)registers
        self.jobs: dict[str, QueryJob] = {}
        self.finished: OrderedDict[str, QueryJob] = OrderedDict()    # retired jobs
        # with a shared exchange (cluster/exchange.py) outputs outlive their
        # worker: consumers read them at this address, a lost worker loses none
        self.exchange_address: str | None = None

    # -- workers ---------------------------------------------------------------
    def add_worker(self, worker_id: str, address: str, slots: int,
                   local_roots=(), now: float = 0.0, memory_limit: int = 0) -> WorkerInfo:
        old = self.workers.get(worker_id)
        if old is not None and old.state == "alive":
            self.worker_lost(worker_id, now)       # a restart: its old outputs are gone
        if old is not None:
            old.running.clear()                    # its entries no longer count as running
        w = WorkerInfo(worker_id, address, max(1, slots),
                       tuple(os.path.abspath(r) for r in local_roots), last_seen=now,
                       running=RunningSet(self._running), memory_limit=max(0, memory_limit))
        if old is not None:
            w.tasks_completed, w.tasks_failed = old.tasks_completed, old.tasks_failed
        self.workers[worker_id] = w
        self._workers_version += 1
        self._rooted.pop(worker_id, None)
        if w.local_roots:
            self._rooted[worker_id] = w
        return w

    def heartbeat(self, worker_id: str, now: float) -> bool:
        """False for an unknown or lost worker (it must register again)."""
        w = self.workers.get(worker_id)
        if w is None or w.state != "alive":
            return False
        w.last_seen = now
        return True

    def check_workers(self, now: float) -> list[str]:
        lost = [w.worker_id for w in self.workers.values()
                if w.state == "alive" and now - w.last_seen > self.heartbeat_timeout]
        for wid in lost:
            self.worker_lost(wid, now)
        return lost

    def worker_lost(self, worker_id: str, now: float, state: str = "lost") -> None:
        """The worker is gone (`state` lost, or left when it said goodbye):
        fail its running tasks (retryable) and rerun the outputs it held that
        are still needed."""
        w = self.workers[worker_id]
        w.state = state
        for job in self.jobs.values():
            if job.done:
                continue
            for (q, s, p) in list(w.running):
                if q == job.query_id and not speculation.survive(
                        self, job, (s, p), worker_id, now, "lost", f"worker {state}"):
                    self._fail(job, w, s, p, WORKER_LOST, "OperationalError",
                               f"worker {worker_id} was lost", now, attempt_state="lost",
                               why=f"worker {state}")
            lost = [k for k, wid in job.outputs.items()
                    if wid == worker_id and self.exchange_address is None]
            for (s, p) in sorted(lost, reverse=True):      # consumers first
                del job.outputs[(s, p)]
                if self._still_needed(job, s):
                    job.sched.output_lost(s, [p])
        for (q, s, p) in w.running:                 # attempts of retired jobs
            job = self.finished.get(q) or self.jobs.get(q)
            att = job.current.pop((s, p), None) if job is not None else None
            if att is not None and att.worker == worker_id:
                att.state, att.ended, att.why = "lost", now, f"worker {state}"
        w.running.clear()

    def _still_needed(self, job: QueryJob, stage_id: int) -> bool:
        if stage_id == job.dag.final.id:
            return not job.sched.stage_done(stage_id) or not job.sched.finished
        return any(not job.sched.stage_done(c.id) for c in job.dag.consumers(stage_id))

    def reconcile(self, worker_id: str, held, now: float, grace: float) -> int:
        """The worker says it holds exactly `held` {(query, stage, partition,
        attempt)} (a dict: -> seconds since that task's last progress): an
        attempt we think runs there, launched more than `grace` seconds ago
        and not in that list, was lost on the way (an assignment or a report
        that never arrived); one idle for more than task_stall_timeout is
        stalled. Fail either (retryable). Returns how many."""
        w = self.workers.get(worker_id)
        if w is None or w.state != "alive":
            return 0
        idle = held if isinstance(held, dict) else {}
        n = 0
        for job in list(self.jobs.values()):
            if job.done:
                continue
            for (s, p), att in list(job.current.items()):
                if att.worker != worker_id:
                    continue
                key = (job.query_id, s, p, att.attempt)
                if now - att.started > grace and key not in held:
                    self._fail(job, w, s, p, INTERNAL, "OperationalError",
                               f"worker {worker_id} has no record of task {p} of stage {s} "
                               f"attempt {att.attempt} (its assignment or report was lost)", now,
                               why="assignment or report lost")
                    n += 1
                elif idle.get(key, 0.0) > self.task_stall_timeout:
                    n += 1
                    if speculation.survive(self, job, (s, p), worker_id, now, "lost", "stalled"):
                        continue
                    self._fail(job, w, s, p, WORKER_LOST, "OperationalError",
                               f"task {p} of stage {s} attempt {att.attempt} on worker "
                               f"{worker_id} made no progress for {idle[key]:.0f} s", now,
                               attempt_state="lost", why="stalled")
        return n

    def launch_failed(self, query_id: str, task: TaskId, worker_id: str, error: str,
                      now: float) -> None:
        """The coordinator could not build a launched task's assignment (its
        plan does not encode): a bad plan, which no retry fixes."""
        job = self.jobs.get(query_id)
        w = self.workers.get(worker_id)
        if job is not None and w is not None and not job.done:
            self._fail(job, w, task.stage, task.partition, BAD_PLAN, "InternalError",
                       f"cannot send the stage plan: {error}", now, why="bad plan")

    def alive_workers(self) -> list[WorkerInfo]:
        return [w for w in self.workers.values() if w.state == "alive"]

    # -- queries ---------------------------------------------------------------
    def submit(self, query_id: str, dag: StageDag, now: float, priority: int = 0) -> QueryJob:
        job = QueryJob(query_id, dag, now, self.max_attempts)
        job.priority = priority
        self.jobs[query_id] = job
        return job

    def cancel(self, query_id: str) -> None:
        job = self.jobs.get(query_id)
        if job is not None and not job.done:
            job.cancelled = True
            job.pending.clear()

    def remove(self, query_id: str) -> None:
        self.jobs.pop(query_id, None)

    def retire(self, query_id: str) -> QueryJob | None:
        """The query is over (its runner is done with it): keep it for
        system.tasks, among the last FINISHED_KEPT."""
        job = self.jobs.pop(query_id, None)
        if job is not None:
            if not job.done:
                job.cancelled = True
                job.pending.clear()
            self.finished[query_id] = job
            while len(self.finished) > FINISHED_KEPT:
                self.finished.popitem(last=False)
        return job

    def _refresh(self, job: QueryJob, now: float) -> None:
        for task in job.sched.ready_tasks():
            job.pending.append((task, now))

    def preferred(self, job: QueryJob, task: TaskId) -> set[str]:
        """Alive workers whose local roots hold this task's splits."""
        paths = job.split_paths(task.stage, task.partition)
        if not paths:
            return set()
        return {w.worker_id for w in self._rooted.values()
                if w.state == "alive" and any(_under(p, r) or p == w.worker_id
                                         for p in paths for r in w.local_roots)}

    def assign(self, worker_id: str, free_slots: int, now: float,
               fenced: frozenset | set = frozenset()) -> list[Launch]:
        """Up to `free_slots` tasks for this worker to start now, none of a
        query in `fenced` (a stop for it is on its way to this worker).

        Fair sharing: each slot goes to the query running the fewest tasks
        across the cluster for its weight (`share_weight` of its priority;
        on a tie, the one served longest ago, then the older), so a query
        submitted behind a long one gets slots as soon as any free up
        instead of waiting for every task the long one queued."""
        w = self.workers.get(worker_id)
        if w is None or w.state != "alive":
            return []
        jobs = [job for job in self.jobs.values() if not job.done]
        for job in jobs:
            self._refresh(job, now)
        jobs = [job for job in jobs if job.query_id not in fenced]
        running = {job.query_id: self._running[job.query_id] for job in jobs}
        out: list[Launch] = []
        while len(out) < free_slots and jobs:
            job = min(jobs, key=lambda j: (running[j.query_id] / share_weight(j.priority),
                                           j.served, j.submitted))
            launch = self._next_task(job, w, now)
            got = [launch] if launch is not None else speculation.backups(self, job, w, 1, now)
            if not got:
                jobs.remove(job)
                continue
            out.extend(got)
            running[job.query_id] += len(got)
            self._served += 1
            job.served = self._served
        return out

    def _next_task(self, job: QueryJob, w: WorkerInfo, now: float) -> Launch | None:
        """Launch the first of the job's pending tasks that may run on `w`
        now (its inputs are complete; locality waits a moment for the worker
        that holds its splits)."""
        for i, (task, since) in enumerate(job.pending):
            if not job.sched.stage_ready(task.stage):
                continue
            pref = self.preferred(job, task)
            if pref and w.worker_id not in pref and now - since < self.locality_wait:
                continue
            del job.pending[i]
            return self._launch(job, w, task, now)
        return None

    def _launch(self, job: QueryJob, w: WorkerInfo, task: TaskId, now: float,
                backup: bool = False) -> Launch:
        stage = job.dag.stage(task.stage)
        inputs = {s: self._inputs(job, s) for s in stage.inputs}
        att = Attempt(task.stage, task.partition, task.attempt, w.worker_id, now)
        job.attempts.append(att)
        if backup:
            job.backups[(task.stage, task.partition)] = att
        else:
            job.current[(task.stage, task.partition)] = att
            job.sched.tasks[(task.stage, task.partition)].worker = w.worker_id
        w.running.add((job.query_id, task.stage, task.partition))
        return Launch(job.query_id, task, inputs)

    def _inputs(self, job: QueryJob, s: int) -> tuple[int, list[str]]:
        """(partitions, [address of each task's output]) of producer stage
        `s`: built once while its outputs, the workers and the exchange stay
        as they are, and shared by the launches of every consumer task (the
        coordinator copies it into each assignment, nobody changes it)."""
        key = (job.outputs.version[s], self._workers_version, self.exchange_address)
        cached = job._addresses.get(s)
        if cached is not None and cached[0] == key:
            return cached[1]
        producer = job.dag.stage(s)
        addresses = ([self.exchange_address] * producer.tasks if self.exchange_address else
                     [self.workers[job.outputs[(s, t)]].address for t in range(producer.tasks)])
        value = (max(1, producer.root.partitioning.count), addresses)
        job._addresses[s] = (key, value)
        return value

    def pending_count(self) -> int:
        return sum(len(j.pending) for j in self.jobs.values() if not j.done)

    # -- task reports ------------------------------------------------------------
    def task_finished(self, worker_id: str, query_id: str, task: TaskId, ok: bool,
                      now: float, reason: int = 0, error_class: str = "",
                      error: str = "", rows: int = 0, nbytes: int = 0,
                      seconds: float = 0.0, metrics: dict | None = None,
                      failed_address: str = "", memory: tuple = (0, 0),
                      failed_stage: int = 0, failed_tasks=(), why: str = "") -> bool:
        """Record a worker's report; False if it is stale (ignored)."""
        job = self.jobs.get(query_id) or self.finished.get(query_id)
        w = self.workers.get(worker_id)
        if job is None or w is None:
            return False
        key = (task.stage, task.partition)
        if key in job.backups:
            settled = speculation.settle(self, job, key, worker_id, task.attempt, ok, now, why)
            if settled is not None:
                return settled
        att = job.current.get(key)
        if att is None or att.worker != worker_id or att.attempt != task.attempt:
            return False
        w.running.discard((query_id, task.stage, task.partition))
        if job.done:
            del job.current[key]
            att.ended = now
            att.state = ("succeeded" if ok else
                         "cancelled" if reason == CANCELLED or job.cancelled else "failed")
            if ok:
                job.durations.setdefault(att.stage, []).append(now - att.started)
            att.error = att.error or error or None
            att.why = att.why or why or ("query over" if not ok else "")
            return True
        if ok:
            del job.current[key]
            att.state, att.ended = "succeeded", now
            job.durations.setdefault(att.stage, []).append(now - att.started)
            att.rows, att.bytes, att.seconds = rows, nbytes, seconds
            att.peak_memory, att.spilled = memory
            att.metrics = metrics or {}
            w.tasks_completed += 1
            job.sched.task_succeeded(task, worker_id)
            job.outputs[key] = worker_id
            return True
        w.tasks_failed += 1
        if reason == FETCH_FAILED and failed_address:
            self._producer_unreachable(job, failed_address, failed_stage, list(failed_tasks))
        self._fail(job, w, task.stage, task.partition, reason, error_class, error, now,
                   why=why)
        return True

    def _producer_unreachable(self, job: QueryJob, address: str, stage: int = 0,
                              tasks: list[int] | None = None) -> None:
        """Rerun the outputs a consumer could not fetch: the named producer
        tasks of `stage` (a missing or corrupt file), else every output held
        at `address` (the producer did not answer)."""
        for (s, p), wid in sorted(job.outputs.items(), reverse=True):
            if tasks and (s != stage or p not in tasks):
                continue
            if self.workers[wid].address == address and self._still_needed(job, s):
                del job.outputs[(s, p)]
                job.sched.output_lost(s, [p])

    def _fail(self, job, w, stage, partition, reason, error_class, error, now,
              attempt_state="failed", why=""):
        key = (stage, partition)
        att = job.current.pop(key, None)
        previous = job.sched.tasks[key].errors[-1:]
        repeated = reason == INTERNAL and previous == [error]
        if att is not None:
            att.state, att.ended, att.error = attempt_state, now, error
            att.why = "repeated error" if repeated else why or _WHY.get(reason, "")
        w.running.discard((job.query_id, stage, partition))
        task = TaskId(stage, partition, att.attempt if att else 0)
        job.sched.task_failed(task, error, retryable=reason in RETRYABLE and not repeated,
                              counts=reason != FETCH_FAILED)
        if job.sched.failed is not None and job.error is None:
            where = f" (stage {stage}, task {partition}, worker {w.worker_id})"
            if repeated:
                where = f"{where[:-1]}; the same error on two attempts)"
            elif reason in RETRYABLE:
                where = f"{where[:-1]}; gave up after {job.sched.tasks[key].attempts} attempts)"
            job.error = (error_class or "OperationalError", f"{error}{where}")
