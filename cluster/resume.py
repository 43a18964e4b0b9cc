"""Coming back: the state folder, replaying the journal when a coordinator
starts, restoring a query's completed tasks, and `RESUME QUERY 'id'`.

- `default_state_dir()`: `$QUIVER_HOME` or `~/.quiver` (persistent; a temp
  folder only when asked). `lock_state_dir(path)`: one coordinator per folder.
- `replay(coord)`: at start, before serving. Workers of the journal come
  back as `recovering` (they re-register within the heartbeat timeout,
  keeping their outputs, or are declared lost); a streamed SELECT that was
  running resumes in a background driver, its completed tasks restored
  rather than rerun, and its answer waits for the client's AwaitQuery; a
  statement that cannot resume (DDL, CREATE TABLE AS, a query over
  in-memory tables) gets an OperationalError answer saying so; finished
  results wait for their client again; failed or cancelled queries stay
  resumable until their retention ends.
- `restore_outputs(sched, job, rows, now)`: marks the journal's completed
  tasks done (attempt state `restored` in system.tasks), for outputs whose
  worker is alive or recovering, or that lie in the shared exchange.
- `prepare_resume(coord, query_id)`: checks a RESUME request and returns
  what the session needs to run it again under the same query id (so the
  kept shuffle files are found).
"""

from __future__ import annotations

import os
import re
import threading
import time

from .. import errors
from ..executor.context import ExecContext
from ..planner import physical as P
from ..planner.tree import walk
from .cluster_scheduler import Attempt

RESUME_RE = re.compile(r"^\s*resume\s+query\s+'([^']*)'\s*;?\s*$", re.I | re.S)
QUERY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EXCHANGE = "exchange"          # the location of an output in the shared exchange


def default_state_dir() -> str:
    return os.path.abspath(os.environ.get("QUIVER_HOME")
                           or os.path.join(os.path.expanduser("~"), ".quiver"))


