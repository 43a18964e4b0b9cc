"""A query's time limit: `statement_timeout` (connect option or SET).

A timer started with the query cancels it when the limit passes, the same
way a user's cancel does (ctx.cancelled: tasks stop at their next batch, a
cluster query is cancelled on its workers), but records why, so the error
the user gets says the query ran out of time, not that someone cancelled
it: QueryTimedOut, an OperationalError. The timer goes when the query ends.
"""

from __future__ import annotations

import re
import threading

from ..errors import ProgrammingError, QueryCancelled, QueryTimedOut

_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
          "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
          "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
          "h": 3600.0, "hour": 3600.0, "hours": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")
_REASON = "_cancel_error"        # ctx.options key: the error a cancel stands for


def parse_duration(value) -> float | None:
    """Seconds from 30, 2.5, '30s', '500ms', '5min', '1h' or '2 minutes';
    None, 0 or '0' mean no limit (as PostgreSQL's statement_timeout)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value)) if isinstance(value, str) else None
        if m is None or m.group(2).lower() not in _UNITS:
            raise ProgrammingError(
                f"statement_timeout must be a duration such as 30, '30s', '500ms', '5min' "
                f"or '1h', not {value!r}")
        seconds = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if seconds < 0:
        raise ProgrammingError(f"statement_timeout cannot be negative, not {value!r}")
    return seconds or None


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} min"


def arm(ctx, seconds: float | None) -> None:
    """Cancel the query of `ctx` as timed out after `seconds` (None: never)."""
    if not seconds:
        return

    def expire() -> None:
        ctx.options[_REASON] = (
            f"query stopped after running longer than statement_timeout = "
            f"{format_duration(seconds)}; raise it (SET statement_timeout = '10min') "
            "or RESET statement_timeout for no limit")
        ctx.cancelled.set()
    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.name = "quiver-statement-timeout"
    timer.start()
    ctx.add_cleanup(timer.cancel)


def cancelled_error(ctx) -> QueryCancelled:
    """The error a cancelled query of `ctx` ends with: QueryTimedOut when
    its time limit cancelled it, else QueryCancelled."""
    reason = ctx.options.get(_REASON) if ctx is not None else None
    if reason is not None:
        return QueryTimedOut(reason)
    return QueryCancelled("query cancelled")
