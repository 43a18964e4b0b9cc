"""The coordinator: the gRPC control plane, the catalog, and query driving.

Owns:
- the worker registry and task delivery (workers long-poll `PollTasks`, say
  goodbye with `LeaveCluster` when they stop; a
  launch carries the stage's codec JSON, its inputs' producer addresses and
  any in-memory tables it scans), through one ClusterScheduler under one
  condition lock; a monitor thread declares silent workers lost;
- client calls: `ExecuteQuery` runs a CoordinatorSession per query (the
  result of a SELECT stays on the workers; the reply lists where;
  `ExecuteQueryStream` lists each final partition as soon as it finishes),
  `GetQueryStatus`, `CancelQuery`, `ReleaseQuery`, `RegisterTable`;
- stopping and cleaning up: a query that ends (finished, failed, cancelled,
  or its client went away) is dropped on every alive worker; workers
  long-poll `Heartbeat`, which answers as soon as there is something to
  drop, so a cancelled query's tasks stop at once, not at the next beat.
  A streamed result the client never releases is dropped after
  `result_ttl` seconds; a lost worker's queue of drops is forgotten (a
  worker wipes its shuffle folder when it registers); each heartbeat lists
  the tasks the worker holds, and a task we believe runs there that it does
  not know (an assignment or a report lost on the way) is failed and rerun
  after `lost_task_grace` seconds, so such a loss cannot hang a query;
- the catalog, shared by clients and saved as JSON in the state folder after
  every change (so it survives a restart); a client may instead ask for a
  private catalog that lives as long as its session;
- failure injection when started with `chaos=True` (--chaos): `InjectFault`
  arms a fault (chaos.py) that rides on the next matching task assignment;
- a task whose assignment cannot be built (its plan does not encode) fails
  the query with that error at once (it used to vanish and come back as
  "no record of task" after four retries);
- durability (cluster/journal.py, resume.py, identity.py, exchange.py): the
  state folder is persistent (`~/.quiver` unless --state-dir); each request,
  query plan, completed task output and worker is journaled before the
  scheduler acts on it; a restarted coordinator replays the journal and
  resumes in-flight SELECTs, and answers a reconnecting client's
  `AwaitQuery`; workers rejoin keeping their outputs; failed or cancelled
  SELECTs keep their outputs for `retention` seconds (RESUME QUERY); lost
  workers that never return leave the registry after `lost_worker_ttl`;
- admission (cluster/admission.py): a query that would commit more
  memory than the workers have, or run more queries for its user than
  `max_queries_per_user`, waits in a queue (state `queued`) for at most
  `queue_timeout` seconds; the ClusterRunner does the waiting, this
  module runs the queue's passes and frees a request's commitment when
  the request ends;
- refusing bad calls with a clear status (unknown worker: NOT_FOUND,
  malformed request: INVALID_ARGUMENT, wrong token: UNAUTHENTICATED) while
  serving everyone else.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict, deque
from concurrent import futures

import grpc
import pyarrow as pa

from .. import errors
from ..executor.memory import reservable
from ..executor.scheduler import TaskId
from .. import datatypes as dt
from ..planner import physical as P
from ..planner.tree import walk
from ..session import QueryRecord, session_options
from ..storage.catalog import Catalog
from ..storage.fs import base_directory
from .admission import AdmissionQueue
from .chaos import Armory, Fault
from .cluster_runner import ClusterRunner, CoordinatorSession
from . import identity, journal_replay, resume
from .cluster_scheduler import ClusterScheduler
from .journal import Journal
from .flight_shuffle import FlightClients
from .plan_wire import stage_to_bytes
from .proto import quiver_pb2 as pb
from .proto import quiver_pb2_grpc as rpc
from .security import TokenInterceptor, resolve_token, server_port, GRPC_OPTIONS
from .system_tables import SystemCatalog, system_table
from .tables_wire import params_from_bytes, schema_to_bytes, table_from_bytes, table_to_bytes

log = logging.getLogger("quiver.coordinator")

MAX_POLL_WAIT = 5.0
EARLY_CANCELS_KEPT = 1000
RPC_THREADS = 256          # each worker holds two long polls (tasks, heartbeat)


class Coordinator(rpc.CoordinatorServicer):
    def __init__(self, host: str = "127.0.0.1", port: int = 7070, state_dir: str | None = None,
                 heartbeat_timeout: float = 10.0, token: str | None = None,
                 tls_cert: str | None = None, tls_key: str | None = None,
                 tls_root: str | None = None, locality_wait: float = 0.5,
                 heartbeat_interval: float = 1.0, fetch_timeout: float | None = None,
                 result_ttl: float = 600.0, lost_task_grace: float | None = None,
                 no_worker_timeout: float = 60.0, no_worker_grace: float = 2.0,
                 task_stall_timeout: float = 60.0, chaos: bool = False,
                 speculation: bool = True,
                 speculation_min_seconds: float | None = None, journal: bool = True,
                 exchange: str | None = None, exchange_options: dict | None = None,
                 retention: float = 3600.0, lost_worker_ttl: float = 300.0,
                 queue_timeout: float = 300.0, max_queries_per_user: int = 0):
        self.state_dir = os.path.abspath(state_dir or resume.default_state_dir())
        os.makedirs(self.state_dir, exist_ok=True)
        self._lock_file = resume.lock_state_dir(self.state_dir)
        self.journal = Journal(os.path.join(self.state_dir, "journal.sqlite") if journal else None)
        self.exchange, self.exchange_options = exchange or "", dict(exchange_options or {})
        self.retention, self.lost_worker_ttl = retention, lost_worker_ttl
        self.answers: OrderedDict[str, bytes] = OrderedDict()  # request id -> response
        self.resuming: set[str] = set()                        # requests being answered
        self.resumable: dict[str, float] = {}                  # query id -> outputs kept until
        self._stops: dict[str, set[str]] = {}                  # worker -> queries to stop
        # worker -> stops answered but maybe not carried out yet: the worker
        # has when its next heartbeat comes (it handles an answer before it
        # beats again); until then it gets no task of those queries, or a
        # late stop would cancel a RESUMEd query's new tasks
        self._stops_sent: dict[str, set[str]] = {}
        self._lost_at: dict[str, float] = {}                   # lost worker -> since when
        self._next_compaction = 0.0
        self.token = resolve_token(token)
        self.tls_cert_path = tls_cert
        self.heartbeat_interval = heartbeat_interval
        self.scheduler = ClusterScheduler(heartbeat_timeout, locality_wait,
                                          task_stall_timeout=task_stall_timeout,
                                          speculation=speculation)
        if speculation_min_seconds is not None:
            self.scheduler.speculation_min_seconds = speculation_min_seconds
        self.armory = Armory() if chaos else None
        self.admission = AdmissionQueue(max_queries_per_user, queue_timeout)
        if self.exchange:
            from .exchange import EXCHANGE_ADDRESS
            self.scheduler.exchange_address = EXCHANGE_ADDRESS
        lock = threading.RLock()
        self.cond = threading.Condition(lock)
        # heartbeat long polls wait on their own condition (same lock): they
        # care only about queries to drop or stop, and waking them at every
        # task report cost two needless thread switches per report
        self._beats = threading.Condition(lock)
        self.clients = FlightClients(self.token, tls_root or (tls_cert if tls_cert else None),
                                     timeout=fetch_timeout)
        self.result_ttl = result_ttl
        self.no_worker_timeout = no_worker_timeout
        self.no_worker_grace = no_worker_grace
        self.lost_task_grace = (lost_task_grace if lost_task_grace is not None
                                else max(10.0, 4 * heartbeat_interval))
        self.catalog_path = os.path.join(self.state_dir, "catalog.json")
        self.catalog = self._load_catalog()
        self._saved = self.catalog.to_json()
        self.private: dict[str, Catalog] = {}
        self.records: deque[QueryRecord] = deque(maxlen=200)
        self.requests: dict[str, ClusterRunner] = {}           # running request id -> runner
        self._early_cancels: OrderedDict[str, None] = OrderedDict()  # cancelled before known
        self._drops: dict[str, set[str]] = {}                  # alive worker -> queries to drop
        self._unreleased: dict[str, float] = {}                # streamed query -> drop after
        self._contexts: dict[str, object] = {}                 # query id -> ExecContext
        self._wire: dict[tuple[str, int], bytes] = {}          # (query, stage) -> plan bytes
        self._stop = threading.Event()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=RPC_THREADS),
                                  interceptors=[TokenInterceptor(self.token)],
                                  options=GRPC_OPTIONS)
        rpc.add_CoordinatorServicer_to_server(self, self.server)
        self.port = server_port(self.server, f"{host}:{port}", tls_cert, tls_key)
        if not self.port:
            raise errors.OperationalError(f"cannot listen on {host}:{port}")
        self.address = f"{host}:{self.port}"

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> str:
        with self.cond:
            journal_replay.replay(self)
        self.server.start()
        threading.Thread(target=self._monitor, name="quiver-monitor", daemon=True).start()
        return self.address

    def stop(self) -> None:
        self._stop.set()
        with self.cond:
            self.cond.notify_all()          # long polls answer now
            self._beats.notify_all()
        self.server.stop(grace=1)
        self.clients.close()
        self.journal.close()
        self._lock_file.close()

    def _monitor(self) -> None:
        while not self._stop.wait(0.5):
            now = time.monotonic()
            with self.cond:
                lost = self.scheduler.check_workers(now)
                lost += identity.expire_recovering(self.scheduler, now,
                                                   self.scheduler.heartbeat_timeout)
                for wid in lost:
                    self._drops.pop(wid, None)      # told what to drop when it returns
                    self._stops.pop(wid, None)
                    self._stops_sent.pop(wid, None)
                    log.warning("worker %s lost: no heartbeat for %g s; its tasks rerun "
                                "elsewhere", wid, self.scheduler.heartbeat_timeout)
                self._tidy(now)
                expired = [q for q, t in self._unreleased.items() if t <= now]
                wall = time.time()
                expired += [q for q, t in self.resumable.items() if t <= wall]
                if lost:
                    self.cond.notify_all()
            for q in expired:
                self.release(q)

    def _tidy(self, now: float) -> None:
        """Lost workers that never returned leave the registry (unless a
        running query still names them)."""
        sched = self.scheduler
        named = {wid for j in sched.jobs.values() for wid in j.outputs.values()}
        for w in list(sched.workers.values()):
            if w.state not in ("lost", "left"):
                self._lost_at.pop(w.worker_id, None)
                continue
            since = self._lost_at.setdefault(w.worker_id, now)
            if now - since > self.lost_worker_ttl and w.worker_id not in named:
                del sched.workers[w.worker_id]
                self._lost_at.pop(w.worker_id, None)
                self.journal.worker_forget(w.worker_id)
        while len(self.answers) > EARLY_CANCELS_KEPT:
            self.answers.popitem(last=False)
        if now >= self._next_compaction:            # answers nobody came back for
            self._next_compaction = now + 30.0
            self.journal.requests_older_than(time.time() - self.result_ttl)

    # -- catalog -----------------------------------------------------------------
    def _load_catalog(self) -> Catalog:
        if os.path.exists(self.catalog_path):
            with open(self.catalog_path) as f:
                return Catalog.from_json(f.read())
        return Catalog()

    def save_catalog(self) -> None:
        text = self.catalog.to_json()
        if text == self._saved:
            return
        tmp = f"{self.catalog_path}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.catalog_path)
        self._saved = text

    def catalog_for(self, session_id: str) -> Catalog:
        """The shared catalog, or a session's own one (session id `private:...`)."""
        if session_id.startswith("private:"):
            with self.cond:
                return self.private.setdefault(session_id, Catalog())
        return self.catalog

    def _system(self, name: str):
        with self.cond:
            return system_table(name, self)

    # -- workers -------------------------------------------------------------------
    def _worker(self, worker_id: str, context, instance: str = ""):
        w = self.scheduler.workers.get(worker_id)
        if w is None or w.state != "alive":
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"unknown worker {worker_id!r}: register first")
        if not identity.owned_by(w, instance):
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"worker id {worker_id!r} is owned by another process: register again")
        return w

    def RegisterWorker(self, request, context):
        if request.protocol_version != 1:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"worker protocol version {request.protocol_version} is not 1")
        if request.slots <= 0 or not request.flight_address.startswith("grpc"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "RegisterWorker needs slots > 0 and a grpc:// flight address")
        with self.cond:
            wid, drops = identity.register(self, request, time.monotonic())
            log.info("worker %s registered: %s, %d slots%s", wid, request.flight_address,
                     request.slots, f", pid {request.pid}" if request.pid else "")
            self._drops.pop(wid, None)      # its held outputs were just reconciled
            self._stops.pop(wid, None)
            self._stops_sent.pop(wid, None)
            self.cond.notify_all()
        return pb.RegisterWorkerResponse(
            worker_id=wid, heartbeat_interval=self.heartbeat_interval,
            exchange_uri=self.exchange,
            exchange_options_json=json.dumps(self.exchange_options) if self.exchange else "",
            drop_queries=drops)

    def Heartbeat(self, request, context):
        """Liveness, and a long poll for queries to drop: answers at once when
        there are some, else after wait_seconds (at most the heartbeat
        interval, so the worker's next beat comes in time)."""
        wid = request.worker_id
        wait = min(max(request.wait_seconds, 0.0), self.heartbeat_interval)
        deadline = time.monotonic() + wait
        with self.cond:
            now = time.monotonic()
            if self._stops_sent.pop(wid, None):     # the last answer was carried out
                self.cond.notify_all()              # a waiting PollTasks may launch now
            self._worker(wid, context, request.instance)
            self.scheduler.heartbeat(wid, now)
            if request.lists_tasks:
                held = {(t.query_id, t.stage_id, t.partition, t.attempt): t.idle_seconds
                        for t in request.tasks}
                if self.scheduler.reconcile(wid, held, now, self.lost_task_grace):
                    self.cond.notify_all()
            while (not self._drops.get(wid) and not self._stops.get(wid)
                   and not self._stop.is_set() and context.is_active()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._beats.wait(left)
            drops = self._drops.pop(wid, set())
            stops = self._stops.pop(wid, set()) - drops
            self._stops_sent[wid] = drops | stops
        return pb.HeartbeatResponse(drop_queries=sorted(drops), stop_queries=sorted(stops))

    def LeaveCluster(self, request, context):
        with self.cond:
            w = self.scheduler.workers.get(request.worker_id)
            if (w is not None and w.state == "alive"
                    and identity.owned_by(w, request.instance)):
                self.scheduler.worker_lost(request.worker_id, time.monotonic(), state="left")
                log.info("worker %s left", request.worker_id)
                self._drops.pop(request.worker_id, None)
                self.cond.notify_all()
        return pb.LeaveClusterResponse()

    def PollTasks(self, request, context):
        wait = min(max(request.wait_seconds, 0.0), MAX_POLL_WAIT)
        deadline = time.monotonic() + wait
        with self.cond:
            self._worker(request.worker_id, context, request.instance)
            while True:
                now = time.monotonic()
                self.scheduler.heartbeat(request.worker_id, now)
                fenced = (self._stops.get(request.worker_id, set())
                          | self._stops_sent.get(request.worker_id, set()))
                launches = self.scheduler.assign(request.worker_id, max(0, request.free_slots),
                                                 now, fenced)
                if launches or now >= deadline or not context.is_active():
                    break
                self.cond.wait(min(0.1, deadline - now))
            tasks = []
            for launch in launches:
                try:
                    tasks.append(self._assignment(launch, request.worker_id))
                except Exception as exc:  # noqa: BLE001 - the query fails with it, no retry
                    self.scheduler.launch_failed(launch.query_id, launch.task,
                                                 request.worker_id, f"{exc}", time.monotonic())
                    self.cond.notify_all()
        return pb.PollTasksResponse(tasks=tasks)

    def _assignment(self, launch, worker_id: str = "") -> pb.TaskAssignment:
        job = self.scheduler.jobs[launch.query_id]
        stage = job.dag.stage(launch.task.stage)
        key = (launch.query_id, stage.id)
        if key not in self._wire:
            self._wire[key] = stage_to_bytes(stage)
        fault = None
        if self.armory is not None and self.armory.armed:
            fault = self.armory.pick(job.dag, stage, worker_id, launch.query_id,
                                     launch.task.partition, launch.task.attempt)
        ctx = self._contexts.get(launch.query_id)
        memory = {}
        for node in walk(stage.root):
            if isinstance(node, P.MemoryScanExec) and ctx is not None:
                table = ctx.memory_tables.get(node.table)
                if table is not None:
                    memory[node.table] = table_to_bytes(table)
        return pb.TaskAssignment(
            query_id=launch.query_id, stage_id=stage.id, partition=launch.task.partition,
            attempt=launch.task.attempt, stage_plan=self._wire[key],
            inputs=[pb.InputLocation(stage_id=s, partitions=n, producer_addresses=addrs)
                    for s, (n, addrs) in sorted(launch.inputs.items())],
            memory_tables=memory, batch_size=getattr(ctx, "batch_size", 0) or 0,
            collect_metrics=ctx is not None and ctx.metrics is not None,
            memory_limit=getattr(ctx, "memory_limit", 0) or 0,
            spill_limit=getattr(ctx, "spill_limit", 0) or 0,
            chaos_json=fault.to_json() if fault is not None else "")

    def ReportTaskStatus(self, request, context):
        with self.cond:
            w = self.scheduler.workers.get(request.worker_id)
            if w is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"unknown worker {request.worker_id!r}")
            if not identity.owned_by(w, request.instance):
                context.abort(grpc.StatusCode.NOT_FOUND,
                              f"worker id {request.worker_id!r} is owned by another process")
            try:
                metrics = json.loads(request.metrics_json) if request.metrics_json else {}
            except ValueError:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "metrics_json is not JSON")
            if request.ok:
                self._journal_output(request)
            self.scheduler.task_finished(
                request.worker_id, request.query_id,
                TaskId(request.stage_id, request.partition, request.attempt), request.ok,
                time.monotonic(), reason=request.reason, error_class=request.error_class,
                error=request.error_message, rows=request.rows, nbytes=request.bytes,
                seconds=request.seconds, metrics=metrics, failed_address=request.failed_address,
                memory=(request.peak_memory, request.spilled_bytes),
                failed_stage=request.failed_stage, failed_tasks=list(request.failed_tasks),
                why=request.end_reason)
            self.cond.notify_all()
        return pb.ReportTaskStatusResponse()

    def InjectFault(self, request, context):
        if self.armory is None:
            return pb.InjectFaultResponse(
                ok=False, message="this coordinator does not inject faults: start it with --chaos")
        try:
            fault = Fault.from_json(request.fault_json)
        except errors.Error as exc:
            return pb.InjectFaultResponse(ok=False, message=str(exc))
        with self.cond:
            self.armory.arm(fault)
        return pb.InjectFaultResponse(ok=True, message=f"armed {fault.describe()}")

    def _journal_output(self, request) -> None:
        """Write ahead: a completed task's output location, before the
        scheduler counts it (a stale report is not journaled)."""
        job = self.scheduler.jobs.get(request.query_id)
        if job is None or job.done:
            return
        att = job.current.get((request.stage_id, request.partition))
        if att is None or att.worker != request.worker_id or att.attempt != request.attempt:
            return
        self.journal.task_done(request.query_id, request.stage_id, request.partition,
                               request.attempt, request.worker_id,
                               resume.EXCHANGE if self.exchange else request.worker_id,
                               request.rows, request.bytes)

    # -- queries (called by ClusterRunner) -----------------------------------------------
    def journal_query(self, query_id, request_id, sql, dag, schema, ctx, resumable) -> None:
        if not self.journal.enabled:
            return
        from .plan_wire import dag_to_bytes
        self.journal.query_started(query_id, request_id, sql, dag_to_bytes(dag), schema,
                                   getattr(ctx, "batch_size", 0), resumable)

    def submit(self, query_id, dag, ctx, request_id, restore=None, priority: int = 0):
        with self.cond:
            self._contexts[query_id] = ctx
            now = time.monotonic()
            previous = self.scheduler.finished.get(query_id)
            job = self.scheduler.submit(query_id, dag, now, priority=priority)
            if restore is not None:
                job.sched.first_attempt = resume.first_attempt(previous, restore)
            if restore:
                resume.restore_outputs(self.scheduler, job, restore, now)
            self.cond.notify_all()
            return job

    def memory_capacity(self) -> int | None:
        """Bytes each admitted query may commit in all (admission.py): the
        smallest memory pool among alive workers; None if none reported one.
        Called with the lock held."""
        limits = [w.memory_limit for w in self.scheduler.alive_workers() if w.memory_limit > 0]
        return min(limits) if limits else None

    def admit_queued(self) -> None:
        """One pass of the admission queue; wakes the waiters it admitted.
        Called with the lock held."""
        if self.admission.admit(self.memory_capacity(), time.monotonic()):
            self.cond.notify_all()

    def result_address(self, worker_id: str) -> str:
        """Where a client fetches a final partition: its worker, or with a
        shared exchange any alive worker when that one is gone."""
        w = self.scheduler.workers.get(worker_id)
        if self.exchange and (w is None or w.state != "alive"):
            alive = self.scheduler.alive_workers()
            if alive:
                return alive[0].address
        return w.address if w is not None else ""

    def retain(self, query_id: str, state: str, error: str) -> None:
        """A failed or cancelled SELECT: workers stop its tasks but keep its
        outputs for `retention` seconds (RESUME QUERY)."""
        until = time.time() + self.retention
        self.journal.query_ended(query_id, state, error, until)
        with self.cond:
            self.resumable[query_id] = until
            for w in self.scheduler.alive_workers():
                self._stops.setdefault(w.worker_id, set()).add(query_id)
            self.cond.notify_all()
            self._beats.notify_all()

    def kept_queries(self) -> set[str]:
        """Queries whose outputs must stay on the workers."""
        return set(self.scheduler.jobs) | set(self._unreleased) | set(self.resumable)

    def answer(self, request_id: str, resp) -> None:
        """A request's answer, kept for a client that reconnects (AwaitQuery)."""
        data = resp.SerializeToString()
        self.journal.request_done(request_id, data)
        with self.cond:
            self.answers[request_id] = data
            self.cond.notify_all()

    def AwaitQuery(self, request, context):
        deadline = time.monotonic() + min(max(request.wait_seconds, 0.0), MAX_POLL_WAIT)
        rid = request.request_id
        with self.cond:
            while True:
                data = self.answers.get(rid)
                if data is not None:
                    resp = pb.ExecuteQueryResponse()
                    resp.ParseFromString(data)
                    return pb.AwaitQueryResponse(state="done", response=resp)
                if rid not in self.requests and rid not in self.resuming:
                    return pb.AwaitQueryResponse(state="unknown")
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set() or not context.is_active():
                    return pb.AwaitQueryResponse(state="running")
                self.cond.wait(min(left, 0.5))

    def scheduler_cancel(self, query_id: str) -> None:
        with self.cond:
            self.scheduler.cancel(query_id)
            self.cond.notify_all()

    def job_finished(self, query_id: str) -> None:
        with self.cond:
            self.scheduler.retire(query_id)
            self._contexts.pop(query_id, None)
            for key in [k for k in self._wire if k[0] == query_id]:
                del self._wire[key]

    def release(self, query_id: str) -> None:
        """Every alive worker stops the query's tasks and deletes its files
        (told at once: their heartbeat long polls answer)."""
        self.journal.query_forget(query_id)
        with self.cond:
            self._unreleased.pop(query_id, None)
            self.resumable.pop(query_id, None)
            for w in self.scheduler.alive_workers():
                self._drops.setdefault(w.worker_id, set()).add(query_id)
            self.cond.notify_all()
            self._beats.notify_all()

    def hold_result(self, query_id: str) -> None:
        """A streamed result waits for its client's ReleaseQuery, at most result_ttl."""
        with self.cond:
            self._unreleased[query_id] = time.monotonic() + self.result_ttl

    # -- clients -------------------------------------------------------------------
    def ExecuteQuery(self, request, context):
        return self._answered(request, context)

    def _answered(self, request, context, on_partition=None):
        """Run one request and keep its answer for a reconnecting client
        (AwaitQuery), journaled so a restarted coordinator knows it."""
        request_id = request.request_id or uuid.uuid4().hex
        self.journal.request_started(request_id, request.sql)
        with self.cond:
            self.resuming.add(request_id)         # AwaitQuery: being answered
        try:
            resp = self._execute_query(request, context, request_id, on_partition)
            self.answer(request_id, resp)
        finally:
            with self.cond:
                self.resuming.discard(request_id)
        return resp

    def ExecuteQueryStream(self, request, context):
        """ExecuteQuery, but each final partition of a SELECT is announced
        (a response with `more` set) as soon as it finishes; the last
        message is ExecuteQuery's response."""
        import queue
        messages: queue.Queue = queue.Queue()
        sent_schema: list[bool] = []

        def on_partition(query_id, schema, index, address, ticket, rows):
            msg = pb.ExecuteQueryResponse(ok=True, more=True, has_rows=True, query_id=query_id,
                                          statement="SELECT")
            if not sent_schema:
                msg.schema = schema_to_bytes(schema)
                sent_schema.append(True)
            msg.partitions.append(pb.ResultPartition(address=address, ticket=ticket,
                                                     rows=rows, index=index))
            messages.put(msg)

        def run():
            try:
                messages.put(self._answered(request, context, on_partition))
            except BaseException as exc:  # noqa: BLE001 - abort() inside, or a bug
                messages.put(exc)
        threading.Thread(target=run, name="execute-query-stream", daemon=True).start()
        while True:
            msg = messages.get()
            if isinstance(msg, BaseException):
                raise msg
            yield msg
            if not msg.more:
                return

    def _execute_query(self, request, context, request_id, on_partition=None):
        try:
            options = json.loads(request.options_json) if request.options_json else {}
            if not isinstance(options, dict):
                raise ValueError("options must be an object")
            params = params_from_bytes(request.params)
            client_dir = options.pop("client_dir", None)
            if client_dir is not None and not (isinstance(client_dir, str)
                                               and os.path.isabs(client_dir)):
                raise ValueError("client_dir must be an absolute path")
        except Exception as exc:  # noqa: BLE001 - a malformed request, refused
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed ExecuteQuery: {exc}")
        record = QueryRecord(uuid.uuid4().hex[:16], request.sql)
        log.info("query %s started: %s", record.query_id, _one_line(request.sql))
        runner = ClusterRunner(self, request_id, record.query_id)
        runner.on_partition = on_partition
        runner.sql = request.sql
        runner.record = record
        try:
            session = self._session(request.session_id, options, runner)
            runner.session = session
            record.user, record.priority = session.user, session.priority
            with self.cond:
                self.records.append(record)
                self.requests[request_id] = runner
                if self._early_cancels.pop(request_id, False) is None:
                    runner.cancelled.set()          # CancelQuery came first
            if not context.add_callback(runner.cancel):
                runner.cancel()                     # the client is already gone
            with base_directory(client_dir):
                result = session.execute(request.sql, params)
            self.save_catalog()
        except errors.Error as exc:
            record.state, record.error = "failed", str(exc)
            record.seconds = time.time() - record.started
            if isinstance(exc, errors.QueryCancelled):
                record.state = "cancelled"
            log.info("query %s %s after %.2f s: %s: %s", record.query_id, record.state,
                     record.seconds, type(exc).__name__, _one_line(str(exc)))
            return pb.ExecuteQueryResponse(ok=False, error_class=type(exc).__name__,
                                           error_message=str(exc),
                                           query_id=runner.query_ids[-1] if runner.query_ids else "")
        except Exception as exc:  # noqa: BLE001 - never a bare traceback to a client
            record.state, record.error = "failed", str(exc)
            log.exception("query %s failed with an internal error", record.query_id)
            return pb.ExecuteQueryResponse(ok=False, error_class="InternalError",
                                           error_message=f"internal error: {type(exc).__name__}: {exc}")
        finally:
            with self.cond:
                self.requests.pop(request_id, None)
                if self.admission.release(request_id) is not None:
                    self.cond.notify_all()         # its memory and user turn are free
        resp = pb.ExecuteQueryResponse(ok=True, statement=result.statement,
                                       rowcount=result.rowcount, has_rows=result.has_rows)
        if runner.query_ids:
            resp.query_id = runner.query_ids[-1]
        if runner.streamed is not None:
            if context.is_active():
                self.hold_result(runner.streamed)
            else:
                self.release(runner.streamed)       # nobody will fetch it
        if result.has_rows and runner.partitions is not None:
            resp.schema = schema_to_bytes(result.table.schema)
            rows = 0
            for i, (address, ticket, n) in enumerate(runner.partitions):
                resp.partitions.append(pb.ResultPartition(address=address, ticket=ticket, rows=n,
                                                          index=i))
                rows += n
            resp.rowcount = rows
        elif result.has_rows:
            resp.inline_table = table_to_bytes(result.table)
            rows = result.table.num_rows
        else:
            rows = result.rowcount
        record.state, record.rows = "finished", rows if rows >= 0 else None
        record.seconds = time.time() - record.started
        if session.last_memory:
            record.peak_memory = session.last_memory.get("peak")
            record.spilled_bytes = session.last_memory.get("spilled")
        if result.statement == "SET":
            resp.options_json = json.dumps({"memory_limit": session.memory_limit,
                                            "spill_limit": session.spill_limit,
                                            "batch_size": session.batch_size,
                                            "priority": session.priority,
                                            "statement_timeout": session.statement_timeout})
        log.info("query %s finished in %.2f s%s", record.query_id, record.seconds,
                 f", {rows} rows" if rows >= 0 else "")
        return resp

    def _session(self, session_id: str, options: dict, runner) -> CoordinatorSession:
        kwargs = session_options(options)
        # tasks run in many processes: a broadcast build is made in each
        kwargs["physical"].one_process = False
        with self.cond:
            workers = self.scheduler.alive_workers()
            slots = sum(w.slots for w in workers)
            limits = [w.memory_limit for w in workers if w.memory_limit > 0]
        # a broadcast build goes to, and is built once in, every worker, and
        # must fit in the smallest worker's pool
        kwargs["physical"].processes = max(1, len(workers))
        if limits:
            kwargs["physical"].memory_bytes = reservable(min(limits))
        if "target_partitions" not in options and slots:
            # the cluster's task slots, not this machine's CPUs, set how many
            # partitions a stage is cut into
            kwargs["physical"].target_partitions = slots
        catalog = SystemCatalog(self.catalog_for(session_id), self._system)
        kwargs.setdefault("warehouse", os.path.join(self.state_dir, "warehouse"))
        return CoordinatorSession(catalog=catalog, runner=runner, **kwargs)

    def GetQueryStatus(self, request, context):
        with self.cond:
            entry = self.requests.get(request.request_id)
            if entry is None:
                return pb.QueryStatusResponse(state="unknown")
            queued = entry.record is not None and entry.record.state == "queued"
            resp = pb.QueryStatusResponse(state="queued" if queued else "running")
            for qid in entry.query_ids:
                job = self.scheduler.jobs.get(qid)
                if job is not None:
                    sd, s, td, t = job.sched.progress()
                    resp.stages_done += sd
                    resp.stages += s
                    resp.tasks_done += td
                    resp.tasks += t
            return resp

    def CancelQuery(self, request, context):
        with self.cond:
            runner = self.requests.get(request.request_id)
            if runner is None:
                if request.request_id:              # ExecuteQuery may not have arrived yet
                    self._early_cancels[request.request_id] = None
                    while len(self._early_cancels) > EARLY_CANCELS_KEPT:
                        self._early_cancels.popitem(last=False)
                return pb.CancelQueryResponse(found=False)
        runner.cancel()
        return pb.CancelQueryResponse(found=True)

    def ReleaseQuery(self, request, context):
        if request.query_id:
            self.release(request.query_id)
        return pb.ReleaseQueryResponse()

    def RegisterTable(self, request, context):
        if not request.name:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "RegisterTable needs a name")
        catalog = self.catalog_for(request.session_id)
        try:
            if request.table:
                table = table_from_bytes(request.table)
                folder = os.path.join(self.state_dir, "tables",
                                      f"{request.name.lower()}-{uuid.uuid4().hex[:8]}")
                os.makedirs(folder)
                import pyarrow.parquet as pq
                pq.write_table(table, os.path.join(folder, "part-0.parquet"))
                catalog.register_dataset(request.name, folder, replace=request.replace)
            else:
                spec = json.loads(request.location_json)
                pcols = [(n, dt.from_wire(t)) for n, t in spec.get("partition_columns") or []]
                catalog.register_dataset(request.name, spec["location"],
                                         hive_partitioning=spec.get("hive_partitioning"),
                                         partition_columns=pcols or None,
                                         storage_options=spec.get("storage_options") or None,
                                         replace=request.replace)
            self.save_catalog()
        except errors.Error as exc:
            return pb.RegisterTableResponse(ok=False, error_class=type(exc).__name__,
                                            error_message=str(exc))
        except (ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed RegisterTable: {exc}")
        return pb.RegisterTableResponse(ok=True)

    def CloseSession(self, request, context):
        with self.cond:
            self.private.pop(request.session_id, None)
        return pb.CloseSessionResponse()


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
