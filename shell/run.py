"""Run one statement for the shell: in a worker thread, with a live progress
line, and Ctrl-C as cancel.

    runner = QueryRunner(connection, progress_stream=sys.stderr)
    outcome = runner.run("SELECT ...")   # Outcome(table | None, rowcount, seconds, error)

While the query runs the calling (main) thread redraws one line a few times
a second — `stage 1/3 · tasks 5/12 · 2.4 s` — from the scheduler the engine
hands to `connection.session.on_progress` (a cluster session instead
answers `status()`, asked at each redraw) (rows too, `· 1,200 rows`, when
`progress()` returns a fifth number or the scheduler has an int `rows`;
today's StageScheduler counts no rows), and erases it before returning.
Ctrl-C (KeyboardInterrupt in the main thread) calls `connection.cancel()`;
the engine stops the query with QueryCancelled. A second Ctrl-C stops
waiting for it. The outcome never carries a Python exception other than a
`quiver.Error`, or InternalError for anything else.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TextIO

import pyarrow as pa

from .. import errors
from .render import format_seconds

REFRESH_SECONDS = 0.2     # how often the progress line is redrawn
POLL_SECONDS = 0.05       # how often the query thread is checked
QUIET_SECONDS = 0.3       # a query faster than this shows no progress line
CANCEL_GRACE = 10.0       # how long to wait for a cancelled query to stop


@dataclass
class Outcome:
    table: pa.Table | None = None
    rowcount: int = -1
    seconds: float = 0.0
    error: BaseException | None = None
    messages: tuple = ()      # notices from the engine (where CREATE TABLE AS wrote)


class _Progress:
    """What the engine last reported; written by the query thread."""

    def __init__(self):
        self.numbers: tuple | None = None

    def __call__(self, scheduler) -> None:
        try:
            numbers = tuple(scheduler.progress())
            rows = getattr(scheduler, "rows", None)      # if the engine counts them
            if len(numbers) == 4 and isinstance(rows, int):
                numbers += (rows,)
            self.numbers = numbers
        except Exception:          # noqa: BLE001 - progress is best effort
            pass

    def line(self, elapsed: float, cancelling: bool) -> str:
        parts = []
        if self.numbers and len(self.numbers) >= 4:
            sd, s, td, t = self.numbers[:4]
            parts.append(f"stage {sd}/{s}")
            parts.append(f"tasks {td}/{t}")
            if len(self.numbers) >= 5 and self.numbers[4] is not None:
                parts.append(f"{self.numbers[4]:,} rows")
        else:
            parts.append("running")
        parts.append(format_seconds(elapsed))
        text = " · ".join(parts)
        return ("cancelling… " + text) if cancelling else text


class QueryRunner:
    def __init__(self, connection, progress_stream: TextIO | None = None):
        self.connection = connection
        self.progress_stream = progress_stream
        self._shown = False
        self.interrupted = False      # the last run was cancelled by Ctrl-C

    def run(self, sql: str) -> Outcome:
        self.interrupted = False
        outcome = Outcome()
        progress = _Progress()
        session = getattr(self.connection, "session", None)
        hooked = _set_hook(session, progress)

        def work():
            try:
                cur = self.connection.cursor()
                cur.execute(sql)
                if cur.description is not None:
                    outcome.table = cur.fetch_arrow_table()
                    outcome.rowcount = outcome.table.num_rows
                else:
                    outcome.rowcount = cur.rowcount
                outcome.messages = tuple(str(v) for _, v in getattr(cur, "messages", ()))
                cur.close()
            except BaseException as exc:   # noqa: BLE001 - handed to the caller
                outcome.error = exc
            finally:
                done.set()

        done = threading.Event()
        start = time.perf_counter()
        thread = threading.Thread(target=work, name="quiver-shell-query", daemon=True)
        try:
            thread.start()
            self._wait(done, progress, start)
        finally:
            self._erase()
            if hooked:
                _set_hook(session, None)
        outcome.seconds = time.perf_counter() - start
        if outcome.error is not None and not isinstance(outcome.error, errors.Error):
            exc = outcome.error
            outcome.error = errors.InternalError(f"{type(exc).__name__}: {exc}")
        return outcome

    def _wait(self, done: threading.Event, progress: _Progress, start: float) -> None:
        # sleep in small steps rather than Thread.join(): a KeyboardInterrupt
        # landing inside join() can leave the thread looking finished
        cancelling_since = None
        next_draw = start + QUIET_SECONDS
        # the progress drawing is inside the try too: on a loaded machine the
        # status call takes long enough for Ctrl-C to land in it, which then
        # escaped as a bare "interrupted" and left the query running
        while not done.is_set():
            try:
                time.sleep(POLL_SECONDS)
                now = time.perf_counter()
                if cancelling_since is not None and not done.is_set():
                    if now - cancelling_since > CANCEL_GRACE:
                        raise KeyboardInterrupt
                    self._cancel()        # the query may not have been running yet
                now = time.perf_counter()
                if not done.is_set() and now >= next_draw:
                    self._ask_status(progress)
                    self._draw(progress.line(now - start, cancelling_since is not None))
                    next_draw = now + REFRESH_SECONDS
            except KeyboardInterrupt:
                if cancelling_since is not None:
                    raise Abandoned() from None
                cancelling_since = time.perf_counter()
                self.interrupted = True
                self._cancel()

    def _ask_status(self, progress: _Progress) -> None:
        """A cluster connection reports no progress through the hook; its
        session answers `status()` (stages and tasks done) instead."""
        if self.progress_stream is None:
            return
        status = getattr(getattr(self.connection, "session", None), "status", None)
        if status is None:
            return
        try:
            st = status()
        except Exception:            # noqa: BLE001 - progress is best effort
            return
        if isinstance(st, dict) and st.get("state") == "running" and st.get("tasks"):
            progress.numbers = (st["stages_done"], st["stages"], st["tasks_done"], st["tasks"])

    def _cancel(self) -> None:
        try:
            self.connection.cancel()
        except Exception:            # noqa: BLE001 - nothing to cancel yet
            pass

    def _draw(self, text: str) -> None:
        if self.progress_stream is None:
            return
        self.progress_stream.write("\r\x1b[2K" + text)
        self.progress_stream.flush()
        self._shown = True

    def _erase(self) -> None:
        if self._shown and self.progress_stream is not None:
            self.progress_stream.write("\r\x1b[2K")
            self.progress_stream.flush()
        self._shown = False


class Abandoned(KeyboardInterrupt):
    """A second Ctrl-C while a cancelled query was still stopping."""


def _set_hook(session, hook) -> bool:
    if session is None or not hasattr(session, "on_progress"):
        return False
    try:
        session.on_progress = hook
    except Exception:                # noqa: BLE001 - a remote session may refuse
        return False
    return True
