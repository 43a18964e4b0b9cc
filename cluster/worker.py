"""A worker process: joins a coordinator, runs tasks, serves shuffle output.

Owns the worker side of the control plane (register, heartbeat, long-poll
for tasks, report each task's status with a typed failure reason) and runs
tasks in a pool of `slots` threads: a task decodes its stage (codec JSON,
never pickle), runs `executor.registry.execute(stage.root, partition, ctx)`
with a FlightShuffleStore, and writes its output (shuffle partitions, or
the final stage's result as partition 0) as Arrow IPC files that its
Flight server serves to consumers and clients.

Heartbeats are long polls: the coordinator answers as soon as a query is to
be dropped (finished, failed or cancelled), and the worker then sets that
query's cancel flag (its running tasks stop at their next batch), deletes
its files, and refuses tasks of it that arrive later (reported CANCELLED).
A broadcast join's build side is built once per query and stage on this
worker and shared by its tasks (`builds`, keyed as cluster/task_builds.py
says); it is freed when the query is dropped or stopped, not when the task
that built it ends.
Each beat lists the tasks the worker holds (from assignment until their
report is acknowledged), so the coordinator can rerun a task whose
assignment or report was lost. A report is retried with backoff for up
to REPORT_PATIENCE seconds.
Registering again (the coordinator restarted, or declared this worker
lost) keeps the shuffle folder: the worker sends its process `instance`
and the outputs it holds, asks for the id it had (cluster/identity.py),
stops its running tasks (their reports would be stale: they are not sent)
and deletes only the queries the coordinator names. With a shared exchange
(given by the coordinator at registration) outputs go there instead
(cluster/exchange.py). While the coordinator is away the worker keeps
retrying, and gRPC keepalive notices a frozen one.
Each listed task carries how long since it last made progress (a batch
through any operator), so the coordinator can rerun a hung task. A task
always reports: an error escaping run_task is reported as an internal
error, never lost. With `chaos=True` (--chaos) the worker carries out the
fault a task assignment names (chaos.py); otherwise it ignores it.

    w = Worker("127.0.0.1:7070", slots=2, data_dir="/tmp/w1")
    w.start()          # registers; prints nothing
    w.serve_forever()  # until stop()
"""

from __future__ import annotations

import collections
import errno
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc

from .. import errors
from ..executor.context import ExecContext, Metrics
from ..executor.memory import (format_size, note_work_started, process_pool,
                               release_when_idle)
from ..executor.registry import execute
from ..executor.shared_builds import SharedBuilds
from ..planner.tree import walk
from .chaos import Fault, FetchStalls, TaskFaults
from .exchange import EXCHANGE_ADDRESS, ExchangeFiles, held_outputs
from .cluster_scheduler import BAD_PLAN, CANCELLED, FETCH_FAILED, INTERNAL, USER_ERROR
from .flight_shuffle import FetchFailed, FlightClients, FlightShuffleStore, ShuffleFiles, \
    ShuffleFlightServer
from .plan_wire import stage_from_bytes
from .proto import quiver_pb2 as pb
from .proto import quiver_pb2_grpc as rpc
from .security import channel, grpc_error, metadata, resolve_token
from .tables_wire import table_from_bytes
from .task_builds import build_key

log = logging.getLogger("quiver.worker")

PROTOCOL_VERSION = 1
DROPPED_KEPT = 1000          # dropped query ids remembered (late tasks refused)
REPORT_PATIENCE = 30.0       # seconds to keep retrying a task report


def _key(task) -> tuple[str, int, int, int]:
    return (task.query_id, task.stage_id, task.partition, task.attempt)


FETCH_WHY = {"checksum": "checksum mismatch", "stalled": "fetch stall",
             "missing": "shuffle file missing", "unreachable": "producer unreachable"}


@dataclass
class TaskContext(ExecContext):
    """An ExecContext that notes when its task last made progress (every
    operator calls check_cancelled once per batch), and names a shared
    build by its place in the stage (cluster/task_builds.py), so the tasks
    of a stage on this worker share one in the worker's `builds`."""
    progress_at: float = field(default_factory=time.monotonic)
    stage_root: object = None
    stage_id: int = 0
    inputs: dict = field(default_factory=dict)   # stage id -> (partitions, addresses)

    def build_key(self, node) -> tuple:
        return build_key(self.stage_root, node, self.stage_id, self.inputs)

    def check_cancelled(self) -> None:
        self.progress_at = time.monotonic()
        super().check_cancelled()


