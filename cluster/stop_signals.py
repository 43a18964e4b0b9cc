"""How a long-running cluster command waits for its end: `until_signal()`
blocks until `stop_event` is set, which SIGTERM and SIGINT do once
`catch_stop_signals()` has been called (the coordinator, worker and local
commands call it; `quiver serve` does not, so there the signals keep
Python's default handling).

Why a module of its own: the cluster commands (commands.py) and `quiver
serve` (flight_sql_service.py) both wait this way, and `quiver coordinator
--flight-sql-port` starts the Flight SQL endpoint from commands.py. With the
waiting in commands.py the two modules imported each other; here, below
both, they do not.
"""

from __future__ import annotations

import signal
import threading

from . import lifeline


stop_event = threading.Event()   # set by SIGTERM / SIGINT once caught


def _on_stop_signal(signum, frame) -> None:
    stop_event.set()


def catch_stop_signals() -> None:
    """SIGTERM and SIGINT (also what a lifeline sends when the owner of a
    local cluster is gone) end `until_signal` instead of the process, so
    the command stops cleanly, even when one arrives during start-up."""
    signal.signal(signal.SIGTERM, _on_stop_signal)
    signal.signal(signal.SIGINT, _on_stop_signal)
    lifeline.arm()


def until_signal() -> None:
    """Block until stop_event is set."""
    while not stop_event.wait(0.5):
        pass
