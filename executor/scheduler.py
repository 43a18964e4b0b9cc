"""The stage scheduler as a state machine: events in, tasks out.

It knows nothing of threads or sockets. The embedded runner drives it with a
thread pool; the cluster coordinator drives it with gRPC workers. Both feed it
the same events:

    sched = StageScheduler(dag)
    for task in sched.ready_tasks():        # TaskId(stage, partition, attempt)
        launch(task)
    sched.task_succeeded(task)              # -> more tasks become ready
    sched.task_failed(task, error)          # retried up to max_attempts failures
    sched.task_failed(task, error, counts=False)   # a fetch failure: retried, not counted
    sched.output_lost(stage_id)             # rerun the producer (lineage)

A stage's tasks become ready when every stage it reads has completed.
Counts of done tasks and the set of pending ones are kept per stage, so
asking whether a stage is done or what is ready costs no walk over every
task (the coordinator asks on each worker's poll).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..planner.stages import StageDag


@dataclass(frozen=True, slots=True)
class TaskId:
    stage: int
    partition: int
    attempt: int = 0


@dataclass
class TaskState:
    status: str = "pending"          # pending | running | done | failed (set only by
                                     # StageScheduler's methods: it counts them per stage)
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    worker: str | None = None
    failures: int = 0                # failures that count against max_attempts


MAX_UNCOUNTED = 16       # attempts beyond max_attempts allowed for uncounted failures


class StageScheduler:
    def __init__(self, dag: StageDag, max_attempts: int = 3):
        self.dag = dag
        self.max_attempts = max_attempts
        self.tasks: dict[tuple[int, int], TaskState] = {
            (s.id, p): TaskState() for s in dag.stages for p in range(s.tasks)}
        self.failed: str | None = None
        # attempt numbers start here: a resumed query's attempts must not
        # reuse an earlier run's numbers, or that run's late reports (a
        # stopped task saying "cancelled") would count as the new attempts'
        self.first_attempt = 0
        self.rows: int | None = None     # rows read so far, when the runner counts them
        self._stages = {s.id: s for s in dag.stages}
        self._done = dict.fromkeys(self._stages, 0)          # stage -> tasks done
        self._pending = {s.id: set(range(s.tasks)) for s in dag.stages}

    def _set(self, stage: int, partition: int, st: TaskState, status: str) -> None:
        """Every status change goes through here (keeps the counts)."""
        if st.status == "done":
            self._done[stage] -= 1
        elif st.status == "pending":
            self._pending[stage].discard(partition)
        st.status = status
        if status == "done":
            self._done[stage] += 1
        elif status == "pending":
            self._pending[stage].add(partition)

    # -- queries -------------------------------------------------------------
    def stage_done(self, stage_id: int) -> bool:
        return self._done[stage_id] == self._stages[stage_id].tasks

    def stage_ready(self, stage_id: int) -> bool:
        return all(self.stage_done(i) for i in self._stages[stage_id].inputs)

    @property
    def finished(self) -> bool:
        return self.failed is not None or self.stage_done(self.dag.final.id)

    def ready_tasks(self) -> list[TaskId]:
        """Tasks that may start now; each is marked running when returned."""
        if self.failed is not None:
            return []
        out = []
        for stage in self.dag.stages:
            pending = self._pending[stage.id]
            if not pending or not self.stage_ready(stage.id):
                continue
            for p in sorted(pending):
                st = self.tasks[(stage.id, p)]
                self._set(stage.id, p, st, "running")
                out.append(self.next_attempt(stage.id, p))
        return out

    def next_attempt(self, stage_id: int, partition: int) -> TaskId:
        """A new attempt of the task (counted against max_attempts)."""
        st = self.tasks[(stage_id, partition)]
        st.attempts += 1
        return TaskId(stage_id, partition, self.first_attempt + st.attempts - 1)

    def progress(self) -> tuple[int, int, int, int]:
        """(stages done, stages, tasks done, tasks)."""
        done_stages = sum(self.stage_done(s.id) for s in self.dag.stages)
        done_tasks = sum(self._done.values())
        return done_stages, len(self.dag.stages), done_tasks, len(self.tasks)

    # -- events --------------------------------------------------------------
    def task_succeeded(self, task: TaskId, worker: str | None = None) -> None:
        st = self.tasks[(task.stage, task.partition)]
        self._set(task.stage, task.partition, st, "done")
        st.worker = worker

    def task_failed(self, task: TaskId, error: str, retryable: bool = True,
                    counts: bool = True) -> None:
        """A failed attempt: retried while retryable and fewer than
        max_attempts counted failures (uncounted ones, e.g. an input that
        could not be fetched, are bounded by MAX_UNCOUNTED extra attempts)."""
        st = self.tasks[(task.stage, task.partition)]
        st.errors.append(error)
        st.failures += counts
        if (retryable and st.failures < self.max_attempts
                and st.attempts < self.max_attempts + MAX_UNCOUNTED):
            self._set(task.stage, task.partition, st, "pending")
        else:
            self._set(task.stage, task.partition, st, "failed")
            self.failed = error

    def output_lost(self, stage_id: int, partitions: list[int] | None = None) -> None:
        """A producer's output is gone (its worker died): rerun those tasks."""
        stage = self._stages[stage_id]
        for p in (partitions if partitions is not None else range(stage.tasks)):
            st = self.tasks[(stage_id, p)]
            if st.status == "done":
                self._set(stage_id, p, st, "pending")
