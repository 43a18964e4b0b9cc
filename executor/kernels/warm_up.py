"""numba made ready in the background, for processes that wait for a person.

A process's first kernel call costs about half a second of CPU: importing
numba, setting up its CPU target, loading the kernel from the cache
(jit.py defers all of it to that call). In a fresh shell, TPC-H SF1 Q6
typed after two seconds at the prompt took 1.0-1.3 s; with this thread,
0.54-0.69 s (its second run takes 0.12 s).
The interactive shell starts this thread while the person types; nobody
waits for it, and a query that needs numba meanwhile simply waits for
jit's lock.
"""

from __future__ import annotations

import threading

import numpy as np

from .dictionary_indices import map_indices

_lock = threading.Lock()
_thread: threading.Thread | None = None


def warm_up_in_background() -> threading.Thread:
    """Start (once per process) a daemon thread that calls one small cached
    kernel; returns that thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_warm_up, name="quiver-numba-warm-up",
                                       daemon=True)
            _thread.start()
        return _thread


def _warm_up() -> None:
    try:
        map_indices(np.zeros(1, dtype=np.int32), np.zeros(1, dtype=np.int64))
    except Exception:  # noqa: BLE001 - a warm-up that fails leaves the first query to pay
        pass
