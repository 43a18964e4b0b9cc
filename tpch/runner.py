"""Running the TPC-H queries: timing, peak memory, optional answer checks,
optional comparison with DuckDB and DataFusion on the same files in the same
run, each engine in its own process.

Owns: `run(...)`, which registers the tables found under a data folder,
runs each query `runs` times (median time) with every engine in turn,
records each engine's peak RSS per query (memwatch.py), checks results
against the committed answers, and prints a progress bar (stderr) and a
table (stdout). Does not own the engines (engines.py), one engine in this
process (in_process.py: `InProcessDriver`, `RunnerError`, both re-exported
here), the child processes (peers.py), the comparison rules (check.py) or
the presentation (report.py).

    from quiver.tpch.runner import run
    results = run("/data/tpch-sf1", queries=[1, 6], runs=3, check=True,
                  compare="duckdb,datafusion", memory_limit="4GB")
    results.ok
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import page_cache
from .check import available_scale_factors, has_answers, sf_label
from .datagen import TABLES, table_dirs
from .engines import ENGINES, EngineFactory, available, engine_factory
from .in_process import InProcessDriver, RunnerError
from .peers import ProcessDriver
from .querylib import ALL_QUERIES
from .report import ProgressBar, QueryResult, RunResults, format_table
from .scale import detect_scale_factor


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


def _peer_list(compare) -> tuple[str, ...]:
    if compare is None:
        return ()
    names = compare.split(",") if isinstance(compare, str) else list(compare)
    names = [n.strip() for n in names if n.strip()]
    for n in names:
        if n not in ENGINES or n == "quiver":
            raise RunnerError(f"--compare: unknown engine {n!r} "
                              f"(choose from {', '.join(e for e in ENGINES if e != 'quiver')})")
    missing = [n for n in names if not available(n)]
    if missing:
        raise RunnerError("--compare: not installed here: " + ", ".join(
            f"{n} (pip install {n})" for n in missing))
    return tuple(dict.fromkeys(names))


def run(data_dir: str, connect_target: str | None = None, queries=None, runs: int = 1,
        check: bool = False, compare=None, json_out: str | None = None,
        progress: bool = True, *, warmup: int = 0, engine: str | EngineFactory = "quiver",
        answers_root: Path | None = None, out=None, err=None,
        memory_limit: str | None = None, isolate: bool | None = None,
        query_timeout: float | None = None) -> RunResults:
    """Run TPC-H `queries` (numbers; default all 22) over the tables under
    `data_dir` and return the results; prints a progress bar on `err`
    (stderr) and the table on `out` (stdout; pass False for no table).

    `engine` is "quiver" (`quiver.connect(connect_target, memory_limit=...)`),
    "duckdb", "datafusion", or a factory returning an object with
    register/query/close (engines.Engine).
    `compare` ("duckdb", "duckdb,datafusion" or a list) also runs those
    engines on the same files in the same run, query by query in turn, each
    in its own process (peers.py), and reports per-query ratios.
    `isolate` runs the main engine in its own process too (default: when
    comparing and `engine` is a name), so every engine's peak RSS is its own.
    `memory_limit` ("4GB") is given to every engine.
    `query_timeout`: seconds one execution of a query may take in an
    engine's own process before that process is stopped and the query
    reported as timed out (default peers.DEFAULT_QUERY_TIMEOUT).
    When comparing, the data files are read once first (page_cache.warm),
    so the engine that runs a query first is not the only one reading cold.
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
    peers = _peer_list(compare)
    sf = _answers_sf(data_dir, answers_root) if check else None
    if isolate is None:
        isolate = bool(peers) and isinstance(engine, str)

    engine_name = engine if isinstance(engine, str) else getattr(engine, "name", "engine")
    results = RunResults(data_dir=str(data_dir), engine=engine_name,
                         target=connect_target, runs=runs, warmup=warmup, peers=peers,
                         memory_limit=None if memory_limit is None else str(memory_limit),
                         scale_factor=sf if sf is not None else detect_scale_factor(data_dir))
    if query_timeout is not None and not query_timeout > 0:
        raise RunnerError(f"query timeout must be positive, got {query_timeout}")
    timeout = {} if query_timeout is None else {"query_timeout": float(query_timeout)}
    if peers:
        warmed = page_cache.warm(tables)
        if warmed and progress:
            print(f"read the data once ({warmed / (1 << 30):.1f} GiB) so that every engine "
                  f"finds it in the OS page cache", file=err)
    steps = len(numbers) * (runs + warmup) * (1 + len(peers))
    bar = ProgressBar(steps, enabled=progress, stream=err)
    drivers: list = []
    try:
        if isolate:
            main = ProcessDriver(engine_name, data_dir, connect_target, memory_limit, answers_root,
                                 **timeout)
            _start(main)
        else:
            factory = (engine_factory(engine, connect_target, memory_limit)
                       if isinstance(engine, str) else engine)
            main = InProcessDriver(engine_name, factory, tables, answers_root, bar)
        drivers.append(main)
        for name in peers:
            peer = ProcessDriver(name, data_dir, None, memory_limit, answers_root, **timeout)
            _start(peer)
            drivers.append(peer)
        for n in numbers:
            results.queries.append(_run_one(n, drivers, runs, warmup, sf, bar))
    finally:
        bar.close()
        for d in drivers:
            d.close()

    if out is not False:
        print(format_table(results), file=out)
    if json_out:
        Path(json_out).write_text(json.dumps(results.to_dict(), indent=2) + "\n",
                                  encoding="utf-8")
    return results


def _start(driver: "ProcessDriver") -> None:
    try:
        driver.start()
    except RuntimeError as exc:
        raise RunnerError(f"could not start {exc}") from exc


def _run_one(n: int, drivers: list, runs: int, warmup: int, sf: float | None,
             bar: ProgressBar) -> QueryResult:
    result = QueryResult(n)
    for i, driver in enumerate(drivers):
        if isinstance(driver, ProcessDriver):
            bar.show(f"q{n:02d} {driver.name}")
        run = driver.measure(n, runs, warmup, sf)
        if isinstance(driver, ProcessDriver):
            bar.done += runs + warmup
            bar.show(f"q{n:02d} {driver.name} done")
        if i == 0:
            result.times, result.rows, result.error = run.times, run.rows, run.error
            result.check, result.peak_rss = run.check, run.peak_rss
            result.peak_process = run.peak_process
            result.cpu_times = run.cpu_times
        else:
            result.peers[driver.name] = run
    return result
