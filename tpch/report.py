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
class QueryResult:
    query: int
    times: list[float] = field(default_factory=list)
    rows: int | None = None
    error: str | None = None
    check: CheckResult | None = None
    reference_times: list[float] = field(default_factory=list)
    reference_error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times and not self.error else None

    @property
    def reference_median(self) -> float | None:
        if not self.reference_times or self.reference_error:
            return None
        return statistics.median(self.reference_times)

    @property
    def ratio(self) -> float | None:
        m, r = self.median, self.reference_median
        return m / r if m is not None and r else None

    @property
    def ok(self) -> bool:
        return self.error is None and (self.check is None or self.check.ok)

    @property
    def status(self) -> str:
        if self.error is not None:
            return f"ERROR: {self.error}"
        if self.check is None:
            return ""
        return str(self.check)

    def to_dict(self) -> dict:
        return {
            "query": self.query, "times": self.times, "median": self.median,
            "rows": self.rows, "error": self.error,
            "check": None if self.check is None else
            {"ok": self.check.ok, "message": self.check.message},
            "reference_times": self.reference_times or None,
            "reference_median": self.reference_median,
            "reference_error": self.reference_error,
            "ratio": self.ratio,
        }


@dataclass(slots=True)
class RunResults:
    data_dir: str
    engine: str
    target: str | None
    runs: int
    warmup: int = 0
    scale_factor: float | None = None
    reference: str | None = None
    queries: list[QueryResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(q.ok for q in self.queries)

    def totals(self) -> dict:
        """Sum of medians over the queries that ran; with a reference, the
        reference's sum over the same queries, their ratio, and the geometric
        mean of the per-query ratios."""
        done = [q for q in self.queries if q.median is not None]
        total = sum(q.median for q in done) if done else None
        out: dict = {"seconds": total, "queries": len(done)}
        if self.reference:
            both = [q for q in done if q.reference_median is not None]
            mine = sum(q.median for q in both)
            ref = sum(q.reference_median for q in both)
            ratios = [q.ratio for q in both if q.ratio]
            out["compared_queries"] = len(both)
            out["seconds_compared"] = mine if both else None
            out["reference_seconds"] = ref if both else None
            out["ratio"] = mine / ref if both and ref else None
            out["geomean_ratio"] = (math.exp(sum(math.log(r) for r in ratios) / len(ratios))
                                    if ratios else None)
        return out

    def to_dict(self) -> dict:
        return {
            "data_dir": self.data_dir, "engine": self.engine, "target": self.target,
            "runs": self.runs, "warmup": self.warmup,
            "scale_factor": self.scale_factor,
            "reference": self.reference, "ok": self.ok,
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


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_WIDTH else text[:MESSAGE_WIDTH - 3] + "..."


def format_table(results: RunResults) -> str:
    """The results as an aligned text table, one line per query plus total."""
    ref = results.reference
    header = ["query", "seconds", "rows"]
    if ref:
        header += [f"{ref} s", "ratio"]
    header.append("check")
    lines = []
    for q in results.queries:
        row = [f"Q{q.query:02d}", _fmt_seconds(q.median),
               "-" if q.rows is None else str(q.rows)]
        if ref:
            ref_cell = (_fmt_seconds(q.reference_median) if q.reference_error is None
                        else "error")
            row += [ref_cell, _fmt_ratio(q.ratio)]
        row.append(_clip(q.status))
        lines.append(row)
    totals = results.totals()
    total_row = ["total", _fmt_seconds(totals["seconds"]), ""]
    if ref:
        total_row += [_fmt_seconds(totals.get("reference_seconds")),
                      _fmt_ratio(totals.get("ratio"))]
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
    if ref and totals.get("geomean_ratio") is not None:
        out.append(f"geometric mean of ratios ({results.engine}/{ref}): "
                   f"{totals['geomean_ratio']:.2f}")
    return "\n".join(out)
