"""Speculative execution: a backup attempt for a straggler.

When every task of a stage has been launched and one still runs after
`multiplier` times the median time of the stage's finished tasks (and at
least `min_seconds`), a worker asking for work that does not run it gets a
second attempt of it (`backups`). Whichever attempt reports success first
wins (`settle`): its output is the task's, the other is marked cancelled
("speculative loser") and its later report is ignored, its output never
read (the query's files go when the query is dropped). A failed or lost
attempt with a twin still running just ends: the twin carries on
(`survive`), so speculation never costs a retry.

Plain functions over ClusterScheduler state (`job.backups`: (stage,
partition) -> the backup Attempt; `job.current` holds the original), called
from cluster_scheduler.py; no threads, no sockets.
"""

from __future__ import annotations

import statistics


DEFAULT_MULTIPLIER = 3.0
DEFAULT_MIN_SECONDS = 5.0


def backups(cs, job, w, free: int, now: float) -> list:
    """Backup launches for worker `w` (at most `free`)."""
    out: list = []
    if free <= 0 or not cs.speculation:
        return out
    # only an attempt running for min_seconds can be a straggler: look no
    # further (no walk over the running, no median) while there is none
    oldest = job.current.oldest()
    if oldest is None or now - oldest < cs.speculation_min_seconds:
        return out
    old = sorted(((s, p), att) for (s, p), att in job.current.items()
                 if now - att.started >= cs.speculation_min_seconds
                 and att.worker != w.worker_id and (s, p) not in job.backups)
    if not old:
        return out
    waiting = {t.stage for t, _ in job.pending}
    medians: dict[int, float] = {}
    for (s, p), att in old:
        if len(out) >= free:
            break
        done = job.durations.get(s)        # seconds of the stage's succeeded attempts
        if s in waiting or not done or 2 * len(done) < job.dag.stage(s).tasks:
            continue
        if s not in medians:
            medians[s] = statistics.median(done)
        if now - att.started < max(cs.speculation_multiplier * medians[s],
                                   cs.speculation_min_seconds):
            continue
        task = job.sched.next_attempt(s, p)
        out.append(cs._launch(job, w, task, now, backup=True))
    return out


def settle(cs, job, key, worker_id: str, attempt: int, ok: bool, now: float,
           why: str = "") -> bool | None:
    """A report for a task with a backup. Returns None when the normal path
    goes on (the reporter is now `job.current[key]`), else whether the
    report was taken (True) or is stale (False)."""
    backup, orig = job.backups.get(key), job.current.get(key)
    if backup is None:
        return None
    mine = [a for a in (orig, backup)
            if a is not None and a.worker == worker_id and a.attempt == attempt]
    if not mine:
        return False
    reporter = mine[0]
    other = backup if reporter is orig else orig
    del job.backups[key]
    job.current[key] = reporter
    if ok:
        if other is not None:
            _end(cs, job, key, other, "cancelled", "speculative loser", now)
        if reporter is backup:
            reporter.why = "speculative winner"
        return None
    cs.workers[worker_id].running.discard((job.query_id, *key))
    reporter.state, reporter.ended = "failed", now
    reporter.why = why or "speculative twin failed"
    if other is not None:
        job.current[key] = other
    return True


def survive(cs, job, key, worker_id: str, now: float, state: str, why: str) -> bool:
    """An attempt of `key` on `worker_id` is lost or stalled: when its twin
    runs elsewhere, end just that attempt and return True."""
    backup, orig = job.backups.get(key), job.current.get(key)
    if backup is None:
        return False
    if backup.worker == worker_id:
        del job.backups[key]
        _end(cs, job, key, backup, state, why, now)
        return True
    if orig is not None and orig.worker == worker_id:
        del job.backups[key]
        job.current[key] = backup
        _end(cs, job, key, orig, state, why, now)
        return True
    return False


def _end(cs, job, key, att, state: str, why: str, now: float) -> None:
    att.state, att.ended, att.why = state, now, why
    w = cs.workers.get(att.worker)
    if w is not None:
        w.running.discard((job.query_id, *key))
