"""Running the TPC-H queries: timing, optional answer checks, optional
comparison with DuckDB on the same files in the same run.

Owns: `run(...)`, which registers the tables found under a data folder,
runs each query `runs` times (median time), checks results against the
committed answers, and prints a progress bar (stderr) and a table (stdout).
Does not own the engines (engines.py), the comparison rules (check.py) or
the presentation (report.py).

    from quiver.tpch.runner import run
    results = run("/data/tpch-sf1", queries=[1, 6], runs=3, check=True,
                  compare="duckdb")
    results.ok
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .check import (CheckResult, available_scale_factors, check_query, has_answers,
                    sf_label)
from .datagen import TABLES, table_dirs
from .engines import Engine, EngineFactory, engine_factory
from .querylib import ALL_QUERIES, query_text
from .report import ProgressBar, QueryResult, RunResults, format_table
from .scale import detect_scale_factor


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


def _answers_sf(data_dir: str, answers_root: Path | None) -> float:
    sf = detect_scale_factor(data_dir)
    if sf is None:
        raise RunnerError(f"--check: cannot tell the scale factor of {data_dir}: "
                          f"it has no orders or lineitem table")
    if not has_answers(sf, answers_root):
        have = ", ".join(sf_label(s) for s in available_scale_factors(answers_root))
        raise RunnerError(
            f"--check: there are no reference answers for scale factor "
            f"{sf_label(sf)} (detected from the row counts under {data_dir}); "
            f"answers exist for SF {have or 'none'}. Create them with DuckDB: "
            f"python -m quiver.tpch.make_answers --sf {sf_label(sf)} --data {data_dir}")
    return sf


def _measure(engine: Engine, sql: str, runs: int, warmup: int, bar: ProgressBar,
             label: str):
    """Run `sql` `warmup` times untimed, then `runs` times timed.
    Returns (times, names, rows, error text or None); stops at an error."""
    times: list[float] = []
    names: list[str] = []
    rows: list[tuple] = []
    total = warmup + runs
    for i in range(total):
        timed = i >= warmup
        step = (f"run {i - warmup + 1}/{runs}" if timed
                else f"warm-up {i + 1}/{warmup}")
        bar.show(f"{label} {step}")
        try:
            seconds, names, rows = _timed(engine, sql)
        except Exception as exc:  # the query failed: report it, run the rest
            bar.done += total - i - 1
            bar.step(f"{label} error")
            return times, names, rows, _error_text(exc)
        if timed:
            times.append(seconds)
        bar.step(f"{label} {seconds:.3f}s")
    return times, names, rows, None


def _run_one(n: int, engine: Engine, ref: Engine | None, runs: int,
             sf: float | None, answers_root: Path | None,
             bar: ProgressBar, ref_name: str | None, warmup: int = 0) -> QueryResult:
    result = QueryResult(n)
    sql = query_text(n)
    result.times, names, rows, result.error = _measure(
        engine, sql, runs, warmup, bar, f"q{n:02d}")
    if result.error is None:
        result.rows = len(rows)
        if sf is not None:
            try:
                result.check = check_query(sf, n, names, rows, answers_root)
            except FileNotFoundError as exc:
                result.check = CheckResult(False, str(exc))
    if ref is not None:
        result.reference_times, _, _, result.reference_error = _measure(
            ref, sql, runs, warmup, bar, f"q{n:02d} {ref_name}")
    return result


def run(data_dir: str, connect_target: str | None = None, queries=None, runs: int = 1,
        check: bool = False, compare: str | None = None, json_out: str | None = None,
        progress: bool = True, *, warmup: int = 0, engine: str | EngineFactory = "quiver",
        answers_root: Path | None = None, out=None, err=None) -> RunResults:
    """Run TPC-H `queries` (numbers; default all 22) over the tables under
    `data_dir` and return the results; prints a progress bar on `err`
    (stderr) and the table on `out` (stdout; pass False for no table).

    `engine` is "quiver" (`quiver.connect(connect_target)`), "duckdb", or a
    factory returning an object with register/query/close (engines.Engine).
    `compare="duckdb"` also times DuckDB on the same files in the same run.
    `warmup` untimed runs of each query come before the timed ones (they
    take JIT compilation and cold caches out of the times).
    `check=True` compares every result with the committed answer for the
    data's scale factor and raises RunnerError if there are none.
    """
    err = err if err is not None else sys.stderr
    out = sys.stdout if out is None else out
    if runs < 1:
        raise RunnerError(f"runs must be at least 1, got {runs}")
    if warmup < 0:
        raise RunnerError(f"warmup must not be negative, got {warmup}")
    numbers = list(queries) if queries else list(ALL_QUERIES)
    for n in numbers:
        if n not in ALL_QUERIES:
            raise RunnerError(f"there is no TPC-H query {n}: queries are 1..22")
    tables = table_dirs(data_dir)
    if not tables:
        raise RunnerError(f"no TPC-H tables under {data_dir}: expected folders "
                          f"{', '.join(t + '/' for t in TABLES)} holding Parquet files "
                          f"(quiver tpch gen --sf SF --out {data_dir})")
    if compare not in (None, "duckdb"):
        raise RunnerError(f"--compare: unknown engine {compare!r} (only 'duckdb')")
    sf = _answers_sf(data_dir, answers_root) if check else None

    if isinstance(engine, str):
        engine_name, factory = engine, engine_factory(engine, connect_target)
    else:
        engine_name, factory = getattr(engine, "name", "engine"), engine
    results = RunResults(data_dir=str(data_dir), engine=engine_name,
                         target=connect_target, runs=runs, warmup=warmup,
                         reference=compare,
                         scale_factor=sf if sf is not None else detect_scale_factor(data_dir))

    main = _open(factory, tables)
    ref = None
    try:
        if compare:
            ref = _open(engine_factory(compare), tables)
        steps = len(numbers) * (runs + warmup) * (2 if ref is not None else 1)
        bar = ProgressBar(steps, enabled=progress, stream=err)
        try:
            for n in numbers:
                results.queries.append(
                    _run_one(n, main, ref, runs, sf, answers_root, bar, compare, warmup))
        finally:
            bar.close()
    finally:
        main.close()
        if ref is not None:
            ref.close()

    if out is not False:
        print(format_table(results), file=out)
    if json_out:
        Path(json_out).write_text(json.dumps(results.to_dict(), indent=2) + "\n",
                                  encoding="utf-8")
    return results
