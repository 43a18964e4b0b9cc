"""The coordinator's query journal: what it must remember across a restart.

One SQLite database in the state folder (`journal.sqlite`), written ahead of
the scheduler acting on each fact:

- `requests`: every client ExecuteQuery by its request id, and once it is
  answered the answer itself (the ExecuteQueryResponse bytes), so a client
  whose call broke can ask for it again (AwaitQuery) after a restart;
- `queries`: each query the coordinator ran, with its plan in the versioned
  wire form the workers receive (codec JSON of the whole StageDag), the
  result schema, its state and, once it ended without being released, until
  when its stage outputs are kept (RESUME);
- `outputs`: each completed task's output location (the worker, or the
  exchange), rows and bytes, recorded before the scheduler marks it done;
- `workers`: id, process instance and address of each registered worker.

Compaction: a query's rows are deleted when it is released (its client
fetched the result) or its retention ends; a request's row when its answer
was fetched or it is older than its ttl. So the file holds only what is in
flight or resumable.

Why SQLite rather than append-only files: each fact is one small
transaction that survives a killed process (WAL mode, synchronous=NORMAL:
a commit is in the log before `commit()` returns; a power loss may drop the
last commits, a process kill does not); replay is a few SELECTs instead of
re-reading and folding a log; compaction is a DELETE, never a rewrite of a
file a crash could cut in half; and it ships with Python. Its cost is one
small write per task completion (measured in the durable note).

`Journal(None)` journals nothing (`--no-journal`, for measuring its cost).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests(
  request_id TEXT PRIMARY KEY, sql TEXT, state TEXT, response BLOB, updated REAL);
CREATE TABLE IF NOT EXISTS queries(
  query_id TEXT PRIMARY KEY, request_id TEXT, sql TEXT, plan BLOB, schema BLOB,
  batch_size INTEGER, resumable INTEGER, state TEXT, error TEXT, started REAL,
  keep_until REAL);
CREATE TABLE IF NOT EXISTS outputs(
  query_id TEXT, stage INTEGER, part INTEGER, attempt INTEGER, worker_id TEXT,
  location TEXT, rows INTEGER, bytes INTEGER, PRIMARY KEY(query_id, stage, part));
CREATE TABLE IF NOT EXISTS workers(
  worker_id TEXT PRIMARY KEY, instance TEXT, address TEXT, slots INTEGER,
  local_roots TEXT);
"""


class Journal:
    def __init__(self, path: str | None):
        self.path = path
        self._lock = threading.Lock()
        self._db = None
        if path is None:
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def _run(self, sql: str, args=()) -> None:
        if self._db is None:
            return
        with self._lock:
            self._db.execute(sql, args)

    def _all(self, sql: str, args=()) -> list[tuple]:
        if self._db is None:
            return []
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
                self._db = None

    # -- requests ----------------------------------------------------------------
    def request_started(self, request_id: str, sql: str) -> None:
        self._run("INSERT OR REPLACE INTO requests VALUES (?, ?, 'running', NULL, ?)",
                  (request_id, sql, time.time()))

    def request_done(self, request_id: str, response: bytes) -> None:
        self._run("UPDATE requests SET state='done', response=?, updated=? WHERE request_id=?",
                  (response, time.time(), request_id))

    def request_forget(self, request_id: str) -> None:
        self._run("DELETE FROM requests WHERE request_id=?", (request_id,))

    def requests_older_than(self, when: float) -> None:
        self._run("DELETE FROM requests WHERE state='done' AND updated < ?", (when,))

    # -- queries -----------------------------------------------------------------
    def query_started(self, query_id: str, request_id: str, sql: str, plan: bytes,
                      schema: bytes | None, batch_size: int, resumable: bool) -> None:
        self._run("INSERT OR REPLACE INTO queries VALUES (?, ?, ?, ?, ?, ?, ?, 'running', NULL, ?, NULL)",
                  (query_id, request_id, sql, plan, schema, batch_size or 0, int(resumable),
                   time.time()))

    def task_done(self, query_id: str, stage: int, part: int, attempt: int, worker_id: str,
                  location: str, rows: int, nbytes: int) -> None:
        self._run("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (query_id, stage, part, attempt, worker_id, location, rows, nbytes))

    def output_lost(self, query_id: str, stage: int, part: int) -> None:
        self._run("DELETE FROM outputs WHERE query_id=? AND stage=? AND part=?",
                  (query_id, stage, part))

    def query_ended(self, query_id: str, state: str, error: str | None = None,
                    keep_until: float | None = None) -> None:
        self._run("UPDATE queries SET state=?, error=?, keep_until=? WHERE query_id=?",
                  (state, error, keep_until, query_id))

    def query_forget(self, query_id: str) -> None:
        if self._db is None:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM outputs WHERE query_id=?", (query_id,))
            self._db.execute("DELETE FROM queries WHERE query_id=?", (query_id,))
            self._db.execute("COMMIT")

    def query(self, query_id: str) -> dict | None:
        rows = self._all("SELECT query_id, request_id, sql, plan, schema, batch_size, resumable, "
                         "state, error, started, keep_until FROM queries WHERE query_id=?",
                         (query_id,))
        return _query_row(rows[0]) if rows else None

    def queries(self) -> list[dict]:
        return [_query_row(r) for r in self._all(
            "SELECT query_id, request_id, sql, plan, schema, batch_size, resumable, state, "
            "error, started, keep_until FROM queries ORDER BY started")]

    def outputs(self, query_id: str) -> list[tuple]:
        """[(stage, part, attempt, worker_id, location, rows, bytes)]"""
        return self._all("SELECT stage, part, attempt, worker_id, location, rows, bytes "
                         "FROM outputs WHERE query_id=? ORDER BY stage, part", (query_id,))

    # -- workers -----------------------------------------------------------------
    def worker_registered(self, worker_id: str, instance: str, address: str, slots: int,
                          local_roots) -> None:
        self._run("INSERT OR REPLACE INTO workers VALUES (?, ?, ?, ?, ?)",
                  (worker_id, instance, address, slots, json.dumps(list(local_roots))))

    def worker_forget(self, worker_id: str) -> None:
        self._run("DELETE FROM workers WHERE worker_id=?", (worker_id,))

    def workers(self) -> list[tuple[str, str, str, int, list]]:
        return [(w, i, a, s, json.loads(r or "[]")) for w, i, a, s, r in
                self._all("SELECT worker_id, instance, address, slots, local_roots FROM workers")]

    def requests(self) -> list[tuple[str, str, str, bytes | None]]:
        return self._all("SELECT request_id, sql, state, response FROM requests")


def _query_row(r) -> dict:
    keys = ("query_id", "request_id", "sql", "plan", "schema", "batch_size", "resumable",
            "state", "error", "started", "keep_until")
    return dict(zip(keys, r))
