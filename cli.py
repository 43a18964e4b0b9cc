"""The `quiver` command: shell, sql, tpch, coordinator, worker, local.

Each command family registers its own subparser (`register(subparsers)`)
and runs through the function it sets as `func`; this module only composes
them and turns a `quiver.Error` into a one-line message and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# modules that add commands: each has register(subparsers)
COMMAND_MODULES = ("quiver.shell.sqlcmd", "quiver.shell", "quiver.tpch.commands",
                   "quiver.cluster.commands", "quiver.cluster.flight_sql_service")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="quiver", description="Quiver: distributed SQL over partitioned Parquet")
    parser.add_argument("--version", action="version", version=f"quiver {__version__}")
    sub = parser.add_subparsers(dest="command")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from . import errors
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:
        argv = ["shell"]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except errors.Error as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
