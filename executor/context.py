"""What a running task can see: configuration, the shuffle store, in-process
tables, metrics and the cancel flag. One ExecContext per query (shared by
that query's tasks in this process)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BATCH_SIZE = 64 * 1024


@dataclass
class OperatorMetrics:
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    bytes: int = 0          # Arrow bytes of the batches it produced (or wrote)


class Metrics:
    """Rows, batches and time per plan node (keyed by id(node)), for EXPLAIN
    ANALYZE. Thread-safe: tasks of one query run in parallel."""

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

    def get(self, node: Any) -> OperatorMetrics | None:
        return self.by_node.get(id(node))


@dataclass
class ExecContext:
    shuffle: Any = None                    # a ShuffleStore (executor/shuffle.py)
    memory_tables: dict[str, Any] = field(default_factory=dict)   # name -> pa.Table
    batch_size: int = DEFAULT_BATCH_SIZE
    memory_budget: int = 2 << 30           # bytes a stateful operator may hold
    spill_dir: str | None = None
    metrics: Metrics | None = None         # set by EXPLAIN ANALYZE
    cancelled: threading.Event = field(default_factory=threading.Event)
    options: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            from ..errors import QueryCancelled
            raise QueryCancelled("query cancelled")
