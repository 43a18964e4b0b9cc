"""Values that the tasks of one query build once per process and share: a
broadcast hash join's build side (operators/join_broadcast_build.py).

`SharedBuilds` maps (query, key) to a value. The first task that asks for
a key builds it while the others wait for it, each only as long as its own
query is not cancelled; a build that fails or is cancelled leaves nothing
behind, so the next task that asks builds again. A value lives until its
query is dropped (`drop_query`) or the cache is cleared (`drop_all`):
then its release function runs (freeing its memory reservation, removing
its spill files). A value whose query was dropped while it was being
built is released at once and its task sees QueryCancelled.

    builds = SharedBuilds()
    value = builds.get("q1", key, build, cancelled)   # build() -> (value, release)
    builds.drop_query("q1")                           # runs release()

Who owns one: the embedded engine keeps one per query on its ExecContext
(cleared when the query ends); a worker keeps one for the process and drops
a query's values when the coordinator drops or stops the query. What a key
is (stable across the tasks of a query) is the owner's business
(ExecContext.build_key). Not here: what is built, or how memory is reserved.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import QueryCancelled

log = logging.getLogger("quiver.executor")

WAIT_STEP = 0.05          # seconds between a waiting task's looks at its cancel flag


@dataclass
class _Entry:
    ready: bool = False
    value: Any = None
    release: Callable[[], None] | None = None
    uses: int = 0


@dataclass
class QueryBuilds:
    """What a query's shared values came to in this cache (for logs and tests)."""
    built: int = 0            # values built
    uses: int = 0             # tasks that got one (the builder included)


class SharedBuilds:
    """Thread-safe; see the module docstring."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._entries: dict[tuple[Any, Any], _Entry] = {}
        self._stats: dict[Any, QueryBuilds] = {}

    def get(self, query: Any, key: Any, build: Callable[[], tuple[Any, Callable[[], None]]],
            cancelled: threading.Event) -> Any:
        """The value for (query, key): built here by `build()` (which returns
        the value and a function releasing it) if no task has built it, else
        the one another task built or is building (waited for while
        `cancelled` is not set; QueryCancelled once it is)."""
        full = (query, key)
        while True:
            with self._cond:
                if cancelled.is_set():
                    raise QueryCancelled("query cancelled")
                entry = self._entries.get(full)
                if entry is None:
                    entry = self._entries[full] = _Entry()
                    break                                  # this task builds
                while not entry.ready and self._entries.get(full) is entry:
                    if cancelled.is_set():
                        raise QueryCancelled("query cancelled")
                    self._cond.wait(WAIT_STEP)
                if entry.ready and self._entries.get(full) is entry:
                    entry.uses += 1
                    self._stats.setdefault(query, QueryBuilds()).uses += 1
                    return entry.value
                # its builder failed, or the query was dropped: look again
        try:
            value, release = build()
        except BaseException:
            with self._cond:
                if self._entries.get(full) is entry:
                    del self._entries[full]
                self._cond.notify_all()
            raise
        with self._cond:
            current = self._entries.get(full) is entry
            if current and not cancelled.is_set():
                entry.value, entry.release, entry.ready, entry.uses = value, release, True, 1
                stats = self._stats.setdefault(query, QueryBuilds())
                stats.built += 1
                stats.uses += 1
                self._cond.notify_all()
                return value
            if current:
                del self._entries[full]
            self._cond.notify_all()
        release()                       # dropped (or cancelled) while it was built
        raise QueryCancelled("query cancelled")

    def drop_query(self, query: Any) -> QueryBuilds:
        """Release the query's values (a build in progress is released by its
        builder when it ends); returns what they came to."""
        with self._cond:
            keys = [k for k in self._entries if k[0] == query]
            entries = [self._entries.pop(k) for k in keys]
            stats = self._stats.pop(query, QueryBuilds())
            self._cond.notify_all()
        _release(entries)
        return stats

    def drop_all(self) -> None:
        with self._cond:
            entries = list(self._entries.values())
            self._entries.clear()
            self._stats.clear()
            self._cond.notify_all()
        _release(entries)

    def stats(self, query: Any) -> QueryBuilds:
        with self._cond:
            s = self._stats.get(query)
            return QueryBuilds(s.built, s.uses) if s is not None else QueryBuilds()

    def __len__(self) -> int:
        with self._cond:
            return sum(1 for e in self._entries.values() if e.ready)


def _release(entries: list[_Entry]) -> None:
    for e in entries:
        if e.ready and e.release is not None:
            try:
                e.release()
            except Exception:  # noqa: BLE001 - the other values are still released
                log.exception("releasing a shared build failed")
