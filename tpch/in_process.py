"""One engine of a TPC-H run in this process: `InProcessDriver` opens the
engine, registers the tables, runs a query's warm-up and timed runs,
measures this process tree's peak RSS and CPU time over them and checks the
answer; `RunnerError` is what a run that cannot start raises.

Why a module of its own: the runner (runner.py) drives engines both in
this process and in child processes (peers.py), and each child process
runs its engine with an InProcessDriver. With the driver in runner.py,
runner imported peers and peers imported runner back; here, below both,
neither imports the other. runner.py re-exports both names.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .check import CheckResult, check_query
from .engines import Engine, EngineFactory
from .memwatch import PeakRSS, tree_cpu_seconds
from .querylib import query_text
from .report import EngineRun, ProgressBar


class RunnerError(RuntimeError):
    """The run cannot start: no data, no answers for --check, bad options."""


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _open(factory: EngineFactory, tables: dict[str, str]) -> Engine:
    try:
        engine = factory()
    except Exception as exc:
        raise RunnerError(f"could not open the engine: {_error_text(exc)}") from exc
    name = ""
    try:
        for name, location in tables.items():
            engine.register(name, location)
    except Exception as exc:
        engine.close()
        raise RunnerError(f"could not register table {name} "
                          f"({tables[name]}): {_error_text(exc)}") from exc
    return engine


def _timed(engine: Engine, sql: str) -> tuple[float, list[str], list[tuple]]:
    start = time.perf_counter()
    names, rows = engine.query(sql)
    return time.perf_counter() - start, names, rows


class InProcessDriver:
    """An engine in this process: runs a query's warm-up and timed runs,
    measures this process tree's peak RSS over them, checks the answer."""

    def __init__(self, name: str, factory: EngineFactory, tables: dict[str, str],
                 answers_root: Path | None = None, bar: ProgressBar | None = None):
        self.name = name
        self.engine = _open(factory, tables)
        self.answers_root = answers_root
        self.bar = bar
        self.pid = os.getpid()

    def measure(self, n: int, runs: int, warmup: int, sf: float | None) -> EngineRun:
        sql = query_text(n)
        run = EngineRun()
        label = f"q{n:02d}" + ("" if self.name == "quiver" else f" {self.name}")
        total = warmup + runs
        rows: list[tuple] = []
        names: list[str] = []
        peak = PeakRSS().start()
        try:
            for i in range(total):
                timed = i >= warmup
                self._show(f"{label} {f'run {i - warmup + 1}/{runs}' if timed else f'warm-up {i + 1}/{warmup}'}")
                cpu0 = tree_cpu_seconds(self.pid)
                try:
                    seconds, names, rows = _timed(self.engine, sql)
                except Exception as exc:  # the query failed: report it, run the rest
                    self._skip(total - i - 1, f"{label} error")
                    run.error = _error_text(exc)
                    return run
                if timed:
                    run.times.append(seconds)
                    cpu1 = tree_cpu_seconds(self.pid)
                    if cpu0 is not None and cpu1 is not None:
                        run.cpu_times.append(cpu1 - cpu0)
                self._step(f"{label} {seconds:.3f}s")
        finally:
            run.peak_rss = peak.stop()
            run.peak_process = peak.largest
        run.rows = len(rows)
        if sf is not None:
            try:
                run.check = check_query(sf, n, names, rows, self.answers_root)
            except FileNotFoundError as exc:
                run.check = CheckResult(False, str(exc))
        return run

    def _show(self, label: str) -> None:
        if self.bar is not None:
            self.bar.show(label)

    def _step(self, label: str) -> None:
        if self.bar is not None:
            self.bar.step(label)

    def _skip(self, steps: int, label: str) -> None:
        if self.bar is not None:
            self.bar.done += steps
            self.bar.step(label)

    def close(self) -> None:
        self.engine.close()
