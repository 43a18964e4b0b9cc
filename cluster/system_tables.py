"""`system.workers`, `system.queries`, `system.tasks`: the coordinator's state
as tables, built on demand when a query names them.

Owns `SystemCatalog`, a view over a real catalog that answers
`lookup("system.<name>")` with a fresh in-memory table (a MemoryTable
entry, so it plans as a MemoryScanExec and travels to workers inline with
the task) and delegates everything else, so DDL still reaches the real
catalog and `SHOW TABLES` lists only user tables.
"""

from __future__ import annotations

import time

import pyarrow as pa

from ..storage.catalog import TableEntry
from ..storage.memory import MemoryTable

WORKERS_SCHEMA = pa.schema([
    ("worker_id", pa.string()), ("address", pa.string()), ("state", pa.string()),
    ("slots", pa.int64()), ("running_tasks", pa.int64()), ("tasks_completed", pa.int64()),
    ("tasks_failed", pa.int64()), ("local_roots", pa.string()),
    ("seconds_since_heartbeat", pa.float64())])

QUERIES_SCHEMA = pa.schema([
    ("query_id", pa.string()), ("sql", pa.string()), ("state", pa.string()),
    ("started", pa.timestamp("us")), ("seconds", pa.float64()), ("rows", pa.int64()),
    ("error", pa.string()), ("peak_memory", pa.int64()), ("spilled_bytes", pa.int64()),
    ("resumable", pa.bool_()), ("resumable_until", pa.timestamp("us")),
    ("user", pa.string()), ("priority", pa.int64()), ("queued_seconds", pa.float64())])

TASKS_SCHEMA = pa.schema([
    ("query_id", pa.string()), ("stage", pa.int64()), ("task", pa.int64()),
    ("attempt", pa.int64()), ("worker_id", pa.string()), ("state", pa.string()),
    ("rows", pa.int64()), ("bytes", pa.int64()), ("seconds", pa.float64()),
    ("error", pa.string()), ("ended_by", pa.string()),
    ("started", pa.timestamp("us")), ("ended", pa.timestamp("us"))])


def workers_table(scheduler, now: float) -> pa.Table:
    ws = sorted(scheduler.workers.values(), key=lambda w: w.worker_id)
    return pa.table({
        "worker_id": [w.worker_id for w in ws],
        "address": [w.address for w in ws],
        "state": [w.state for w in ws],
        "slots": [w.slots for w in ws],
        "running_tasks": [len(w.running) for w in ws],
        "tasks_completed": [w.tasks_completed for w in ws],
        "tasks_failed": [w.tasks_failed for w in ws],
        "local_roots": [",".join(w.local_roots) for w in ws],
        "seconds_since_heartbeat": [max(0.0, now - w.last_seen) for w in ws],
    }, schema=WORKERS_SCHEMA)


def _timestamps(seconds) -> pa.Array:
    """Epoch seconds (None: NULL) as a timestamp column."""
    return pa.array([None if t is None else int(t * 1e6) for t in seconds],
                    pa.int64()).cast(pa.timestamp("us"))


def queries_table(records, resumable: dict | None = None, now: float | None = None) -> pa.Table:
    """`resumable`: query id -> until when (epoch seconds) its outputs are kept.
    `queued_seconds` is how long a query waited for admission (state
    `queued`: so far, as of `now`, epoch seconds)."""
    resumable = resumable or {}
    now = time.time() if now is None else now
    until = [resumable.get(r.query_id) for r in records]
    return pa.table({
        "query_id": [r.query_id for r in records],
        "sql": [r.sql for r in records],
        "state": [r.state for r in records],
        "started": _timestamps([r.started for r in records]),
        "seconds": [r.seconds for r in records],
        "rows": [r.rows for r in records],
        "error": [r.error for r in records],
        "peak_memory": [r.peak_memory for r in records],
        "spilled_bytes": [r.spilled_bytes for r in records],
        "resumable": [u is not None for u in until],
        "resumable_until": _timestamps(until),
        "user": [r.user or None for r in records],
        "priority": [r.priority for r in records],
        "queued_seconds": [r.waited(now) for r in records],
    }, schema=QUERIES_SCHEMA)


def tasks_table(jobs) -> pa.Table:
    """`started`/`ended` (a query's timeline) are the coordinator's
    monotonic times of the attempt, shown on the wall clock."""
    rows = [(j.query_id, a) for j in jobs for a in j.attempts]
    offset = time.time() - time.monotonic()
    return pa.table({
        "query_id": [q for q, _ in rows],
        "stage": [a.stage for _, a in rows],
        "task": [a.partition for _, a in rows],
        "attempt": [a.attempt for _, a in rows],
        "worker_id": [a.worker for _, a in rows],
        "state": [a.state for _, a in rows],
        "rows": [a.rows for _, a in rows],
        "bytes": [a.bytes for _, a in rows],
        "seconds": [a.seconds for _, a in rows],
        "error": [a.error for _, a in rows],
        "ended_by": [getattr(a, "why", "") or None for _, a in rows],
        "started": _timestamps([a.started + offset for _, a in rows]),
        "ended": _timestamps([None if a.ended is None else a.ended + offset for _, a in rows]),
    }, schema=TASKS_SCHEMA)


class SystemCatalog:
    """A catalog view adding `system.*` tables produced by `provider(name)`."""

    def __init__(self, base, provider):
        self._base = base
        self._provider = provider
        self._tables: dict[str, pa.Table] = {}

    def lookup(self, name: str):
        key = name.lower()
        if key.startswith("system."):
            table = self._provider(key[len("system."):])
            if table is None:
                return None
            self._tables[key] = table
            return TableEntry(key, "memory", None, {}, MemoryTable(key, table))
        return self._base.lookup(name)

    def system_tables(self) -> list[str]:
        """The names (without `system.`) of the system tables."""
        return list(SYSTEM_TABLES)

    def memory_tables(self) -> dict[str, pa.Table]:
        out = dict(self._base.memory_tables())
        out.update(self._tables)
        return out

    def __contains__(self, name: str) -> bool:
        return self.lookup(name) is not None

    def __getattr__(self, name):
        return getattr(self._base, name)


SYSTEM_TABLES = ("queries", "tasks", "workers")


def system_table(name: str, coordinator) -> pa.Table | None:
    if name == "workers":
        return workers_table(coordinator.scheduler, time.monotonic())
    if name == "queries":
        return queries_table(list(coordinator.records), dict(coordinator.resumable))
    if name == "tasks":
        sched = coordinator.scheduler
        return tasks_table(list(sched.finished.values()) + list(sched.jobs.values()))
    return None
