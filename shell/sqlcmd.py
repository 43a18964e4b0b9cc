"""`quiver sql`: run SQL from a script and print the results.

    quiver sql --data tpch-data -c "SELECT count(*) FROM lineitem"
    quiver sql -f report.sql --format csv --output report.csv
    echo "SELECT 1; SELECT 2" | quiver sql --format json
    quiver sql -c "SELECT * FROM t" --format parquet --output t.parquet

On a terminal, a statement running longer than a moment shows a progress
line on stderr; Ctrl-C cancels it and exits with status 130 (a second
Ctrl-C exits at once).

Statements separated by `;` run in order; each one that returns rows prints
them in the chosen format (table, csv, json; parquet writes the last result
to --output). The exit status is 0 when every statement ran, 1 at the first
failing one (its error, with a caret for a position, on stderr; error
positions count lines from the start of the script), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import TextIO

from .. import errors
from .common import format_error, open_connection, split_commands
from .export import FORMATS, write_csv, write_json, write_parquet
from .render import footer, is_explain, render, render_explain
from .run import Abandoned, QueryRunner


def read_script(args) -> str:
    if args.command_text is not None:
        return args.command_text
    if args.file is not None:
        if args.file == "-":
            return sys.stdin.read()
        with open(args.file, encoding="utf-8") as f:
            return f.read()
    return sys.stdin.read()


def print_result(table, fmt: str, out: TextIO, width: int | None) -> None:
    if fmt == "csv":
        write_csv(table, out)
    elif fmt == "json":
        write_json(table, out)
    elif is_explain(table):
        out.write(render_explain(table) + "\n")
    else:
        out.write(render(table, width=width, max_rows=None) + "\n"
                  + footer(table.num_rows) + "\n")


def run_script(con, text: str, fmt: str, out: TextIO | None, output_path: str | None,
               err: TextIO) -> int:
    """Run every statement of `text`; returns the exit status."""
    commands, _ = split_commands(text, final=True)
    if not commands:
        err.write("quiver sql: no SQL to run\n")
        return 2
    width = None
    if out is sys.stdout and _isatty(out):
        width = shutil.get_terminal_size().columns
    last = None
    printed = 0
    runner = QueryRunner(con, progress_stream=err if _isatty(err) else None)
    for cmd in commands:
        outcome = runner.run(cmd.padded_sql)     # a second Ctrl-C raises Abandoned
        if outcome.error is not None:
            err.write(format_error(outcome.error, text) + "\n")
            return 130 if runner.interrupted else 1
        for message in outcome.messages:
            err.write(f"{message}\n")
        table = outcome.table
        if table is None:
            continue
        last = table
        if fmt != "parquet":
            if printed and fmt != "json":
                out.write("\n")
            print_result(table, fmt, out, width)
            out.flush()
            printed += 1
    if fmt == "parquet":
        if last is None:
            err.write("quiver sql: no statement returned rows to write as parquet\n")
            return 1
        write_parquet(last, output_path)
    return 0


def run_sql_command(args) -> int:
    if args.format == "parquet" and not args.output:
        print("quiver sql: --format parquet needs --output FILE", file=sys.stderr)
        return 2
    try:
        text = read_script(args)
    except OSError as exc:
        print(f"quiver sql: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        con = open_connection(args.connect, args.data, getattr(args, "db", None))
    except errors.Error as exc:
        print(format_error(exc), file=sys.stderr)
        return 1
    out: TextIO | None = None
    try:
        if args.format == "parquet":
            out = None
        elif args.output:
            out = open(args.output, "w", encoding="utf-8", newline="")
        else:
            out = sys.stdout
        return run_script(con, text, args.format, out, args.output, sys.stderr)
    except Abandoned:
        # Ctrl-C twice: the query did not stop in time; do not wait for its
        # threads (the interpreter would join them at exit)
        print("quiver sql: interrupted", file=sys.stderr)
        sys.stderr.flush()
        os._exit(130)
    except BrokenPipeError:             # the reader went away (| head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"quiver sql: {exc}", file=sys.stderr)
        return 1
    except errors.Error as exc:
        print(format_error(exc, text), file=sys.stderr)
        return 1
    except Exception as exc:            # noqa: BLE001 - never a traceback
        print(format_error(exc), file=sys.stderr)
        return 1
    finally:
        if out is not None and out is not sys.stdout:
            out.close()
        con.close()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sql", help="run SQL from -c, -f or stdin and print the results",
        description="Run SQL statements (separated by ';') and print each result.")
    p.add_argument("--connect", metavar="TARGET", default=None,
                   help="local[N] or quiver://host:port (default: $QUIVER_CONNECT, "
                        "else the embedded engine)")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="register every Parquet file or folder under DIR as a table "
                        "named after it (default: none)")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="a database folder to keep tables and views in (created if "
                        "missing; default: in memory)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("-c", "--command", dest="command_text", metavar="SQL", default=None,
                     help="the SQL to run (default: read -f FILE, else stdin)")
    src.add_argument("-f", "--file", metavar="FILE", default=None,
                     help="read the SQL from FILE ('-' for stdin; default: stdin)")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="result format (default table); parquet writes the last "
                        "result to --output")
    p.add_argument("--output", "-o", metavar="FILE", default=None,
                   help="write results to FILE (default: stdout)")
    p.set_defaults(func=run_sql_command)
