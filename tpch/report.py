"""Presenting a TPC-H run: the one-line progress bar and the results table.

Owns: the result records (`QueryResult`, `RunResults`) with their medians,
totals and JSON form, the progress bar (stderr, one line rewritten with
`\\r`, no dependency), and the plain-text table. Does not run queries.
"""

from __future__ import annotations

import math
import statistics
import sys
from dataclasses import dataclass, field

from .check import CheckResult

MESSAGE_WIDTH = 100


@dataclass(slots=True)
class EngineRun:
    """One engine's runs of one query: times, peak memory, error, check."""
    times: list[float] = field(default_factory=list)
    error: str | None = None
    peak_rss: int | None = None          # bytes, the engine's process tree
    peak_process: int | None = None      # bytes, the tree's largest single process
    rows: int | None = None
    check: CheckResult | None = None
    cpu_times: list[float] = field(default_factory=list)   # CPU seconds per timed run

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times and not self.error else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_times) if self.cpu_times and not self.error else None

    def to_dict(self) -> dict:
        return {"times": self.times, "median": self.median, "error": self.error,
                "cpu_times": self.cpu_times, "cpu_median": self.cpu_median,
                "peak_rss": self.peak_rss, "peak_process": self.peak_process,
                "rows": self.rows,
                "check": None if self.check is None else
                {"ok": self.check.ok, "message": self.check.message}}


@dataclass(slots=True)
class QueryResult:
    query: int
    times: list[float] = field(default_factory=list)
    rows: int | None = None
    error: str | None = None
    check: CheckResult | None = None
    peak_rss: int | None = None
    peak_process: int | None = None      # the largest single process (a cluster's worker)
    peers: dict[str, EngineRun] = field(default_factory=dict)   # --compare engines
    cpu_times: list[float] = field(default_factory=list)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_times) if self.cpu_times and not self.error else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times and not self.error else None

    def ratio(self, peer: str) -> float | None:
        """This engine's median over the peer's."""
        run = self.peers.get(peer)
        m, r = self.median, run.median if run is not None else None
        return m / r if m is not None and r else None

    @property
    def ok(self) -> bool:
        return self.error is None and (self.check is None or self.check.ok)

    @property
    def status(self) -> str:
        if self.error is not None:
            return f"ERROR: {self.error}"
        notes = [] if self.check is None else [str(self.check)]
        for name, run in self.peers.items():
            if run.error is not None:
                notes.append(f"{name} ERROR: {run.error}")
            elif run.check is not None and not run.check.ok:
                notes.append(f"{name} {run.check}")
        return "; ".join(notes)

    def to_dict(self) -> dict:
        return {
            "query": self.query, "times": self.times, "median": self.median,
            "rows": self.rows, "error": self.error, "peak_rss": self.peak_rss,
            "peak_process": self.peak_process,
            "cpu_times": self.cpu_times, "cpu_median": self.cpu_median,
            "check": None if self.check is None else
            {"ok": self.check.ok, "message": self.check.message},
            "peers": {name: dict(run.to_dict(), ratio=self.ratio(name))
                      for name, run in self.peers.items()},
        }