def lock_state_dir(path: str):
    """Hold an exclusive lock on the folder for this process's life."""
    import fcntl
    f = open(os.path.join(path, "coordinator.lock"), "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        owner = f.read().strip() or "?"
        f.close()
        raise errors.OperationalError(
            f"state folder {path} is in use by another coordinator (pid {owner}); "
            "give this one its own --state-dir") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def is_resumable(dag) -> bool:
    """A plan that reads in-memory tables (system.*) cannot run again later."""
    return not any(isinstance(n, P.MemoryScanExec) for s in dag.stages for n in walk(s.root))


def restore_outputs(sched, job, rows, now: float) -> int:
    n = 0
    for stage, part, attempt, wid, location, nrows, nbytes in rows:
        st = job.sched.tasks.get((stage, part))
        if st is None:
            continue
        if location != EXCHANGE or sched.exchange_address is None:
            w = sched.workers.get(wid)
            if w is None or w.state not in ("alive", "recovering"):
                continue
        st.status, st.worker = "done", wid
        st.attempts = max(st.attempts, attempt + 1)
        job.outputs[(stage, part)] = wid
        job.attempts.append(Attempt(stage, part, attempt, wid, now, ended=now,
                                    state="restored", rows=nrows, bytes=nbytes))
        n += 1
    return n


def replay(coord) -> None:
    """Called once by Coordinator.start, before it serves."""
    from .plan_wire import dag_from_bytes
    from .proto import quiver_pb2 as pb
    journal, sched = coord.journal, coord.scheduler
    if not journal.enabled:
        return
    now, wall = time.monotonic(), time.time()
    for wid, instance, address, slots, roots in journal.workers():
        w = sched.add_worker(wid, address, slots, roots, now)
        w.state, w.instance = "recovering", instance
    resuming: dict[str, dict] = {}
    for q in journal.queries():
        qid, state = q["query_id"], q["state"]
        if state == "running" and q["resumable"] and q["plan"]:
            try:
                q["dag"] = dag_from_bytes(q["plan"])
                resuming[q["request_id"]] = q
                continue
            except errors.Error:
                pass
        if state == "running":
            journal.query_ended(qid, "failed", "interrupted by a coordinator restart")
            journal.query_forget(qid)
        elif state == "finished":
            coord._unreleased[qid] = now + coord.result_ttl
        elif q["keep_until"] and q["keep_until"] > wall and q["resumable"]:
            coord.resumable[qid] = q["keep_until"]
            coord.records.append(_record(q, state, q["error"]))
        else:
            journal.query_forget(qid)
    for rid, sql, state, response in journal.requests():
        if state == "done" and response:
            coord.answers[rid] = response
        elif rid in resuming:
            coord.resuming.add(rid)
        else:
            resp = pb.ExecuteQueryResponse(
                ok=False, error_class="OperationalError",
                error_message="the coordinator restarted while running this statement, "
                              "which cannot resume (only a SELECT can): run it again")
            coord.answer(rid, resp)
    for rid, q in resuming.items():
        threading.Thread(target=_drive, args=(coord, q), name=f"quiver-resume-{q['query_id']}",
                         daemon=True).start()


def _record(q, state, error=None):
    from ..session import QueryRecord
    r = QueryRecord(q["query_id"], q["sql"] or "", state=state, error=error)
    r.started = q["started"] or time.time()
    return r


def _drive(coord, q) -> None:
    """Run a replayed query to its end; its answer goes to AwaitQuery."""
    from .cluster_runner import ClusterRunner
    from .proto import quiver_pb2 as pb
    qid, rid = q["query_id"], q["request_id"]
    record = _record(q, "running")
    runner = ClusterRunner(coord, rid, base_id=qid)
    runner.stream, runner.sql = True, q["sql"] or ""
    with coord.cond:
        coord.records.append(record)
        coord.requests[rid] = runner          # CancelQuery and status reach it
    runner.restore = coord.journal.outputs(qid)
    runner.schema_bytes = q["schema"]
    ctx = ExecContext()
    if q["batch_size"]:
        ctx.batch_size = q["batch_size"]
    try:
        runner(q["dag"], ctx)
        resp = pb.ExecuteQueryResponse(ok=True, statement="SELECT", has_rows=True,
                                       schema=q["schema"] or b"", query_id=qid)
        rows = 0
        for address, ticket, n in runner.partitions or []:
            resp.partitions.append(pb.ResultPartition(address=address, ticket=ticket, rows=n))
            rows += n
        resp.rowcount = rows
        record.state, record.rows = "finished", rows
        coord.hold_result(qid)
    except errors.Error as exc:
        resp = pb.ExecuteQueryResponse(ok=False, error_class=type(exc).__name__,
                                       error_message=str(exc))
        record.state, record.error = ("cancelled" if isinstance(exc, errors.QueryCancelled)
                                      else "failed"), str(exc)
    except Exception as exc:  # noqa: BLE001 - answered, never a traceback
        resp = pb.ExecuteQueryResponse(ok=False, error_class="InternalError",
                                       error_message=f"internal error: {exc}")
        record.state, record.error = "failed", str(exc)
    record.seconds = time.time() - record.started
    coord.answer(rid, resp)
    with coord.cond:
        coord.resuming.discard(rid)
        coord.requests.pop(rid, None)


def prepare_resume(coord, query_id: str):
    """(dag, schema bytes, restored rows) for RESUME QUERY, or a clear error."""
    from .plan_wire import dag_from_bytes
    if not QUERY_ID_RE.match(query_id):
        raise errors.ProgrammingError(f"RESUME QUERY: {query_id!r} is not a query id")
    with coord.cond:
        if query_id in coord.scheduler.jobs:
            raise errors.ProgrammingError(f"query {query_id} is still running")
        q = coord.journal.query(query_id)
        if q is None:
            raise errors.ProgrammingError(
                f"RESUME QUERY: no query {query_id!r} to resume (unknown, released, or "
                "its outputs were deleted after their retention time)")
        if q["state"] == "finished":
            raise errors.ProgrammingError(f"query {query_id} finished: nothing to resume")
        if not q["resumable"]:
            raise errors.NotSupportedError(
                f"query {query_id} cannot be resumed (only a SELECT over stored tables can)")
        if q["keep_until"] is not None and q["keep_until"] < time.time():
            raise errors.ProgrammingError(
                f"query {query_id}'s outputs were kept until "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(q['keep_until']))} UTC "
                "and are gone")
        coord.resumable.pop(query_id, None)
        coord.journal.query_ended(query_id, "running")
        rows = coord.journal.outputs(query_id)
    return dag_from_bytes(q["plan"]), q["schema"], rows
