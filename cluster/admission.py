"""Who may start running: the cluster's admission queue.

A state machine with no threads or sockets (the coordinator calls it under
its one lock; tests drive it with plain numbers):

    aq = AdmissionQueue(max_queries_per_user=2, queue_timeout=300)
    aq.enqueue("r1", user="alice", priority=0, memory=48 << 20, now=t)
    for ticket in aq.admit(capacity=64 << 20, now=t):   # admitted now, in order
        ...let ticket.key's query start...
    aq.release("r1")                   # it ended (or was cancelled while queued)
    if aq.timed_out(ticket, now=t):    # waited longer than queue_timeout
        ...fail its query with aq.why_waiting(ticket, capacity), then release it...

What the rules mean:

- *Committed memory.* An admitted query commits its per-query memory limit
  (the session's `memory_limit`, which every worker enforces on each of its
  tasks) on every worker, because its tasks may land on any of them. So
  the cluster's committed memory is one number: the sum of the admitted
  queries' limits, the same on every worker. A query without a
  memory_limit commits nothing: it is bounded only by each worker's pool,
  as before admission control existed (set memory_limit to have it count).
- *Capacity* is the smallest `--memory-limit` among the alive workers
  (each worker reports its pool's limit when it registers; the smallest
  one bounds every query, since each may use its limit on every worker).
  None (no alive worker reported one) means memory holds nobody back.
- *Admission.* A queued query is admitted when committed + its limit fits
  in the capacity, or when no query is admitted at all: a query whose
  limit exceeds the whole cluster still runs, alone (never a deadlock).
- *Per user.* With `max_queries_per_user` > 0, a user who already has that
  many admitted queries waits until one of them ends.
- *Order.* Queued queries are considered by priority (higher first), then
  in arrival order. Memory goes strictly in that order: the first query
  that does not fit holds back every query behind it, so a big query is
  not starved by a stream of small ones slipping past it. A query that
  waits only for its own user's turn holds back nobody else.
- *Timeout.* A query queued for more than `queue_timeout` seconds fails
  (`timed_out`; `why_waiting` says what it waited for and what is
  committed) and leaves the queue.

Owns the decision only: not the waiting (cluster_runner.py waits on the
coordinator's condition), not where tasks run (cluster_scheduler.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..executor.memory import format_size


@dataclass
class Ticket:
    """One query asking to run: `key` is the coordinator's request id."""
    key: str
    user: str
    priority: int
    memory: int                      # bytes it commits on every worker (0: none)
    arrived: float
    seq: int                         # arrival order (FIFO within a priority)
    admitted_at: float | None = None

    @property
    def admitted(self) -> bool:
        return self.admitted_at is not None

    def queued_seconds(self, now: float) -> float:
        """How long it waited (so far, while still queued)."""
        end = self.admitted_at if self.admitted_at is not None else now
        return max(0.0, end - self.arrived)

    def order(self) -> tuple[int, int]:
        return (-self.priority, self.seq)


class AdmissionQueue:
    def __init__(self, max_queries_per_user: int = 0, queue_timeout: float = 300.0):
        self.max_queries_per_user = max_queries_per_user
        self.queue_timeout = queue_timeout
        self.queued: list[Ticket] = []            # in admission order
        self.admitted: dict[str, Ticket] = {}     # key -> ticket
        self._arrivals = itertools.count()

    # -- what the coordinator asks -------------------------------------------------
    def enqueue(self, key: str, user: str, priority: int, memory: int | None,
                now: float) -> Ticket:
        """A query asks to run; it waits in the queue until `admit` lets it."""
        ticket = Ticket(key, user, int(priority), max(0, memory or 0), now,
                        next(self._arrivals))
        self.queued.append(ticket)
        self.queued.sort(key=Ticket.order)
        return ticket

    def admit(self, capacity: int | None, now: float) -> list[Ticket]:
        """Admit every queued query the rules allow now, in order; returns them."""
        out: list[Ticket] = []
        committed = self.committed()
        per_user = self._per_user()
        for ticket in list(self.queued):
            if not self._user_has_room(ticket.user, per_user):
                continue                         # waits for its own user only
            fits = capacity is None or committed + ticket.memory <= capacity
            if not fits and self.admitted:
                break                            # nobody overtakes it
            self.queued.remove(ticket)
            ticket.admitted_at = now
            self.admitted[ticket.key] = ticket
            committed += ticket.memory
            per_user[ticket.user] = per_user.get(ticket.user, 0) + 1
            out.append(ticket)
        return out

    def release(self, key: str) -> Ticket | None:
        """The query ended (its commitment is freed) or left the queue
        (cancelled); None if it was neither queued nor admitted."""
        ticket = self.admitted.pop(key, None)
        if ticket is not None:
            return ticket
        for i, queued in enumerate(self.queued):
            if queued.key == key:
                return self.queued.pop(i)
        return None

    def timed_out(self, ticket: Ticket, now: float) -> bool:
        """Whether a queued ticket has waited longer than queue_timeout (its
        query then fails; release() takes it out of the queue)."""
        return not ticket.admitted and now - ticket.arrived > self.queue_timeout

    # -- what it knows ---------------------------------------------------------------
    def get(self, key: str) -> Ticket | None:
        ticket = self.admitted.get(key)
        if ticket is None:
            ticket = next((t for t in self.queued if t.key == key), None)
        return ticket

    def committed(self) -> int:
        """Bytes committed on every worker by the admitted queries."""
        return sum(t.memory for t in self.admitted.values())

    def _per_user(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self.admitted.values():
            counts[t.user] = counts.get(t.user, 0) + 1
        return counts

    def _user_has_room(self, user: str, per_user: dict[str, int]) -> bool:
        return self.max_queries_per_user <= 0 or per_user.get(user, 0) < self.max_queries_per_user

    def why_waiting(self, ticket: Ticket, capacity: int | None) -> str:
        """What holds the ticket back, in words (for the timeout error)."""
        running = len(self.admitted)
        mine = self._per_user().get(ticket.user, 0)
        if not self._user_has_room(ticket.user, {ticket.user: mine}):
            return (f"a turn of user {ticket.user!r}, who already runs {mine} "
                    f"{_queries(mine)} (--max-queries-per-user {self.max_queries_per_user})")
        committed = self.committed()
        where = (f"{format_size(committed)} of {format_size(capacity)} committed on each worker"
                 if capacity is not None else f"{format_size(committed)} committed")
        ahead = [t for t in self.queued if t.order() < ticket.order()]
        text = (f"memory: {where} by {running} running {_queries(running)}, and it "
                f"needs {format_size(ticket.memory)}")
        if ahead:
            text += f" (behind {len(ahead)} queued {_queries(len(ahead))})"
        return text


def _queries(n: int) -> str:
    return "query" if n == 1 else "queries"
