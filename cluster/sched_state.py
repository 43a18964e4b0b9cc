"""Containers that keep, as they change, what the cluster scheduler would
otherwise recount on every worker's poll (cluster_scheduler.py):

- RunningSet: a worker's running {(query, stage, partition)}, keeping the
  cluster-wide count per query (fair sharing) in a Counter all workers share;
- Outputs: (stage, partition) -> worker id, with a version per stage (a
  producer stage's address list is rebuilt only when it changes);
- Current: (stage, partition) -> running Attempt, knowing the oldest start
  (speculation looks for stragglers only when some attempt is old enough).

They behave as the set and dicts they replace; only the extra bookkeeping
is new.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter


class RunningSet(set):
    """A worker's running {(query_id, stage, partition)} that keeps the
    cluster-wide count of running entries per query (`counts`, shared by
    every worker's set): fair sharing reads it on each assign instead of
    counting every worker's set."""

    def __init__(self, counts: Counter):
        super().__init__()
        self.counts = counts

    @staticmethod
    def counter() -> Counter:
        return Counter()

    def add(self, item) -> None:
        if item not in self:
            super().add(item)
            self.counts[item[0]] += 1

    def discard(self, item) -> None:
        if item in self:
            super().discard(item)
            self._drop(item[0])

    def remove(self, item) -> None:
        super().remove(item)
        self._drop(item[0])

    def pop(self):
        item = super().pop()
        self._drop(item[0])
        return item

    def clear(self) -> None:
        for item in self:
            self._drop(item[0])
        super().clear()

    def update(self, *others) -> None:
        for other in others:
            for item in other:
                self.add(item)

    def _drop(self, query_id) -> None:
        self.counts[query_id] -= 1
        if self.counts[query_id] <= 0:
            del self.counts[query_id]


class _WritesThroughSetitem(dict):
    """A dict whose setdefault and update go through __setitem__ (dict's own
    bypass it), so a subclass's bookkeeping there sees every write."""

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args, **kwargs) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value


class Outputs(_WritesThroughSetitem):
    """(stage, partition) -> worker id, counting changes per stage
    (`version`), so the address list a launch gets for a producer stage is
    built once per change instead of once per consumer task."""

    def __init__(self):
        super().__init__()
        self.version: Counter = Counter()

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.version[key[0]] += 1

    def __delitem__(self, key) -> None:
        super().__delitem__(key)
        self.version[key[0]] += 1

    def pop(self, key, *default):
        self.version[key[0]] += 1
        return super().pop(key, *default)

    def popitem(self):
        key, value = super().popitem()
        self.version[key[0]] += 1
        return key, value


    def clear(self) -> None:
        for key in self:
            self.version[key[0]] += 1
        super().clear()


class Current(_WritesThroughSetitem):
    """(stage, partition) -> the running Attempt (anything with `started`),
    and `oldest()`: the earliest start among them (a heap, stale entries
    dropped when they reach the top)."""

    def __init__(self):
        super().__init__()
        self._heap: list = []
        self._seq = itertools.count()

    def __setitem__(self, key, att) -> None:
        super().__setitem__(key, att)
        heapq.heappush(self._heap, (att.started, next(self._seq), key, att))


    def clear(self) -> None:
        super().clear()
        self._heap.clear()

    def oldest(self) -> float | None:
        """The earliest `started` of the attempts held, None when empty."""
        heap = self._heap
        while heap and self.get(heap[0][2]) is not heap[0][3]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None
