"""Replaying the query journal when a coordinator starts.

`replay(coord)`: called by Coordinator.start, before serving. Workers of the
journal come back as `recovering` (they re-register within the heartbeat
timeout, keeping their outputs, or are declared lost); a streamed SELECT
that was running resumes in a background driver, its completed tasks
restored rather than rerun, and its answer waits for the client's
AwaitQuery; a statement that cannot resume (DDL, CREATE TABLE AS, a query
over in-memory tables) gets an OperationalError answer saying so; finished
results wait for their client again; failed or cancelled queries stay
resumable until their retention ends.

Why a module of its own: a replayed query runs again through a
ClusterRunner (cluster_runner.py), and the ClusterRunner uses resume.py
(RESUME QUERY, which plans can resume). With the replay in resume.py the two
imported each other; here, above both, neither imports back.
"""

from __future__ import annotations

import threading
import time

from .. import errors
from ..executor.context import ExecContext
from .cluster_runner import ClusterRunner


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
