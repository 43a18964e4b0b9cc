"""The process's memory pool: one limit, reservations per query and operator.

Every operator that holds data across batches (hash join build, aggregation,
sort, window partitions, shuffle buffers, stage outputs) holds it through a
`Reservation` from the one `MemoryPool` of its process (`process_pool()`),
as DuckDB's buffer manager and DataFusion's `MemoryReservation` do:

    res = ctx.reserve("HashAggregate")          # or pool.reservation(owner, query_id)
    if not res.try_grow(batch.nbytes):
        spill(); res.resize(0)                  # write what it holds as Arrow IPC
        res.grow(batch.nbytes)                  # still refused: MemoryLimitExceeded
    ...
    res.free()                                  # or `with res:`

A reservation counts against the pool's limit and, when it belongs to a
query, against that query's own limit (the session's `memory_limit`, which
travels with the query to every worker). The pool keeps the peak of both and
the bytes each query spilled (for EXPLAIN ANALYZE and system.queries); an
optional per-query spill limit stops a runaway query that would fill the disk.

Data passing through a pipeline one batch at a time is not reserved: only
what an operator keeps past the batch it is working on.

This module owns accounting only; it never spills anything itself.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field

from ..allocator import libc_function
from ..errors import MemoryLimitExceeded, ProgrammingError, SpillLimitExceeded

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
          "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
          "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")
# What reservations may fill of a limit. A limit is the process's: it also
# holds the interpreter and its libraries (PROCESS_FOOTPRINT: 270-340 MiB
# measured with the kernels loaded), which operators cannot use, and batches
# passing through pipelines one at a time, allocator slack and the like, which
# no reservation counts (the other fifth). TPC-H SF10 Q21 under 2 GB: 2.54 GiB
# peak RSS when operators could fill all 2 GB, 2.36-2.50 with four fifths.
RESERVABLE_SHARE = 0.8
PROCESS_FOOTPRINT = 384 << 20
GROW_WAIT_SECONDS = 2.0       # how long a refused grow() waits for other holders to free
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*%\s*$")


def parse_size(value) -> int:
    """Bytes from an int or text: '4GB', '512MB', '64KB', '1.5GiB', '4096',
    '50%' (of the machine's RAM). Units are powers of 1024 (KB = KiB)."""
    if isinstance(value, bool):
        raise ProgrammingError(f"memory size must be bytes or text like '4GB', not {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise ProgrammingError(f"memory size must be positive, not {value}")
        return value
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    if not isinstance(value, str):
        raise ProgrammingError(f"memory size must be bytes or text like '4GB', not {value!r}")
    m = _PERCENT.match(value)
    if m:
        share = float(m.group(1))
        if not 0 < share <= 100:
            raise ProgrammingError(f"memory share {value!r} must be between 0% and 100%")
        return max(1, int(total_memory() * share / 100))
    m = _SIZE.match(value)
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _UNITS:
        raise ProgrammingError(
            f"cannot read memory size {value!r}: use bytes or a number with KB, MB, GB or TB "
            "(e.g. '4GB', '512MB')")
    n = int(float(m.group(1)) * _UNITS[unit])
    if n <= 0:
        raise ProgrammingError(f"memory size must be positive, not {value!r}")
    return n


def format_size(n: int) -> str:
    """'1.5 GiB', '64.0 KiB', '12 bytes'."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if abs(n) >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} bytes"


def total_memory() -> int:
    """The machine's RAM, or the cgroup's limit when the process has a smaller one."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 << 30
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
            if text.isdigit() and 0 < int(text) < ram:
                ram = int(text)
        except OSError:
            continue
    return ram


def reservable(limit: int) -> int:
    """The bytes reservations may hold under `limit`: RESERVABLE_SHARE of
    what the process's own footprint leaves. The footprint counts in full from
    1.375 GiB up and fades out towards 1 GiB, so small limits (tests, the
    verification matrix's 128 KB) keep four fifths."""
    footprint = min(PROCESS_FOOTPRINT, max(0, limit - (1 << 30)))
    return max(1, int((limit - footprint) * RESERVABLE_SHARE))


# freed pages are handed back this long after the last query ended, unless
# another query started meanwhile (it reuses them instead of faulting in new
# ones: releasing at every query's end made the next query fault its memory
# in again, ~250K page faults and 19% of the CPU time, as kernel time, over
# TPC-H SF10 Q7, Q9 and Q1)
IDLE_RELEASE_SECONDS = 1.0


class _IdleRelease:
    """The one thread that hands freed pages back once the process has been
    idle for a moment: a query's (or task's) end sets when, the next start
    calls it off. One thread for the process's life, started at the first
    end: a threading.Timer per end took ~0.5 ms to start on this busy
    2-core machine (0.17 of 1.5 s in a cProfile of 200 small queries), once
    per query and once per cluster task, and left sleeping timers behind."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: float | None = None        # monotonic time of the release, if any
        self._thread: threading.Thread | None = None

    def schedule(self, delay: float | None) -> None:
        with self._cond:
            if delay is None:
                self._due = None              # the waiting thread sees it when it wakes
                return
            self._due = time.monotonic() + delay
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="quiver-idle-release",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    due = self._due
                    if due is None:
                        self._cond.wait()
                        continue
                    left = due - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                self._due = None
            release_unused_memory()


_idle_release = _IdleRelease()


def note_work_started() -> None:
    """A query (or a worker's task) starts: a release scheduled by
    release_when_idle is off."""
    _idle_release.schedule(None)


def release_when_idle(delay: float = IDLE_RELEASE_SECONDS) -> None:
    """release_unused_memory() in `delay` seconds, unless work starts
    before then (note_work_started); a later call moves the time."""
    _idle_release.schedule(delay)


def resident_bytes() -> int | None:
    """This process's resident memory (Linux: /proc/self/statm), else None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_unused_memory(above: int | None = None) -> None:
    """Hand memory freed by finished work back to the system. Arrow's
    allocator (jemalloc, or mimalloc which does not give its pages back:
    allocator.py) and glibc's malloc (numpy's arrays) keep freed pages for
    reuse, so a process would otherwise stay at the resident size of its
    largest stage long after it (~200 MB between TPC-H queries at SF10).

    With `above`, only when the process holds more than that many resident
    bytes: between the stages of a query the next stage reuses the pages
    instead of faulting fresh ones in (releasing after every stage made
    page faults 19% of TPC-H SF10's CPU time, as kernel time)."""
    if above is not None:
        resident = resident_bytes()
        if resident is not None and resident <= above:
            return
    import pyarrow as pa
    pa.default_memory_pool().release_unused()
    trim = libc_function("malloc_trim")
    if trim is not None:
        trim(0)


def folder_bytes(folders: list[str]) -> tuple[int, set[str]]:
    """Bytes of the files under `folders`, and the folders that are gone."""
    total, gone = 0, set()
    for folder in folders:
        if not os.path.isdir(folder):
            gone.add(folder)
            continue
        for root, _dirs, files in os.walk(folder):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except OSError:           # removed while we looked
                    pass
    return total, gone


# a query without a spill_limit may fill this share of the disk space that is
# free when it first spills, then fails with SpillLimitExceeded instead of
# filling the disk (DuckDB's max_temp_directory_size is 90% of it too)
DISK_SHARE = 0.9


def disk_budget(folder: str) -> int | None:
    """DISK_SHARE of the free space on `folder`'s disk (None: not known)."""
    try:
        return int(DISK_SHARE * shutil.disk_usage(folder).free)
    except OSError:
        return None


def default_limit() -> int:
    """The default pool limit: 80% of the machine's memory (DuckDB's default)."""
    return int(total_memory() * 0.8)


@dataclass
class QueryMemory:
    """One query's share of a pool: its own limit, what it holds, its peak,
    and the bytes it spilled."""
    query_id: object
    limit: int | None = None
    spill_limit: int | None = None
    reserved: int = 0
    peak: int = 0
    spilled: int = 0
    users: int = 0          # contexts registered under this id (a worker's tasks of one query)
    spillers: list = field(default_factory=list)   # callables freeing cheap buffers: fn(n) -> None
    # stage -> [reserved, peak]: what the stage's reservations held at once
    # (a sum of each reservation's own peak overstates a stage whose tasks
    # take turns: 334 GiB for TPC-H Q3 at SF30 under a 4GB limit)
    stages: dict = field(default_factory=dict)
    # the spill limit is about disk: the folders its spill files are in, what
    # they held when last measured, and the bytes written (spilled) then
    spill_folders: list = field(default_factory=list)
    on_disk: int = 0
    measured_at: int = 0
    # without a spill_limit: DISK_SHARE of the space free on the disk of the
    # query's first spill folder when it made it (None: nothing spilled yet)
    disk_budget: int | None = None
    disk_folder: str = ""


class MemoryPool:
    """One limit for the whole process; thread-safe."""

    def __init__(self, limit: int | str | None = None):
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)   # notified whenever bytes are freed
        self.limit = parse_size(limit) if limit is not None else default_limit()
        self.reserved = 0
        self.peak = 0
        self._queries: dict[object, QueryMemory] = {}

    def set_limit(self, n) -> None:
        with self._lock:
            self.limit = parse_size(n)

    def reservation(self, owner: str, query_id=None, stage=None) -> "Reservation":
        return Reservation(self, owner, query_id, stage)

    # -- queries -------------------------------------------------------------
    def register_query(self, query_id, limit=None, spill_limit=None) -> QueryMemory:
        """Start accounting a query (its limit caps it below the pool's).
        Registering an id again (another task of the query) updates its
        limits and keeps its counters until every registration is released."""
        with self._lock:
            q = self._queries.get(query_id)
            if q is None:
                q = self._queries[query_id] = QueryMemory(query_id)
            q.users += 1
            q.limit = parse_size(limit) if limit is not None else None
            q.spill_limit = parse_size(spill_limit) if spill_limit is not None else None
            return q

    def query(self, query_id) -> QueryMemory | None:
        with self._lock:
            return self._queries.get(query_id)

    def release_query(self, query_id) -> QueryMemory | None:
        """Drop one registration; the last forgets the query. Returns its counters."""
        with self._lock:
            q = self._queries.get(query_id)
            if q is not None:
                q.users -= 1
                if q.users <= 0:
                    del self._queries[query_id]
            return q

    def stage_peaks(self, q: QueryMemory) -> dict:
        """{stage: the most the query's reservations in that stage held at once}."""
        with self._lock:
            return {k: v[1] for k, v in q.stages.items()}

    def add_spiller(self, query_id, fn) -> None:
        """Register `fn(n)`: spill up to `n` bytes of the query's buffers to
        disk and free their reservation (called from any thread)."""
        with self._lock:
            q = self._queries.get(query_id)
            if q is not None:
                q.spillers.append(fn)

    def remove_spillers(self, query_id, fns: list) -> None:
        """Forget spillers given to add_spiller (their buffers are gone)."""
        with self._lock:
            q = self._queries.get(query_id)
            if q is not None:
                q.spillers = [f for f in q.spillers if f not in fns]

    def reclaim(self, query_id, n: int) -> bool:
        """Ask the query's buffers to spill; True if any memory came free."""
        with self._lock:
            q = self._queries.get(query_id) if query_id is not None else None
            spillers = list(q.spillers) if q is not None else []
            before = self.reserved
        for fn in spillers:
            fn(n)
        with self._lock:
            return self.reserved < before

    # -- used by Reservation ---------------------------------------------------
    @property
    def reservable(self) -> int:
        """What reservations may hold in all: RESERVABLE_SHARE of the limit."""
        return reservable(self.limit)

    def _try_grow(self, res: "Reservation", n: int) -> bool:
        with self._lock:
            if self.reserved + n > reservable(self.limit):
                return False
            q = self._queries.get(res.query_id) if res.query_id is not None else None
            if q is not None:
                if q.limit is not None and q.reserved + n > reservable(q.limit):
                    return False
                q.reserved += n
                q.peak = max(q.peak, q.reserved)
                st = q.stages.get(res.stage)
                if st is None:
                    st = q.stages[res.stage] = [0, 0]
                st[0] += n
                st[1] = max(st[1], st[0])
            self.reserved += n
            self.peak = max(self.peak, self.reserved)
            res._size += n
            res.peak = max(res.peak, res._size)
            return True

    def _shrink(self, res: "Reservation", n: int) -> None:
        with self._lock:
            n = min(n, res._size)
            res._size -= n
            self.reserved -= n
            self._freed.notify_all()
            q = self._queries.get(res.query_id) if res.query_id is not None else None
            if q is not None:
                q.reserved = max(0, q.reserved - n)
                st = q.stages.get(res.stage)
                if st is not None:
                    st[0] = max(0, st[0] - n)

    def add_spill_folder(self, query_id, folder: str) -> None:
        """A folder the query's spill files go in (what its spill limit
        measures). The first one also fixes the query's disk budget."""
        with self._lock:
            q = self._queries.get(query_id)
            if q is None:
                return
            q.spill_folders.append(folder)
            if q.disk_budget is not None:
                return
        budget = disk_budget(folder)            # a system call: outside the lock
        with self._lock:
            if q.disk_budget is None and budget is not None:
                q.disk_budget, q.disk_folder = budget, folder

    def _spilled(self, res: "Reservation", n: int) -> None:
        """Count `n` bytes written. The spill limit holds the query's spill
        files on disk at once, not all it ever wrote (a grace join removes
        each level's files; counting writes stopped TPC-H Q3 at SF100 with
        most of them gone): past the limit by the bytes written since the
        last measure, the query's folders are measured (SpillLimitExceeded
        if they hold more)."""
        with self._lock:
            res.spilled += n
            q = self._queries.get(res.query_id) if res.query_id is not None else None
            if q is None:
                return
            q.spilled += n
            limit = q.spill_limit if q.spill_limit is not None else q.disk_budget
            if limit is None or q.on_disk + (q.spilled - q.measured_at) <= limit:
                return
            folders, written = list(q.spill_folders), q.spilled
            explicit, where = q.spill_limit is not None, q.disk_folder
        on_disk, gone = folder_bytes(folders) if folders else (written, set())
        with self._lock:
            q.on_disk, q.measured_at = on_disk, written
            if gone:                      # removed by their operators: stop looking
                q.spill_folders = [f for f in q.spill_folders if f not in gone]
        if on_disk <= limit:
            return
        held = (f"{res.where()} has {format_size(on_disk)} of spill files on disk "
                f"({format_size(written)} written in all)")
        if explicit:
            raise SpillLimitExceeded(f"{held}, over the query's spill limit of "
                                     f"{format_size(limit)}")
        raise SpillLimitExceeded(
            f"{held}, over {format_size(limit)}: {int(DISK_SHARE * 100)}% of the disk space "
            f"that was free under {os.path.dirname(where) or where} when the query began to "
            "spill (a full disk fails every program on it). Free some space, point "
            "spill_dir at a larger disk, raise memory_limit, or set spill_limit")

    def _refusal(self, res: "Reservation", n: int) -> MemoryLimitExceeded:
        with self._lock:
            q = self._queries.get(res.query_id) if res.query_id is not None else None
            if q is not None and q.limit is not None \
                    and q.reserved + n > reservable(q.limit) and q.limit <= self.limit:
                held = (f"the query holds {format_size(q.reserved)} of its memory_limit "
                        f"{format_size(q.limit)}")
            else:
                held = (f"the process holds {format_size(self.reserved)} of its memory_limit "
                        f"{format_size(self.limit)}")
        return MemoryLimitExceeded(
            f"out of memory: {res.where()} asked for {n} bytes ({format_size(n)}) more "
            f"while holding {format_size(res.size)}, even after spilling; {held}. "
            "Raise memory_limit (SET memory_limit = '8GB') or make the query smaller")


class Reservation:
    """Bytes one operator (of one query, in one stage) holds from the pool."""

    def __init__(self, pool: MemoryPool, owner: str, query_id=None, stage=None):
        self.pool, self.owner, self.query_id, self.stage = pool, owner, query_id, stage
        self.freed_by_owner = False    # a shared value's: its owner frees it, not close()
        self._size = 0
        self.peak = 0
        self.spilled = 0

    @property
    def size(self) -> int:
        return self._size

    def where(self) -> str:
        return self.owner + (f" in stage {self.stage}" if self.stage is not None else "")

    def try_grow(self, n: int) -> bool:
        """Hold `n` more bytes if the pool (and the query) allow it."""
        n = int(n)
        if n <= 0:
            return True
        return self.pool._try_grow(self, n)

    def grow(self, n: int) -> None:
        """Hold `n` more bytes or raise MemoryLimitExceeded (call it after
        spilling whatever the operator could). Before refusing, the query's
        cheap buffers (stage outputs, shuffle buffers) are asked to spill."""
        if self.try_grow(n):
            return
        if self.pool.reclaim(self.query_id, int(n)) and self.try_grow(n):
            return
        # other tasks may free what they hold soon (a stage's parallel tasks
        # share the query's limit): wait for that, boundedly, before failing
        deadline = time.monotonic() + GROW_WAIT_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            with self.pool._freed:
                if self.pool.reserved - self._size <= 0:
                    break                  # nobody else holds anything: waiting cannot help
                self.pool._freed.wait(min(left, 0.05))
            if self.try_grow(n):
                return
        raise self.pool._refusal(self, int(n))

    def shrink(self, n: int) -> None:
        if n > 0:
            self.pool._shrink(self, int(n))

    def resize(self, n: int) -> None:
        """Hold exactly `n` bytes (growing raises MemoryLimitExceeded when refused)."""
        n = int(n)
        if n > self._size:
            self.grow(n - self._size)
        elif n < self._size:
            self.shrink(self._size - n)

    def try_resize(self, n: int) -> bool:
        n = int(n)
        if n > self._size:
            return self.try_grow(n - self._size)
        self.shrink(self._size - n)
        return True

    def record_spill(self, nbytes: int) -> None:
        """Count bytes written to the spill folder (raises SpillLimitExceeded
        past the query's spill limit)."""
        if nbytes > 0:
            self.pool._spilled(self, int(nbytes))

    def free(self) -> None:
        self.shrink(self._size)

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(self, *exc) -> None:
        self.free()

    def __repr__(self) -> str:
        return f"Reservation({self.where()}, {self._size} bytes)"


_PROCESS_POOL: MemoryPool | None = None
_PROCESS_LOCK = threading.Lock()


def process_pool() -> MemoryPool:
    """The one pool of this process (the embedded engine's, or a worker's).
    Its limit starts at QUIVER_MEMORY_LIMIT when set, else default_limit()."""
    global _PROCESS_POOL
    with _PROCESS_LOCK:
        if _PROCESS_POOL is None:
            _PROCESS_POOL = MemoryPool(os.environ.get("QUIVER_MEMORY_LIMIT") or None)
        return _PROCESS_POOL
