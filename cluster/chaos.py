"""Failure injection, built in and off unless asked for.

A `Fault` says what goes wrong and where:

    Fault(kind="kill", stage="intermediate")            # the worker running the
    Fault(kind="corrupt-shuffle", stage="leaf", seed=7)  # next matching task...

kinds (KINDS): kill (SIGKILL itself), freeze (SIGSTOP itself; `seconds` > 0
wakes it after that long), slow (the task sleeps `seconds` before running),
disconnect (no heartbeats, polls, reports or shuffle serving for `seconds`),
fail-task (an internal error), user-error (a DataError, which must not be
retried), delete-shuffle / corrupt-shuffle (after the task wrote its output,
its largest file is deleted or one byte of it flipped at a seeded random
position), fetch-stall (the worker's Flight server holds that output's
fetches for `seconds` before answering). `stage` is leaf (reads no
shuffle), intermediate, final, any, or random (picked with `seed`);
`worker` limits it to one worker; `count` is how many tasks it hits.

The coordinator holds armed faults (`Armory`, only when started with
--chaos; `quiver chaos` arms them through the InjectFault call) and attaches
one to the next task assignment that matches (its `chaos_json`); a worker
started with --chaos carries it out (`TaskFaults`), any other worker ignores
it. So a fault hits exactly one task of the chosen stage position, on
whichever worker runs it. Every firing is logged (`Armory.fired`) and the
worker prints a line `chaos: ...` on stderr.

Owns the fault vocabulary and how it is carried out; not the CLI
(chaos_command.py) nor scheduling.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass

from .. import errors

KINDS = ("kill", "freeze", "slow", "disconnect", "fail-task", "user-error",
         "delete-shuffle", "corrupt-shuffle", "fetch-stall")
STAGES = ("any", "leaf", "intermediate", "final")


@dataclass
class Fault:
    kind: str
    stage: str = "any"
    worker: str = ""
    count: int = 1
    seconds: float = 0.0
    seed: int = 0

    def validate(self) -> "Fault":
        if self.kind not in KINDS:
            raise errors.ProgrammingError(
                f"unknown fault kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if self.stage == "random":
            self.stage = random.Random(self.seed).choice(STAGES[1:])
        if self.stage not in STAGES:
            raise errors.ProgrammingError(
                f"unknown stage position {self.stage!r}: expected any, leaf, intermediate, "
                "final or random")
        if self.count < 1 or self.seconds < 0:
            raise errors.ProgrammingError("a fault needs count >= 1 and seconds >= 0")
        return self

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Fault":
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
            return cls(**doc).validate()
        except (TypeError, ValueError) as exc:
            raise errors.ProgrammingError(f"malformed fault {text[:200]!r}: {exc}") from None

    def describe(self) -> str:
        where = f" at the {self.stage} stage" if self.stage != "any" else ""
        on = f" on worker {self.worker}" if self.worker else ""
        n = f" x{self.count}" if self.count > 1 else ""
        return f"{self.kind}{where}{on}{n}"


def random_fault(seed: int) -> Fault:
    """A fault kind and stage position picked with `seed`."""
    rng = random.Random(seed)
    kind = rng.choice([k for k in KINDS if k != "user-error"])
    seconds = {"freeze": 5.0, "slow": 2.0, "disconnect": 5.0, "fetch-stall": 30.0}.get(kind, 0.0)
    return Fault(kind, rng.choice(STAGES[1:]), seconds=seconds, seed=seed).validate()


def stage_position(dag, stage) -> str:
    if stage.id == dag.final.id:
        return "final"
    return "intermediate" if stage.inputs else "leaf"


class Armory:
    """The coordinator's armed faults (used under the coordinator's lock)."""

    def __init__(self) -> None:
        self.armed: list[Fault] = []
        self.fired: list[dict] = []

    def arm(self, fault: Fault) -> None:
        self.armed.append(fault.validate())

    def pick(self, dag, stage, worker_id: str, query_id: str, partition: int,
             attempt: int) -> Fault | None:
        position = stage_position(dag, stage)
        for f in self.armed:
            if f.stage in ("any", position) and f.worker in ("", worker_id):
                f.count -= 1
                if f.count <= 0:
                    self.armed.remove(f)
                self.fired.append({"kind": f.kind, "stage": position, "worker": worker_id,
                                   "query_id": query_id, "stage_id": stage.id,
                                   "task": partition, "attempt": attempt})
                return Fault(f.kind, position, worker_id, 1, f.seconds, f.seed)
        return None


def _log(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


def freeze_self(seconds: float) -> None:
    """SIGSTOP this process; with seconds > 0 a detached `sleep; kill -CONT`
    wakes it."""
    pid = os.getpid()
    if seconds > 0:
        subprocess.Popen(["sh", "-c", f"sleep {seconds:g}; kill -CONT {pid}"],
                         start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    os.kill(pid, signal.SIGSTOP)


class TaskFaults:
    """One task's fault on a worker (worker.py calls `before` when the task
    starts and `after_write` once its output is written)."""

    def __init__(self, fault: Fault, worker, task) -> None:
        self.fault, self.worker, self.task = fault, worker, task
        self.what = (f"{fault.kind} at task {task.partition} of stage {task.stage_id} "
                     f"({fault.stage}) attempt {task.attempt} of query {task.query_id}")

    def before(self, cancelled: threading.Event) -> None:
        f = self.fault
        if f.kind in ("delete-shuffle", "corrupt-shuffle", "fetch-stall"):
            return
        _log(self.what)
        if f.kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif f.kind == "freeze":
            freeze_self(f.seconds)
        elif f.kind == "disconnect":
            self.worker.disconnect(f.seconds or 30.0)
        elif f.kind == "slow":
            cancelled.wait(f.seconds)
        elif f.kind == "fail-task":
            raise RuntimeError("injected task failure (chaos)")
        elif f.kind == "user-error":
            raise errors.DataError("injected user error (chaos)")

    def after_write(self, paths: list[str]) -> None:
        f = self.fault
        if f.kind not in ("delete-shuffle", "corrupt-shuffle", "fetch-stall") or not paths:
            return
        _log(self.what)
        if f.kind == "fetch-stall":
            t = self.task
            self.worker.stall_fetches(t.query_id, t.stage_id, t.partition, f.seconds or 30.0)
            return
        path = max(paths, key=lambda p: (os.path.getsize(p), p))
        if f.kind == "delete-shuffle":
            os.remove(path)
            return
        corrupt_file(path, random.Random(f"{f.seed}:{self.task.partition}"))


def corrupt_file(path: str, rng: random.Random) -> int:
    """Flip one bit of one byte at a random position; returns the position."""
    size = os.path.getsize(path)
    pos = rng.randrange(size)
    with open(path, "r+b") as fh:
        fh.seek(pos)
        b = fh.read(1)[0]
        fh.seek(pos)
        fh.write(bytes([b ^ (1 << rng.randrange(8))]))
    return pos


class FetchStalls:
    """Outputs whose Flight fetches the worker holds back (fetch-stall):
    (query, stage, producer task) -> until when. The server's `on_get` hook."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[tuple[str, int, int], float] = {}

    def add(self, query_id: str, stage_id: int, task: int, seconds: float) -> None:
        with self._lock:
            self._until[(query_id, stage_id, task)] = time.monotonic() + seconds

    def __call__(self, query_id, stage_id, partition, tasks) -> None:
        with self._lock:
            until = max((self._until.pop((query_id, stage_id, t), 0.0) for t in tasks),
                        default=0.0)
        left = until - time.monotonic()
        if left > 0:
            _log(f"holding a fetch of stage {stage_id} of query {query_id} for {left:.1f} s")
            time.sleep(left)
