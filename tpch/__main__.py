"""`python -m quiver.tpch gen|run ...`: the `quiver tpch` command without the
rest of the CLI."""

from __future__ import annotations

import argparse
import sys

from .commands import add_arguments, main_tpch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quiver.tpch",
                                     description="TPC-H data generation and query runner.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return main_tpch(args)


if __name__ == "__main__":
    sys.exit(main())
