"""What a running task can see: configuration, the shuffle store, in-process
tables, metrics, the cancel flag, and the query's share of the process
memory pool. One ExecContext per query (shared by that query's tasks in this
process); `ctx.reserve(owner, node)` is the one door to memory, and
`ctx.close()` frees whatever the query still holds."""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .memory import MemoryPool, Reservation, parse_size, process_pool, reservable
from .shared_builds import SharedBuilds
from .spill_root import default_spill_dir

# Rows per batch. Per-batch costs (Python between kernels, a key
# encoder's pass over a batch's few distinct values, a filter's per-batch
# setup) are paid per batch, and 64 Ki cut Parquet row groups of ~113K rows
# (TPC-H as tpchgen writes it) in two: TPC-H SF1 total 4.2 -> 3.5 s, SF10
# under 2GB 18% less CPU, peak RSS no higher (storage/parquet.py agrees).
DEFAULT_BATCH_SIZE = 256 * 1024
_QUERY_KEYS = itertools.count(1)


@dataclass
class OperatorMetrics:
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    peak_memory: int = 0       # the largest reservation one task of this node held
    spilled: int = 0           # bytes this node wrote to the spill folder (all tasks)
    bytes: int = 0          # Arrow bytes of the batches it produced (or wrote)


class Metrics:
    """Rows, batches, time, peak memory and spilled bytes per plan node
    (keyed by id(node)), for EXPLAIN ANALYZE. Thread-safe: tasks of one query
    run in parallel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_node: dict[int, OperatorMetrics] = defaultdict(OperatorMetrics)

    def record(self, node: Any, rows: int, seconds: float, nbytes: int = 0) -> None:
        with self._lock:
            m = self.by_node[id(node)]
            m.rows += rows
            m.batches += 1
            m.seconds += seconds
            m.bytes += nbytes

    def record_written(self, node: Any, rows: int, nbytes: int) -> None:
        """Rows and bytes a sink (a shuffle write) consumed without yielding them."""
        with self._lock:
            m = self.by_node[id(node)]
            m.rows += rows
            m.bytes += nbytes

    def record_memory(self, node: Any, peak: int, spilled: int) -> None:
        with self._lock:
            m = self.by_node[id(node)]
            m.peak_memory = max(m.peak_memory, peak)
            m.spilled += spilled

    def get(self, node: Any) -> OperatorMetrics | None:
        return self.by_node.get(id(node))


def _free_all(reservations: list) -> None:
    for _node, res in reservations:
        if not res.freed_by_owner:
            res.free()


def _run_cleanups(cleanups: list) -> None:
    while cleanups:
        try:
            cleanups.pop()()
        except OSError:
            pass


@dataclass
class ExecContext:
    shuffle: Any = None                    # a ShuffleStore (executor/shuffle.py)
    memory_tables: dict[str, Any] = field(default_factory=dict)   # name -> pa.Table
    batch_size: int = DEFAULT_BATCH_SIZE
    memory_limit: int | str | None = None  # this query's cap (None: the pool's limit)
    spill_dir: str | None = None
    metrics: Metrics | None = None         # set by EXPLAIN ANALYZE
    cancelled: threading.Event = field(default_factory=threading.Event)
    options: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    memory_budget: int | str | None = None  # the old name of memory_limit (an alias)
    spill_limit: int | str | None = None    # bytes the query may spill (None: no cap)
    pool: MemoryPool | None = None           # None: this process's pool
    query_key: Any = None                    # the pool's id for this query
    builds: SharedBuilds | None = None       # None: one of its own, dropped by close()

    def __post_init__(self) -> None:
        if self.memory_limit is None and self.memory_budget is not None:
            self.memory_limit = self.memory_budget
        if self.memory_limit is not None:
            self.memory_limit = parse_size(self.memory_limit)
        self.memory_budget = self.memory_limit
        if self.spill_dir is not None:
            os.makedirs(self.spill_dir, exist_ok=True)
        else:                             # this process's (a killed one's is swept)
            self.spill_dir = default_spill_dir()
        if self.pool is None:
            self.pool = process_pool()
        if self.query_key is None:
            self.query_key = ("ctx", next(_QUERY_KEYS))
        self.query_memory = self.pool.register_query(self.query_key, self.memory_limit,
                                                     self.spill_limit)
        self._task = threading.local()
        self._res_lock = threading.Lock()
        self._reservations: list[tuple[Any, Reservation]] = []
        self._cleanups: list = []          # e.g. removing a shared spill folder
        self._spillers: list = []          # what add_spiller gave the pool
        if self.builds is None:
            self.builds = SharedBuilds()
            self._cleanups.append(self.builds.drop_all)
        # a context dropped without close() still gives its memory back
        self._finalizer = weakref.finalize(self, _release, self.pool, self.query_key,
                                           self._reservations, self._cleanups)

    # -- tasks -----------------------------------------------------------------
    def set_task(self, stage: Any, partition: int | None = None) -> None:
        """Name the stage (and task) this thread runs, for memory errors and metrics."""
        self._task.stage = stage
        self._task.partition = partition

    @property
    def stage(self) -> Any:
        return getattr(self._task, "stage", None)

    # -- memory ----------------------------------------------------------------
    def effective_limit(self) -> int:
        """What this query's reservations may hold at most: the reservable
        share (memory.RESERVABLE_SHARE) of its own limit capped by the pool's."""
        if self.memory_limit is None:
            return self.pool.reservable
        return reservable(min(self.memory_limit, self.pool.limit))

    def reserve(self, owner: str, node: Any = None) -> Reservation:
        """A reservation for one operator of this query in the current stage."""
        res = self.pool.reservation(owner, self.query_key, self.stage)
        with self._res_lock:
            self._reservations.append((node, res))
        return res

    def reserve_shared(self, owner: str, node: Any = None) -> Reservation:
        """A reservation for a value shared with other tasks of the query
        (executor/shared_builds.py): reported with this context's (memory
        report, metrics) but freed by the value's owner, not by close()."""
        res = self.pool.reservation(owner, self.query_key, self.stage)
        res.freed_by_owner = True           # _free_all leaves it alone
        with self._res_lock:
            self._reservations.append((node, res))
        return res

    def build_key(self, node: Any) -> Any:
        """What names `node`'s shared build in `builds`, the same for every
        task of the query: here the node itself (the tasks of a query share
        one plan in this process), compared by identity."""
        return _Same(node)

    def add_cleanup(self, fn) -> None:
        """Run `fn()` when the query ends (close), e.g. to remove spill files
        its tasks share."""
        with self._res_lock:
            self._cleanups.append(fn)

    def try_grow_buffer(self, res: Reservation, n: int) -> bool:
        """Grow a reservation for data that spills cheaply (shuffle buffers,
        stage outputs): granted only while the query keeps half its limit
        free, so such buffers never starve a join build or an aggregate."""
        if self.query_memory.reserved + n > self.effective_limit() // 2:
            return False
        return res.try_grow(n)

    def add_spiller(self, fn) -> None:
        """`fn(n)` spills up to n bytes of a buffer when an operator of this
        query would otherwise fail (MemoryPool.reclaim). It is forgotten when
        this context closes: a worker's query outlives its tasks' contexts,
        and a spiller kept by the pool keeps its finished task's buffers."""
        with self._res_lock:
            if not self._spillers:
                pool, key, mine = self.pool, self.query_key, self._spillers
                self._cleanups.append(lambda: pool.remove_spillers(key, mine))
            self._spillers.append(fn)
        self.pool.add_spiller(self.query_key, fn)

    def memory_report(self) -> dict:
        """{'peak': bytes, 'spilled': bytes, 'stages': {stage: (peak, spilled)}}:
        the query's peak in this process and the bytes it spilled."""
        q = self.query_memory
        stages: dict = defaultdict(lambda: [0, 0])
        with self._res_lock:
            items = list(self._reservations)
        for _node, res in items:
            stages[res.stage][1] += res.spilled
        for k, peak in self.pool.stage_peaks(q).items():
            stages[k][0] = peak
        return {"peak": q.peak, "spilled": q.spilled,
                "stages": {k: tuple(v) for k, v in stages.items()}}

    def close(self) -> dict:
        """Free everything the query still holds, record per-node memory
        metrics, forget the query in the pool; returns memory_report()."""
        report = self.memory_report()
        with self._res_lock:
            items = list(self._reservations)
        if self.metrics is not None:
            for node, res in items:
                if node is not None:
                    self.metrics.record_memory(node, res.peak, res.spilled)
        self._finalizer()
        return report

    def spill_folder(self, prefix: str) -> str:
        """A new folder under spill_dir for an operator's spill files; the
        query's spill limit measures it."""
        folder = tempfile.mkdtemp(prefix=prefix, dir=self.spill_dir)
        self.pool.add_spill_folder(self.query_key, folder)
        return folder

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            from .deadline import cancelled_error
            raise cancelled_error(self)


class _Same:
    """A plan node as a dict key by identity (plan nodes compare by value),
    keeping it alive so its id is not reused while the key is held."""
    __slots__ = ("node",)

    def __init__(self, node: Any):
        self.node = node

    def __hash__(self) -> int:
        return id(self.node)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.node is self.node


def _release(pool: MemoryPool, key: Any, reservations: list, cleanups: list) -> None:
    _run_cleanups(cleanups)
    _free_all(reservations)
    pool.release_query(key)
