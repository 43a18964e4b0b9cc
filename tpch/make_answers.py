"""Regenerating the committed reference answers `tpch/answers/sf<SF>/qNN.csv`.

Owns: generating data for a scale factor (into a temporary folder, never
into the repository), running the 22 queries with DuckDB over the Parquet
folders, and writing each result as CSV with a header.

DuckDB is a test/benchmark dependency: it is imported only when this runs.

    python -m quiver.tpch.make_answers                 # SF 0.01, 0.1 and 1
    python -m quiver.tpch.make_answers --sf 0.1 --data /tmp/tpch-sf0.1
    python -m quiver.tpch.make_answers --sf 1 --out /tmp/answers

With --data the data already there is used (it must be at that SF);
otherwise it is generated with tpchgen-cli into a temporary folder that is
removed afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .check import ANSWERS_DIR, answer_dir, write_answer_csv
from .datagen import generate, table_dirs
from .querylib import ALL_QUERIES, query_text

DEFAULT_SCALE_FACTORS = (0.01, 0.1, 1.0)


def answers_from_data(data_dir: str, sf: float, out_root: Path = ANSWERS_DIR,
                      queries=ALL_QUERIES) -> Path:
    """Run the queries with DuckDB over `data_dir` and write the answers for
    `sf` under `out_root`; returns the answer folder."""
    from .engines import DuckDBEngine

    engine = DuckDBEngine()
    try:
        for table, location in table_dirs(data_dir).items():
            engine.register(table, location)
        target = answer_dir(sf, out_root)
        for n in queries:
            names, rows = engine.query(query_text(n))
            write_answer_csv(target / f"q{n:02d}.csv", names, rows)
    finally:
        engine.close()
    return target


def make_answers(sf: float, out_root: Path = ANSWERS_DIR,
                 data_dir: str | None = None) -> Path:
    """Answers for one scale factor, generating the data if not given."""
    if data_dir is not None:
        return answers_from_data(data_dir, sf, out_root)
    with tempfile.TemporaryDirectory(prefix=f"quiver-tpch-sf{sf:g}-") as tmp:
        generate(sf, tmp)
        return answers_from_data(tmp, sf, out_root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m quiver.tpch.make_answers",
        description="Regenerate the TPC-H reference answers with DuckDB.")
    parser.add_argument("--sf", type=float, action="append",
                        help="scale factor (repeatable; default 0.01, 0.1, 1)")
    parser.add_argument("--data", help="use this data (one --sf only)")
    parser.add_argument("--out", default=str(ANSWERS_DIR),
                        help="answers root (default: the package's answers/)")
    args = parser.parse_args(argv)
    sfs = args.sf or list(DEFAULT_SCALE_FACTORS)
    if args.data and len(sfs) != 1:
        parser.error("--data needs exactly one --sf")
    for sf in sfs:
        target = make_answers(sf, Path(args.out), args.data)
        print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
