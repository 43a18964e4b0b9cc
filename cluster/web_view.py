"""A live web view of a coordinator: running and recent queries, each
query's stage DAG with per-stage progress, and the workers with their load.

    quiver coordinator --port 7070 --web-port 7071      # http://127.0.0.1:7071/
    quiver local --workers 2 --web-port 7071

Owns a small HTTP server (stdlib, one thread per request) with two routes:
`/` the page (plain HTML, an inline SVG drawing, a script that polls), and
`/api/state` the coordinator's state as JSON. With a token set, both need it:
`Authorization: Bearer TOKEN`, or `?token=TOKEN` in the URL for a browser
(the page passes it on to its polls).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from ..planner import physical as P
from ..planner.tree import walk
from .security import token_ok
from .web_page import PAGE

RECENT_QUERIES = 30


def _operators(root) -> str:
    """A stage's operators, top-down, as a short label (e.g. 'HashAggregate <- Scan')."""
    names = []
    for node in walk(root):
        name = type(node).__name__.removesuffix("Exec")
        if name not in ("ShuffleWrite",) and name not in names:
            names.append(name)
    return " / ".join(names[:4])


def _stage_progress(job) -> list[dict]:
    out = []
    for stage in job.dag.stages:
        attempts = [a for a in job.attempts if a.stage == stage.id]
        done = {a.partition for a in attempts if a.state == "succeeded"}
        running = {a.partition for a in attempts if a.state == "running"}
        out.append({
            "id": stage.id, "inputs": list(stage.inputs), "tasks": stage.tasks,
            "done": len(done), "running": len(running),
            "rows": sum(a.rows for a in attempts if a.state == "succeeded"),
            "bytes": sum(a.bytes for a in attempts if a.state == "succeeded"),
            "spilled": sum(int((a.metrics or {}).get("spilled_bytes", 0) or 0)
                           for a in attempts if isinstance(a.metrics, dict)),
            "retried": sum(1 for a in attempts if a.attempt > 0),
            "failed": sum(1 for a in attempts if a.state in ("failed", "lost")),
            "final": stage.id == job.dag.final.id,
            "operators": _operators(stage.root),
            "scans": sum(1 for n in walk(stage.root) if isinstance(n, P.ParquetScanExec)),
        })
    return out


def state(coordinator) -> dict:
    """The coordinator's state as JSON-able data (taken under its lock)."""
    now_wall, now = time.time(), time.monotonic()
    with coordinator.cond:
        sched = coordinator.scheduler
        records = list(coordinator.records)[-RECENT_QUERIES:]
        jobs = {**{q: j for q, j in sched.finished.items()}, **dict(sched.jobs)}
        workers = [{
            "worker_id": w.worker_id, "address": w.address, "state": w.state,
            "slots": w.slots, "running": len(w.running), "completed": w.tasks_completed,
            "failed": w.tasks_failed, "heartbeat_age": round(max(0.0, now - w.last_seen), 1),
        } for w in sorted(sched.workers.values(), key=lambda w: w.worker_id)]
        queries = []
        for r in reversed(records):
            mine = [j for q, j in jobs.items() if q == r.query_id or q.startswith(r.query_id + "-")]
            queries.append({
                "query_id": r.query_id, "sql": r.sql, "state": r.state,
                "seconds": round(r.seconds if r.seconds is not None else now_wall - r.started, 2),
                "rows": r.rows, "error": r.error,
                "dags": [{"job": j.query_id, "stages": _stage_progress(j)} for j in mine],
            })
    return {"now": now_wall, "workers": workers, "queries": queries}


class _Handler(BaseHTTPRequestHandler):
    coordinator = None
    token: str | None = None

    def log_message(self, fmt, *args):      # quiet: the coordinator has its own log
        pass

    def _authorized(self, query: dict) -> bool:
        if not self.token:
            return True
        header = self.headers.get("Authorization", "")
        given = header[len("Bearer "):] if header.startswith("Bearer ") else None
        if given is None:
            given = (query.get("token") or [None])[0]
        return token_ok(self.token, given)

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - the stdlib's name
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if not self._authorized(query):
            self._send(401, b"a valid token is required (?token=... or "
                            b"Authorization: Bearer ...)\n", "text/plain")
            return
        if url.path == "/":
            self._send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif url.path == "/api/state":
            body = json.dumps(state(self.coordinator), default=str).encode()
            self._send(200, body, "application/json")
        else:
            self._send(404, b"not found\n", "text/plain")


class WebView:
    def __init__(self, coordinator, host: str = "127.0.0.1", port: int = 0):
        handler = type("Handler", (_Handler,), {"coordinator": coordinator,
                                                 "token": coordinator.token})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="web-view")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> "WebView":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
