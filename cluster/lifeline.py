"""Processes that die with the program that started them, and temp folders
that go with them.

Owns both sides of "a local cluster never outlives its owner" (the program
that called `quiver.connect("local[N]")`, or `quiver local`):

- the child side, `arm()`, called first thing by `quiver coordinator` and
  `quiver worker`: when the owner set `QUIVER_LIFELINE` in the child's
  environment, the child
  * on Linux asks for SIGTERM when its parent dies (`prctl(PR_SET_PDEATHSIG)`
    through ctypes), but only if the owner spawned it from its main thread:
    the kernel sends that signal when the spawning *thread* exits, and a
    worker thread that opened a connection may well end before the program;
  * watches its stdin, a pipe whose write end only the owner holds: it
    reaches EOF when the owner ends in any way (close, exit, crash, SIGKILL),
    on every platform. Either way the child stops as if sent SIGTERM, and
    exits hard if that takes longer than GRACE seconds.
- the owner side: `child_env(env)` marks a child's environment and
  `Reaper(root)` starts `python -m quiver.cluster.lifeline ROOT`, a small
  process that is told each child's PID and, once the owner is gone or done
  (its stdin reaches EOF), ends any child still running (SIGTERM, then
  SIGKILL) and removes the cluster's temp folder. The owner cannot do that
  itself when it is SIGKILLed; the children cannot either, since each one
  writes into the folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

ENV = "QUIVER_LIFELINE"
GRACE = 10.0              # seconds a child may take to stop once its owner is gone
PR_SET_PDEATHSIG = 1


# --- child side -----------------------------------------------------------------

def child_env(env: dict) -> dict:
    """`env` marked so that the child arms its lifeline (the child's stdin
    must be a pipe the owner keeps open: subprocess.PIPE, never written)."""
    main = threading.current_thread() is threading.main_thread()
    env = dict(env)
    env[ENV] = f"{os.getpid()}:{1 if main else 0}"
    return env


def arm() -> bool:
    """In a child started with `child_env`: stop when the owner goes. Returns
    whether a lifeline was armed (False when run by hand)."""
    spec = os.environ.pop(ENV, "")
    if not spec:
        return False
    owner, _, pdeath = spec.partition(":")
    if pdeath == "1" and sys.platform.startswith("linux"):
        _set_parent_death_signal()
    if str(os.getppid()) != owner:           # the owner died before we got here
        _owner_gone()
    threading.Thread(target=_watch_stdin, name="quiver-lifeline", daemon=True).start()
    return True


def _set_parent_death_signal() -> None:
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass                                 # the stdin watcher still holds


def _watch_stdin() -> None:
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    _owner_gone()


def _owner_gone() -> None:
    """Stop as SIGTERM would (the command's handler shuts down cleanly), and
    exit hard if that does not happen within GRACE seconds."""
    timer = threading.Timer(GRACE, os._exit, (1,))
    timer.daemon = True
    timer.start()
    os.kill(os.getpid(), signal.SIGTERM)


# --- owner side -----------------------------------------------------------------

class Reaper:
    """The owner's handle on its reaper process (see the module docstring)."""

    def __init__(self, root: str, remove_root: bool):
        args = [sys.executable, "-m", "quiver.cluster.lifeline", root]
        if remove_root:
            args.append("--remove-root")
        self.popen = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)

    def watch(self, pid: int) -> None:
        try:
            self.popen.stdin.write(f"{pid}\n".encode())
            self.popen.stdin.flush()
        except (OSError, ValueError):
            pass

    def keep_root(self) -> None:
        """Do not remove the folder after all (it holds logs an error names)."""
        try:
            self.popen.stdin.write(b"keep\n")
            self.popen.stdin.flush()
        except (OSError, ValueError):
            pass

    def close(self, timeout: float = 30.0) -> None:
        """The owner is done: the reaper ends stragglers, removes the folder
        and exits (waited for, at most `timeout` seconds)."""
        try:
            self.popen.stdin.close()
        except OSError:
            pass
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, waiting for its parent to reap it, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _ours(pid: int, root: str) -> bool:
    """A PID we were told about still names our folder (not a reused PID)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return root.encode() in f.read()
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")      # no /proc: trust the PID
    except OSError:
        return False


def _reap(root: str, pids: list[int]) -> None:
    live = [p for p in pids if alive(p) and _ours(p, root)]
    for sig, wait in ((signal.SIGTERM, GRACE + 2), (signal.SIGKILL, 5.0)):
        for p in live:
            try:
                os.kill(p, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while live and time.monotonic() < deadline:
            time.sleep(0.05)
            live = [p for p in live if alive(p)]
        if not live:
            return


class _Terminated(Exception):
    pass


def _terminated(signum, frame):
    raise _Terminated


def main(argv: list[str]) -> int:
    root, remove = argv[0], "--remove-root" in argv[1:]
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C at a terminal reaches the
    signal.signal(signal.SIGTERM, _terminated)       # whole group: the owner decides
    pids: list[int] = []
    try:
        for line in sys.stdin:                         # EOF: the owner is done or gone
            if line.strip().isdigit():
                pids.append(int(line))
            elif line.strip() == "keep":
                remove = False
    except (OSError, _Terminated):
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _reap(root, pids)
    if remove:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
