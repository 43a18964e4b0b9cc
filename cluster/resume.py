"""Coming back: the state folder, restoring a query's completed tasks, and
`RESUME QUERY 'id'`. Replaying the journal when a coordinator starts is
journal_replay.py.

- `default_state_dir()`: `$QUIVER_HOME` or `~/.quiver` (persistent; a temp
  folder only when asked). `lock_state_dir(path)`: one coordinator per folder.
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
import time

from .. import errors
from ..executor.scheduler import TaskId
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
        job.sched.task_succeeded(TaskId(stage, part, attempt), wid)   # keeps its counts
        job.outputs[(stage, part)] = wid
        job.attempts.append(Attempt(stage, part, attempt, wid, now, ended=now,
                                    state="restored", rows=nrows, bytes=nbytes))
        n += 1
    return n


def first_attempt(previous, rows) -> int:
    """Where a resumed run's attempt numbers start: past every attempt of
    the earlier run (`previous`, its retired job if still kept) and of the
    restored outputs, so that no late report of that run matches one of
    the new attempts."""
    seen = [a.attempt for a in previous.attempts] if previous is not None else []
    seen += [row[2] for row in rows]
    return max(seen, default=-1) + 1


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
