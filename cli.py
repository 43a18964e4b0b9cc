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
                   "quiver.cluster.commands", "quiver.cluster.flight_sql_service",
                   "quiver.cluster.chaos_command")
# the module of each command, so `quiver sql -c ...` imports only what `sql`
# needs (not prompt-toolkit, nor the TPC-H tools); other words load them all
COMMAND_MODULE = {"sql": "quiver.shell.sqlcmd", "shell": "quiver.shell",
                  "tpch": "quiver.tpch.commands", "coordinator": "quiver.cluster.commands",
                  "worker": "quiver.cluster.commands", "local": "quiver.cluster.commands",
                  "serve": "quiver.cluster.flight_sql_service",
                  "chaos": "quiver.cluster.chaos_command"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    from . import __version__, config
    parser = argparse.ArgumentParser(
        prog="quiver", description="Quiver: distributed SQL over partitioned Parquet")
    parser.add_argument("--version", action="version", version=f"quiver {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    one = COMMAND_MODULE.get(command or "")
    for name in (one,) if one else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _config_defaults(parser, config.load(), "")
    return parser


def _config_defaults(parser: argparse.ArgumentParser, values: dict, where: str) -> None:
    """Options' defaults from the config file: [coordinator] for `quiver
    coordinator`, [tpch.run] for `quiver tpch run` (config.py)."""
    from . import config
    subs = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            subs = action.choices
    known = {a.dest for a in parser._actions if a.option_strings and a.dest != "help"}
    own = {}
    for key, value in values.items():
        if isinstance(value, dict) and key in subs:
            _config_defaults(subs[key], value, f"{where}.{key}".lstrip("."))
        elif where:
            own[key] = value
    if where and own:
        parser.set_defaults(**config.command_defaults(where, own, known))


class _NoPandas:
    """An import finder that says pandas is absent (see _skip_pandas_probe)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            raise ModuleNotFoundError("pandas is not probed by the quiver command")
        return None


def _skip_pandas_probe() -> None:
    """pyarrow imports pandas (about 0.2 s) the first time it converts a
    Python value, only to ask whether the value is a pandas object. No
    command passes pandas objects, so the command lets that probe find no
    pandas: pyarrow remembers the answer for its probes, and still imports
    pandas for real if something converts to or from pandas. Library users
    (`import quiver`) are not affected."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)


def main(argv: list[str] | None = None) -> int:
    from . import errors
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        argv = ["shell"]
    try:
        parser = build_parser(argv[0])
    except errors.Error as exc:                 # a bad config file
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _skip_pandas_probe()
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
