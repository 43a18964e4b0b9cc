"""The `quiver tpch` command family: `gen` and `run`.

Owns: the argparse wiring (`register(subparsers)`, called by cli.py) and
`main_tpch(args) -> int`, the exit status (0 when every query ran and every
check passed, 1 when a query failed or a check did not match, 2 when the
run could not start). Does not own generation, running or checking.

    quiver tpch gen --sf 1 --out data/sf1 --parts 4
    quiver tpch run --data data/sf1 --queries 1,6 --runs 3 --check --compare duckdb,datafusion
    quiver tpch run --data data/sf10 --memory-limit 2GB
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .datagen import DatagenError, generate
from .querylib import parse_query_list


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _engine_list(text: str) -> str:
    from .engines import ENGINES
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in ENGINES or n == "quiver"]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"unknown engine {', '.join(bad) or text!r}: choose from duckdb, datafusion")
    return ",".join(names)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `gen` and `run` subcommands on `parser` (the `tpch` parser)."""
    sub = parser.add_subparsers(dest="tpch_command", metavar="{gen,run}")
    gen = sub.add_parser("gen", help="generate TPC-H Parquet data with tpchgen-cli",
                         description="Write the 8 TPC-H tables as Parquet, one "
                                     "folder per table, under --out.")
    gen.add_argument("--sf", type=_positive_float, required=True,
                     help="scale factor (1 = about 1 GB of raw data)")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--parts", type=_positive_int, default=1,
                     help="files per large table (lineitem, orders, partsupp, "
                          "part, customer); default 1")

    run = sub.add_parser("run", help="run the 22 queries, time them, check answers",
                         description="Run TPC-H queries over the tables under "
                                     "--data and print a table of timings.")
    run.add_argument("--data", required=True,
                     help="folder holding lineitem/, orders/, ... (from tpch gen)")
    run.add_argument("--connect", default=os.environ.get("QUIVER_CONNECT"),
                     help="connect() target (default $QUIVER_CONNECT or embedded)")
    run.add_argument("--queries", default=None,
                     help="query numbers, e.g. 1,6,12-14 (default all 22)")
    run.add_argument("--runs", type=_positive_int, default=1,
                     help="runs per query; the median time is reported (default: 1)")
    run.add_argument("--warmup", type=_count, default=0, metavar="N",
                     help="untimed runs of each query before the timed ones (default: 0)")
    run.add_argument("--check", action="store_true",
                     help="compare each result with the reference answer")
    run.add_argument("--compare", type=_engine_list, default=None, metavar="ENGINES",
                     help="also run these engines (duckdb, datafusion; comma-separated) "
                          "on the same files in the same run, each in its own process, "
                          "and print per-query ratios and peak memory (default: Quiver only)")
    run.add_argument("--memory-limit", default=None, metavar="SIZE",
                     help="memory limit for every engine, e.g. 4GB "
                          "(quiver.connect(memory_limit=...); default: none)")
    run.add_argument("--query-timeout", type=float, default=None, metavar="SECONDS",
                     help="seconds one execution of a query may take in an engine's own "
                          "process (with --compare) before it is stopped and the query "
                          "reported as timed out (default 3600)")
    run.add_argument("--answers", default=None, metavar="DIR",
                     help="reference answers folder for --check (holding sf<SF>/qNN.csv; "
                          "default the committed answers; make more with "
                          "python -m quiver.tpch.make_answers --sf SF --data DIR --out DIR)")
    run.add_argument("--json", dest="json_out", default=None, metavar="OUT",
                     help="write every timing and check to this JSON file (default: none)")
    run.add_argument("--engine", choices=["quiver", "duckdb", "datafusion"], default="quiver",
                     help=argparse.SUPPRESS)  # duckdb: a stand-in, for testing the runner
    run.add_argument("--no-progress", action="store_true",
                     help="no progress bar on stderr")
    parser.set_defaults(func=main_tpch, _tpch_parser=parser)


def register(subparsers) -> argparse.ArgumentParser:
    """Add `tpch` to the `quiver` command's subparsers."""
    parser = subparsers.add_parser(
        "tpch", help="generate TPC-H data, run and check the 22 queries",
        description="TPC-H data generation and query runner.")
    add_arguments(parser)
    return parser


def _gen(args) -> int:
    import os
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        print(f"quiver tpch gen: --out {args.out} is a file; give a folder to write the "
              f"tables into (it is created if missing)", file=sys.stderr)
        return 2
    try:
        generate(args.sf, args.out, parts=args.parts)
    except DatagenError as exc:
        print(f"quiver tpch gen: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"quiver tpch gen: cannot write to {args.out}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    print(f"wrote TPC-H SF {args.sf:g} to {args.out}", file=sys.stderr)
    return 0


def _run(args) -> int:
    from .runner import RunnerError, run
    try:
        queries = parse_query_list(args.queries)
    except ValueError as exc:
        print(f"quiver tpch run: {exc}", file=sys.stderr)
        return 2
    if args.compare:
        from .engines import available
        missing = [n for n in args.compare.split(",") if not available(n)]
        if missing:
            print("quiver tpch run: --compare: not installed here: " + ", ".join(
                f"{n} (pip install {n})" for n in missing), file=sys.stderr)
            return 2
    try:
        results = run(args.data, connect_target=args.connect, queries=queries,
                      runs=args.runs, warmup=args.warmup, check=args.check,
                      compare=args.compare, memory_limit=args.memory_limit,
                      answers_root=Path(args.answers) if args.answers else None,
                      json_out=args.json_out, progress=not args.no_progress,
                      engine=args.engine, query_timeout=args.query_timeout)
    except RunnerError as exc:
        print(f"quiver tpch run: {exc}", file=sys.stderr)
        return 2
    if not results.ok:
        failed = [f"Q{q.query:02d}" for q in results.queries if not q.ok]
        print(f"quiver tpch run: {len(failed)} of {len(results.queries)} queries "
              f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main_tpch(args) -> int:
    """Run `quiver tpch gen|run` from parsed arguments; the exit status."""
    if args.tpch_command == "gen":
        return _gen(args)
    if args.tpch_command == "run":
        return _run(args)
    args._tpch_parser.print_help(sys.stderr)
    return 2