@dataclass(slots=True)
class RunResults:
    data_dir: str
    engine: str
    target: str | None
    runs: int
    warmup: int = 0
    scale_factor: float | None = None
    peers: tuple[str, ...] = ()
    memory_limit: str | None = None
    queries: list[QueryResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(q.ok for q in self.queries)

    def totals(self) -> dict:
        """Sum of medians over the queries that ran and the largest peak;
        per peer, both sums over the queries both finished, their ratio and
        the geometric mean of the per-query ratios."""
        done = [q for q in self.queries if q.median is not None]
        peaks = [q.peak_rss for q in self.queries if q.peak_rss is not None]
        largest = [q.peak_process for q in self.queries if q.peak_process is not None]
        cpu = [q.cpu_median for q in done if q.cpu_median is not None]
        out: dict = {"seconds": sum(q.median for q in done) if done else None,
                     "queries": len(done), "peak_rss": max(peaks) if peaks else None,
                     "peak_process": max(largest) if largest else None,
                     "cpu_seconds": sum(cpu) if cpu else None, "peers": {}}
        for name in self.peers:
            both = [q for q in done if q.peers.get(name) and q.peers[name].median is not None]
            mine = sum(q.median for q in both)
            ref = sum(q.peers[name].median for q in both)
            ratios = [q.ratio(name) for q in both if q.ratio(name)]
            ppeaks = [q.peers[name].peak_rss for q in self.queries
                      if q.peers.get(name) and q.peers[name].peak_rss is not None]
            pcpu = [q.peers[name].cpu_median for q in both
                    if q.peers[name].cpu_median is not None]
            mycpu = [q.cpu_median for q in both if q.cpu_median is not None]
            out["peers"][name] = {
                "compared_queries": len(both),
                "cpu_seconds": sum(pcpu) if pcpu else None,
                "cpu_seconds_compared": sum(mycpu) if mycpu else None,
                "seconds_compared": mine if both else None,
                "seconds": ref if both else None,
                "ratio": mine / ref if both and ref else None,
                "geomean_ratio": (math.exp(sum(math.log(r) for r in ratios) / len(ratios))
                                  if ratios else None),
                "peak_rss": max(ppeaks) if ppeaks else None,
            }
        return out

    def to_dict(self) -> dict:
        return {
            "data_dir": self.data_dir, "engine": self.engine, "target": self.target,
            "runs": self.runs, "warmup": self.warmup,
            "scale_factor": self.scale_factor, "memory_limit": self.memory_limit,
            "peers": list(self.peers), "ok": self.ok,
            "queries": [q.to_dict() for q in self.queries],
            "total": self.totals(),
        }


class ProgressBar:
    """`[########------------]  7/22  q07 duckdb` on one stderr line."""

    def __init__(self, total: int, enabled: bool = True, stream=None, width: int = 30):
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._last_len = 0

    def show(self, label: str = "") -> None:
        if not self.enabled:
            return
        filled = self.width * self.done // self.total
        text = (f"[{'#' * filled}{'-' * (self.width - filled)}] "
                f"{self.done:>{len(str(self.total))}}/{self.total}  {label}")
        pad = max(self._last_len - len(text), 0)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._last_len = len(text)

    def step(self, label: str = "") -> None:
        self.done += 1
        self.show(label)

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _fmt_mib(value: int | None) -> str:
    return "-" if value is None else f"{value / (1 << 20):.0f}"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_WIDTH else text[:MESSAGE_WIDTH - 3] + "..."


def format_table(results: RunResults) -> str:
    """The results as an aligned text table, one line per query plus total:
    median seconds and peak RSS (MiB, the process tree) of this engine and of
    each peer, and this engine's time over each peer's ("x duckdb"). On a
    cluster target, also the largest single process's peak ("proc MiB"):
    the memory limit is each worker's."""
    per_process = _is_cluster(results.target)
    header = ["query", "seconds", "peak MiB"] + (["proc MiB"] if per_process else []) + ["rows"]
    for peer in results.peers:
        header += [f"{peer} s", f"{peer} MiB", f"x {peer}"]
    header.append("check")
    lines = []
    for q in results.queries:
        row = [f"Q{q.query:02d}", _fmt_seconds(q.median), _fmt_mib(q.peak_rss)]
        row += [_fmt_mib(q.peak_process)] if per_process else []
        row.append("-" if q.rows is None else str(q.rows))
        for peer in results.peers:
            run = q.peers.get(peer)
            if run is None:
                row += ["-", "-", "-"]
                continue
            row += [_fmt_seconds(run.median) if run.error is None else "error",
                    _fmt_mib(run.peak_rss), _fmt_ratio(q.ratio(peer))]
        row.append(_clip(q.status))
        lines.append(row)
    totals = results.totals()
    total_row = ["total", _fmt_seconds(totals["seconds"]), _fmt_mib(totals["peak_rss"])]
    total_row += [_fmt_mib(totals["peak_process"])] if per_process else []
    total_row.append("")
    for peer in results.peers:
        t = totals["peers"][peer]
        total_row += [_fmt_seconds(t["seconds"]), _fmt_mib(t["peak_rss"]),
                      _fmt_ratio(t["ratio"])]
    failed = sum(not q.ok for q in results.queries)
    total_row.append(f"{failed} failed" if failed else "")
    lines.append(total_row)
    widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
    right = set(range(1, len(header) - 1))

    def render(row):
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [render(header), rule] + [render(r) for r in lines[:-1]] + [rule, render(lines[-1])]
    for peer in results.peers:
        t = totals["peers"][peer]
        if t["geomean_ratio"] is not None:
            out.append(f"{results.engine}/{peer}: total {_fmt_ratio(t['ratio'])}x over "
                       f"{t['compared_queries']} queries, geometric mean of ratios "
                       f"{t['geomean_ratio']:.2f}")
    cpu = [f"{results.engine} {totals['cpu_seconds']:.2f}"] if totals["cpu_seconds"] else []
    cpu += [f"{peer} {totals['peers'][peer]['cpu_seconds']:.2f}" for peer in results.peers
            if totals["peers"][peer]["cpu_seconds"]]
    if cpu:
        out.append("CPU seconds (medians summed, process tree): " + ", ".join(cpu))
    out.append("peak MiB: resident memory of the engine's process tree, sampled"
               + ("; proc MiB: its largest single process (client, coordinator or a worker)"
                  if per_process else "")
               + (f"; memory limit {results.memory_limit}"
                  + (" per worker" if per_process else "") if results.memory_limit else ""))
    return "\n".join(out)


def _is_cluster(target: str | None) -> bool:
    """Whether a connect() target runs in more than the client's process."""
    from ..dbapi import target_kind
    return target_kind(target) in ("cluster", "ray")
