"""Peak resident memory of a process tree, sampled from /proc (Linux).

Owns `PeakRSS`: a thread samples the resident set size of a process and all
its descendants (a local cluster's coordinator and workers are children of
the client) every `interval` seconds and keeps the largest sum. On start it
resets each process's kernel high-water mark (`/proc/PID/clear_refs`, value
5), and at the end the root's own high-water mark (`VmHWM`) is taken too, so
a spike shorter than the sampling interval in the root process still counts.
`largest` is the largest resident size any one process of the tree
reached (a cluster's busiest worker: a memory limit is per process). Without
/proc (not Linux) the peaks are None. No psutil. `tree_cpu_seconds`
gives the tree's CPU time, which a busy shared machine disturbs less than
wall time.

    with PeakRSS() as peak:
        run_query()
    peak.bytes          # None when it could not be measured
    peak.largest        # the largest single process's peak
"""

from __future__ import annotations

import os
import threading
import time

_PROC = "/proc"
# the tree is walked again after this many seconds: a walk reads every
# thread's children file (1.5 ms of CPU for a local[2] tree of 68 threads,
# 15% of a core at one sample per 10 ms, taken from the engine it measures);
# in between, samples read only the known processes' sizes
TREE_SECONDS = 0.1


def _status_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"{_PROC}/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"{_PROC}/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"{_PROC}/{pid}/task/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
    return out


def process_tree(pid: int) -> list[int]:
    """`pid` and every descendant still alive."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(_children(p))
    return seen


def tree_rss(pid: int) -> int | None:
    """Resident bytes of `pid` and its descendants now; None without /proc."""
    sizes = process_rss(pid)
    return sum(sizes.values()) if sizes else None


def process_rss(pid: int, key: str = "VmRSS") -> dict[int, int]:
    """Resident bytes (or, with key="VmHWM", each one's high-water mark) of
    `pid` and of each descendant, by PID; empty without /proc."""
    return _sizes(process_tree(pid), key)


def _sizes(pids: list[int], key: str = "VmRSS") -> dict[int, int]:
    out = {}
    for p in pids:
        kib = _status_kib(p, key)
        if kib is not None:
            out[p] = kib * 1024
    return out


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by `pid` and its live
    descendants (fields 14 and 15 of /proc/PID/stat); None without /proc."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, any_ok = 0, False
    for p in process_tree(pid):
        try:
            with open(f"{_PROC}/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            any_ok = True
        except (OSError, ValueError, IndexError):
            continue
    return total / tick if any_ok else None


def _reset_hwm(pid: int) -> None:
    try:
        with open(f"{_PROC}/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class PeakRSS:
    """The peak resident memory of a process tree while the block runs."""

    def __init__(self, pid: int | None = None, interval: float = 0.01):
        self.pid = os.getpid() if pid is None else pid
        self.interval = interval
        self.bytes: int | None = None
        self.largest: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hwm_reset = False
        self._hwm_before: int | None = None

    def start(self) -> "PeakRSS":
        self._hwm_before = _status_kib(self.pid, "VmHWM")
        for p in process_tree(self.pid):
            _reset_hwm(p)
        self.bytes = tree_rss(self.pid)
        self.largest = None
        before = _status_kib(self.pid, "VmRSS")
        hwm, rss = _status_kib(self.pid, "VmHWM"), _status_kib(self.pid, "VmRSS")
        # the high-water mark is only this block's when the reset worked; other
        # threads may allocate between the reads, so allow a few MiB of drift
        self._hwm_reset = (hwm is not None and rss is not None and before is not None
                           and hwm <= max(rss, before) + 8192)
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        pids, walked = [], None
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            if walked is None or now - walked >= TREE_SECONDS:
                pids, walked = process_tree(self.pid), now
            self._note_sizes(list(_sizes(pids).values()))

    def _note_tree(self) -> None:
        self._note_sizes(list(process_rss(self.pid).values()))

    def _note_sizes(self, sizes: list[int]) -> None:
        """One sample: the resident bytes of each process of the tree."""
        if sizes:
            self._note(sum(sizes))
            self._note_one(max(sizes))

    def _note(self, value: int | None) -> None:
        if value is not None and (self.bytes is None or value > self.bytes):
            self.bytes = value

    def _note_one(self, value: int | None) -> None:
        if value is not None and (self.largest is None or value > self.largest):
            self.largest = value

    def stop(self) -> int | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._note_tree()
        if self._hwm_reset:    # every process's own mark counts spikes between samples
            marks = process_rss(self.pid, "VmHWM")
            self._note_one(max(marks.values()) if marks else None)
        hwm = _status_kib(self.pid, "VmHWM")
        # the mark is this block's when the reset worked, or when the block set
        # a new high (a kernel that refuses clear_refs keeps the old mark)
        if hwm is not None and (self._hwm_reset or (self._hwm_before is not None
                                                    and hwm > self._hwm_before)):
            self._note(hwm * 1024)
            self._note_one(hwm * 1024)
        return self.bytes

    def __enter__(self) -> "PeakRSS":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