def node_metrics(root, metrics: Metrics) -> dict:
    """Per-operator {preorder position: [rows, seconds, peak memory, spilled
    bytes]} of one stage plan."""
    out = {}
    for i, node in enumerate(walk(root)):
        m = metrics.get(node)
        if m is not None:
            out[str(i)] = [m.rows, m.seconds, m.peak_memory, m.spilled]
    return out


class Worker:
    def __init__(self, coordinator: str, host: str = "127.0.0.1", port: int = 0,
                 slots: int | None = None, data_dir: str | None = None,
                 local_roots=(), token: str | None = None, name: str = "",
                 tls_cert: str | None = None, tls_key: str | None = None,
                 tls_root: str | None = None, poll_wait: float = 1.0,
                 fetch_timeout: float | None = None, memory_limit=None,
                 chaos: bool = False, host_local_reads: bool = True):
        self.coordinator = coordinator
        if memory_limit is not None:        # this process's one pool (executor/memory.py)
            process_pool().set_limit(memory_limit)
        self.slots = slots or os.cpu_count() or 2
        self._temp_data = data_dir is None         # removed by stop()
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="quiver-worker-")
        self.local_roots = [os.path.abspath(r) for r in local_roots]
        self.token = resolve_token(token)
        self.name = name
        self.poll_wait = poll_wait
        self.files = ShuffleFiles(os.path.join(self.data_dir, "shuffle"))
        self.server = ShuffleFlightServer(self.files, host, port, self.token, tls_cert, tls_key)
        self.address = self.server.address
        self.clients = FlightClients(self.token, tls_root, timeout=fetch_timeout,
                                     host_local_reads=host_local_reads)
        self.channel = channel(coordinator, tls_root)
        self.stub = rpc.CoordinatorStub(self.channel)
        self.md = metadata(self.token)
        # twice the slots: a task frees its slot before it reports (a round trip
        # to the coordinator), so the next task may start on another thread
        # instead of queueing behind that report
        self.pool = ThreadPoolExecutor(max_workers=2 * self.slots, thread_name_prefix="quiver-slot")
        self._plans = _PlanCache()
        self.worker_id: str | None = None
        self.instance = secrets.token_hex(8)     # this process, for the coordinator
        self._generation = 0                     # registrations so far
        self._store_address = self.address       # or the exchange's
        self.heartbeat_interval = 1.0
        self._lock = threading.Condition()
        self._running = 0
        self._cancel: dict[str, threading.Event] = {}
        self._dropped: OrderedDict[str, None] = OrderedDict()
        self._held: set[tuple[str, int, int, int]] = set()   # assigned, report not acked
        self._contexts: dict[tuple[str, int, int, int], TaskContext] = {}   # running tasks
        self.builds = SharedBuilds()   # broadcast builds, shared by a query's tasks here
        self._stop = threading.Event()
        self.chaos = chaos
        self._offline_until = 0.0              # chaos: disconnected until (monotonic)
        self.stalls = FetchStalls()
        if chaos:
            self.server.on_get = self._on_get

    # -- control plane -----------------------------------------------------------
    def register(self, timeout: float = 10.0) -> str:
        self._stop_tasks()
        held = [pb.TaskOutput(query_id=q, stage_id=s, task=t)
                for q, s, t in held_outputs(self.files)]
        req = pb.RegisterWorkerRequest(protocol_version=PROTOCOL_VERSION,
                                       name=self.worker_id or self.name,
                                       flight_address=self.address, slots=self.slots,
                                       local_roots=self.local_roots, pid=os.getpid(),
                                       instance=self.instance,
                                       rejoin=self.worker_id is not None, held_outputs=held,
                                       memory_limit=process_pool().limit)
        try:
            resp = self.stub.RegisterWorker(req, metadata=self.md, timeout=timeout)
        except grpc.RpcError as exc:
            raise grpc_error(exc, self.coordinator) from None
        self.worker_id = resp.worker_id
        self.heartbeat_interval = resp.heartbeat_interval or 1.0
        if resp.exchange_uri and not isinstance(self.files, ExchangeFiles):
            options = json.loads(resp.exchange_options_json or "{}")
            self.files = ExchangeFiles(resp.exchange_uri, options)
            self.server.files = self.files
            self._store_address = EXCHANGE_ADDRESS
        for q in resp.drop_queries:
            self._drop(q)
        return self.worker_id

    def _stop_tasks(self) -> None:
        """Stop every running task (the coordinator reruns them), keeping the
        files; reports of tasks from before this registration are not sent."""
        with self._lock:
            self._generation += 1
            events, self._cancel = list(self._cancel.values()), {}
        for ev in events:
            ev.set()
        self.builds.drop_all()        # the coordinator may not name their queries again

    def start(self, timeout: float = 10.0) -> str:
        wid = self.register(timeout)
        threading.Thread(target=self._heartbeats, name="quiver-heartbeat", daemon=True).start()
        threading.Thread(target=self._poll_loop, name="quiver-poll", daemon=True).start()
        return wid

    def serve_forever(self) -> None:
        while not self._stop.wait(0.5):
            pass

    def stop(self) -> None:
        """Stop serving; running tasks end at their next batch (the process
        can then exit instead of waiting for them); tell the coordinator."""
        if self._stop.is_set():
            return
        self._stop.set()
        log.info("stopping")
        with self._lock:
            events = list(self._cancel.values())
            self._lock.notify_all()
        for ev in events:
            ev.set()
        self.builds.drop_all()
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.worker_id is not None:
            try:                              # its tasks rerun elsewhere now, not
                self.stub.LeaveCluster(         # after the heartbeat timeout
                    pb.LeaveClusterRequest(worker_id=self.worker_id, instance=self.instance),
                    metadata=self.md,
                    timeout=5)                  # bounded; a busy coordinator may be slow
            except grpc.RpcError:
                pass
        try:
            self.server.shutdown()
        except Exception:  # noqa: BLE001 - shutting down
            pass
        self.clients.close()
        self.channel.close()
        if self._temp_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- chaos -----------------------------------------------------------------------
    def disconnect(self, seconds: float) -> None:
        """Chaos: no heartbeats, polls, reports or shuffle serving for a while."""
        self._offline_until = time.monotonic() + seconds

    def _offline(self) -> bool:
        return time.monotonic() < self._offline_until

    def stall_fetches(self, query_id: str, stage_id: int, task: int, seconds: float) -> None:
        self.stalls.add(query_id, stage_id, task, seconds)

    def _on_get(self, query_id, stage_id, partition, tasks) -> None:
        from pyarrow import flight
        if self._offline():
            raise flight.FlightUnavailableError("worker disconnected (chaos)")
        self.stalls(query_id, stage_id, partition, tasks)

    def _faults(self, task) -> TaskFaults | None:
        if not task.chaos_json:
            return None
        if not self.chaos:
            print("worker: ignoring an injected fault (start the worker with --chaos to "
                  "accept them)", file=sys.stderr, flush=True)
            return None
        return TaskFaults(Fault.from_json(task.chaos_json), self, task)

    def _heartbeats(self) -> None:
        """Beat about every heartbeat_interval; each beat is a long poll the
        coordinator answers early with queries to drop."""
        while not self._stop.is_set():
            t0 = time.monotonic()
            interval = self.heartbeat_interval
            if self._offline():
                self._stop.wait(0.2)
                continue
            try:
                with self._lock:
                    running = self._running
                    held = [pb.TaskKey(query_id=q, stage_id=s, partition=p, attempt=a,
                                       idle_seconds=self._idle((q, s, p, a), t0))
                            for q, s, p, a in self._held]
                resp = self.stub.Heartbeat(
                    pb.HeartbeatRequest(worker_id=self.worker_id, running_tasks=running,
                                        wait_seconds=interval, lists_tasks=True, tasks=held,
                                        instance=self.instance),
                    metadata=self.md, timeout=interval + 10)
                for q in resp.drop_queries:
                    self._drop(q)
                for q in resp.stop_queries:
                    self._stop_query(q)
                if resp.drop_queries or resp.stop_queries:
                    continue
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    self._reregister()
                elif exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                    print(f"worker: {grpc_error(exc, self.coordinator)}", file=sys.stderr)
            self._stop.wait(max(0.0, interval - (time.monotonic() - t0)))

    def _idle(self, key, now: float) -> float:
        ctx = self._contexts.get(key)
        return max(0.0, now - ctx.progress_at) if ctx is not None else 0.0

    def _reregister(self) -> None:
        if self._stop.is_set():
            return      # a beat answered after our goodbye: leaving, not lost
        try:
            wid = self.register()
            print(f"worker re-registered as {wid} with coordinator {self.coordinator}",
                  flush=True)
            log.warning("re-registered as %s (the coordinator had forgotten this worker)", wid)
        except (errors.Error, grpc.RpcError):
            pass        # the coordinator is away: the next beat tries again

    def _drop(self, query_id: str) -> None:
        with self._lock:
            ev = self._cancel.pop(query_id, None)
            self._dropped[query_id] = None
            while len(self._dropped) > DROPPED_KEPT:
                self._dropped.popitem(last=False)
        if ev is not None:
            ev.set()
        self._drop_builds(query_id)
        self.files.drop_query(query_id)

    def _stop_query(self, query_id: str) -> None:
        """Stop the query's tasks but keep its files (it may be resumed)."""
        with self._lock:
            ev = self._cancel.pop(query_id, None)
        if ev is not None:
            ev.set()
        self._drop_builds(query_id)    # a resumed query's tasks build again

    def _drop_builds(self, query_id: str) -> None:
        """Free the query's shared broadcast builds (their tasks are told to
        stop first, so none is left waiting for one)."""
        done = self.builds.drop_query(query_id)
        if done.built:
            log.info("query %s: freed %d shared broadcast build(s), used by %d task(s); "
                     "the memory pool holds %d bytes (%s)", query_id, done.built, done.uses,
                     process_pool().reserved, format_size(process_pool().reserved))

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                while self._running >= self.slots and not self._stop.is_set():
                    self._lock.wait(0.5)
                free = self.slots - self._running
            if self._stop.is_set():
                return
            if self._offline():
                self._stop.wait(0.2)
                continue
            try:
                resp = self.stub.PollTasks(
                    pb.PollTasksRequest(worker_id=self.worker_id, free_slots=free,
                                        wait_seconds=self.poll_wait, instance=self.instance),
                    metadata=self.md, timeout=self.poll_wait + 10)
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    self._reregister()
                self._stop.wait(0.5)
                continue
            for task in resp.tasks:
                with self._lock:
                    self._running += 1
                    self._held.add(_key(task))
                self.pool.submit(self._run_and_report, task)

    # -- tasks -------------------------------------------------------------------
    def _run_and_report(self, task) -> None:
        freed = False
        name = (f"task {task.query_id} stage {task.stage_id} partition {task.partition} "
                f"attempt {task.attempt}")
        generation = self._generation
        note_work_started()
        try:
            log.info("%s started", name)
            try:
                status = self.run_task(task)
            except Exception as exc:  # noqa: BLE001 - a report must always go out
                status = pb.TaskStatus(
                    worker_id=self.worker_id or "", query_id=task.query_id,
                    stage_id=task.stage_id, partition=task.partition, attempt=task.attempt,
                    reason=INTERNAL, error_class="InternalError",
                    error_message=f"{type(exc).__name__}: {exc}"[:4000])
            if status.ok:
                log.info("%s finished in %.2f s: %d rows, %d bytes", name, status.seconds,
                         status.rows, status.bytes)
            else:
                log.warning("%s failed (%s): %s: %s", name, _reason(status.reason),
                            status.error_class, status.error_message.splitlines()[0]
                            if status.error_message else "")
            self._free_slot()                # the slot is free while we report
            freed = True
            if generation == self._generation:   # else: assigned before we registered again
                self.report(status)
        finally:
            if not freed:
                self._free_slot()
            with self._lock:
                self._held.discard(_key(task))

    def _free_slot(self) -> None:
        with self._lock:
            self._running -= 1
            idle = self._running == 0
            self._lock.notify_all()
        if idle:
            release_when_idle()              # nothing runs for a moment: give freed pages back

    def report(self, status) -> bool:
        """Send a task's status, retrying with backoff; False if it never got
        through (the coordinator then reruns the task: it is not listed in
        our heartbeats any more)."""
        deadline = time.monotonic() + REPORT_PATIENCE
        pause = 0.2
        while not self._stop.is_set():
            if self._offline():
                self._stop.wait(0.2)
                deadline = time.monotonic() + REPORT_PATIENCE
                continue
            try:
                self.stub.ReportTaskStatus(status, metadata=self.md, timeout=10)
                return True
            except grpc.RpcError as exc:
                if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAUTHENTICATED,
                                  grpc.StatusCode.INVALID_ARGUMENT):
                    return False
            if time.monotonic() + pause > deadline:
                return False
            self._stop.wait(pause)
            pause = min(pause * 2, 5.0)
        return False

    def run_task(self, task) -> pb.TaskStatus:
        status = pb.TaskStatus(worker_id=self.worker_id or "", query_id=task.query_id,
                               stage_id=task.stage_id, partition=task.partition,
                               attempt=task.attempt, instance=self.instance)
        t0 = time.perf_counter()
        with self._lock:
            dropped = task.query_id in self._dropped
            cancelled = None if dropped else self._cancel.setdefault(task.query_id,
                                                                     threading.Event())
        if dropped:
            status.reason, status.error_class = CANCELLED, "QueryCancelled"
            status.error_message = "query cancelled (dropped before this task started)"
            return status
        try:
            stage = self._plans.get(task.query_id, task.stage_id, task.stage_plan)
            faults = self._faults(task)
        except Exception as exc:  # noqa: BLE001 - any decode failure is a bad plan
            status.reason, status.error_class = BAD_PLAN, "InternalError"
            status.error_message = f"cannot decode the stage plan: {exc}"
            return status
        try:
            memory = {k: table_from_bytes(v) for k, v in task.memory_tables.items()}
        except Exception as exc:  # noqa: BLE001 - bad table bytes: the task is malformed
            status.reason, status.error_class = BAD_PLAN, "InternalError"
            status.error_message = f"cannot decode the task's in-memory tables: {exc}"
            return status
        inputs = {i.stage_id: (i.partitions, list(i.producer_addresses)) for i in task.inputs}
        store = FlightShuffleStore(self.files, task.query_id, self._store_address, inputs,
                                   self.clients)
        ctx = TaskContext(shuffle=store, cancelled=cancelled,
                          spill_dir=os.path.join(self.data_dir, "spill"),
                          memory_tables=memory, memory_limit=task.memory_limit or None,
                          spill_limit=task.spill_limit or None, query_key=task.query_id,
                          builds=self.builds, stage_root=stage.root, stage_id=task.stage_id,
                          inputs=inputs)
        ctx.set_task(task.stage_id, task.partition)
        key = _key(task)
        with self._lock:
            self._contexts[key] = ctx
        if task.batch_size:
            ctx.batch_size = task.batch_size
        if task.collect_metrics:
            ctx.metrics = Metrics()
        try:
            if faults is not None:
                faults.before(cancelled)
            rows = 0
            if stage.is_final:
                batches = []
                for b in execute(stage.root, task.partition, ctx):
                    ctx.check_cancelled()
                    batches.append(b)
                    rows += b.num_rows
                store.write(stage.id, task.partition, 0, batches)
            else:
                for _ in execute(stage.root, task.partition, ctx):
                    ctx.check_cancelled()
                rows = store.rows_written
            if faults is not None:
                faults.after_write(store.paths)
            status.ok = True
            status.rows, status.bytes = rows, store.bytes_written
        except FetchFailed as exc:
            status.reason, status.error_class = FETCH_FAILED, "OperationalError"
            status.error_message, status.failed_address = str(exc), exc.address
            status.failed_stage = exc.stage_id
            status.failed_tasks.extend(exc.tasks or [])
            status.end_reason = FETCH_WHY.get(exc.kind, "fetch failed")
        except errors.QueryCancelled as exc:
            status.reason, status.error_class, status.error_message = \
                CANCELLED, "QueryCancelled", str(exc)
        except errors.Error as exc:
            status.reason, status.error_class = USER_ERROR, type(exc).__name__
            status.error_message = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported to the coordinator, retried
            status.reason, status.error_class = INTERNAL, "InternalError"
            status.error_message = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                # retried (another worker may have room), in the user's words
                status.error_class = "OperationalError"
                status.error_message = errors.disk_full_message(
                    f"the disk of worker {self.worker_id or self.name} filled up while a "
                    f"task wrote under {self.data_dir}",
                    "start the worker with a --data-dir on a larger disk")
            if os.environ.get("QUIVER_DEBUG"):
                traceback.print_exc()
        finally:
            with self._lock:
                self._contexts.pop(key, None)
        status.seconds = time.perf_counter() - t0
        report = ctx.close()                # frees whatever the task still holds
        status.peak_memory = sum(p for p, _ in report["stages"].values())
        status.spilled_bytes = sum(s for _, s in report["stages"].values())
        if ctx.metrics is not None:
            status.metrics_json = json.dumps(node_metrics(stage.root, ctx.metrics))
        return status


def _reason(value: int) -> str:
    try:
        return pb.FailureReason.Name(value)
    except ValueError:
        return str(value)


class _PlanCache:
    """Decoded stage plans of the last few stages, by query and stage: the
    tasks of a stage share one plan object, as in the embedded engine,
    instead of each decoding the same bytes (about a tenth of a worker's
    Python time on short queries). An entry is used only for the very bytes
    it was decoded from."""

    SIZE = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: collections.OrderedDict = collections.OrderedDict()

    def get(self, query_id: str, stage_id: int, data: bytes):
        key = (query_id, stage_id)
        with self._lock:
            hit = self._plans.get(key)
            if hit is not None and hit[0] == data:
                self._plans.move_to_end(key)
                return hit[1]
        stage = stage_from_bytes(data)
        with self._lock:
            self._plans[key] = (data, stage)
            while len(self._plans) > self.SIZE:
                self._plans.popitem(last=False)
        return stage
