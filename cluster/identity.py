"""Worker identity that survives coordinator restarts without collisions.

A worker is a worker id plus an *instance*: a random string each worker
process draws once at start and sends with every call. Rules:

- an id the coordinator hands out has a random part (`w3-5f1c2a`), so a
  restarted coordinator never gives a new worker the id an old one still
  uses; a worker may ask for a name (`--name w1`);
- a call whose instance differs from the one registered under that id is
  refused NOT_FOUND ("owned by another process"), so the worker registers
  again instead of heartbeating under someone else's id;
- a worker registering again (`rejoin`, e.g. after a coordinator restart)
  asks for the id it had; it gets it back if the id is free or still its
  own (same instance), else a fresh one. A first registration with a name
  an alive worker holds replaces that worker (it is a restarted process);
- the same process coming back (same id, same instance) keeps its outputs:
  it lists the shuffle outputs it holds, and an output the coordinator
  counted on that it no longer lists is lost (its producer reruns). Its
  tasks that were running are failed and rerun: the worker stopped them
  when it re-registered. Held outputs of queries nobody needs any more are
  named in the reply, and the worker deletes them.

`register(coord, request, now) -> (worker_id, drop_queries)` runs under the
coordinator's lock.
"""

from __future__ import annotations

import secrets

from .cluster_scheduler import WORKER_LOST


def owned_by(worker, instance: str) -> bool:
    """Whether calls carrying `instance` may act as this worker (an empty
    instance, from an older worker, is trusted)."""
    return not instance or not worker.instance or worker.instance == instance


def _fresh_id(sched, base: str = "") -> str:
    n = sum(1 for _ in sched.workers) + 1
    while True:
        wid = f"{base or f'w{n}'}-{secrets.token_hex(3)}"
        if wid not in sched.workers:
            return wid


def register(coord, request, now: float) -> tuple[str, list[str]]:
    sched = coord.scheduler
    name = request.name
    old = sched.workers.get(name) if name else None
    if not name:
        wid = _fresh_id(sched)
    elif (old is None or old.state not in ("alive", "recovering")
          or old.instance == request.instance or not request.rejoin):
        wid = name
    else:
        wid = _fresh_id(sched, name)        # another process holds that id
    old = sched.workers.get(wid)
    same = old is not None and request.instance and old.instance == request.instance
    held = {(o.query_id, o.stage_id, o.task) for o in request.held_outputs}
    if same:
        _rejoin(sched, old, request, held, now)
        w = old
    else:
        if old is not None and old.state == "recovering":
            old.state = "alive"              # so add_worker declares it lost
        w = sched.add_worker(wid, request.flight_address, request.slots,
                             list(request.local_roots), now, memory_limit=request.memory_limit)
        _outputs_not_held(sched, w.worker_id, held)
    w.instance = request.instance
    coord.journal.worker_registered(wid, request.instance, request.flight_address,
                                    request.slots, list(request.local_roots))
    keep = coord.kept_queries()
    drops = sorted({q for q, _, _ in held} - keep)
    return wid, drops


def _rejoin(sched, w, request, held, now) -> None:
    """The same process registers again: its running tasks were stopped (fail
    them, retryable), its outputs stay unless it no longer holds them."""
    if w.state == "alive":
        for job in list(sched.jobs.values()):
            if job.done:
                continue
            for (q, s, p) in list(w.running):
                if q == job.query_id:
                    sched._fail(job, w, s, p, WORKER_LOST, "OperationalError",
                                f"worker {w.worker_id} restarted its tasks", now,
                                attempt_state="lost")
    w.running.clear()
    w.state = "alive"
    w.address = request.flight_address
    w.slots = max(1, request.slots)
    w.memory_limit = max(0, request.memory_limit)
    w.last_seen = now
    _outputs_not_held(sched, w.worker_id, held)


def _outputs_not_held(sched, worker_id: str, held: set) -> None:
    """Outputs the jobs place on this worker that it does not hold are lost."""
    if sched.exchange_address is not None:
        return
    for job in sched.jobs.values():
        if job.done:
            continue
        missing = [(s, p) for (s, p), wid in job.outputs.items()
                   if wid == worker_id and (job.query_id, s, p) not in held]
        for (s, p) in sorted(missing, reverse=True):
            del job.outputs[(s, p)]
            if sched._still_needed(job, s):
                job.sched.output_lost(s, [p])


def expire_recovering(sched, now: float, timeout: float) -> list[str]:
    """Workers known from the journal that did not come back in time are lost."""
    out = []
    for w in list(sched.workers.values()):
        if w.state == "recovering" and now - w.last_seen > timeout:
            w.state = "alive"
            sched.worker_lost(w.worker_id, now)
            out.append(w.worker_id)
    return out
