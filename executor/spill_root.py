"""Where a process's spill files go when no spill_dir is given, and removing
what killed processes left there.

A query removes its spill folders when it ends, but a process that is
killed (SIGKILL, the OOM killer, a SIGTERM it does not handle) cannot: a
killed TPC-H query at SF100 left 16 GB in /tmp. So by default all of a
process's spill folders live under one folder named with its PID,
`<tmp>/quiver-spill-<pid>-<random>`, removed when the process exits; the
first query that needs it removes such folders of processes that no longer
run. (A worker spills under its own data folder, cleaned by its lifeline.)
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading

PREFIX = "quiver-spill-"
_NAME = re.compile(re.escape(PREFIX) + r"(\d+)-")
_LOCK = threading.Lock()
_root: str | None = None


def default_spill_dir() -> str:
    """This process's spill folder (made, and stale ones swept, on first use)."""
    global _root
    with _LOCK:
        if _root is None or not os.path.isdir(_root):
            sweep_stale(tempfile.gettempdir())
            _root = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
            atexit.register(shutil.rmtree, _root, ignore_errors=True)
        return _root


def sweep_stale(folder: str) -> list[str]:
    """Remove the spill folders under `folder` whose process is gone; the
    names removed."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _NAME.match(name)
        if m is None or _alive(int(m.group(1))):
            continue
        shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
        removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:           # someone else's process: alive
        return True
    return True
