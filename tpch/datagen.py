"""TPC-H data generation: one Parquet folder per table, via `tpchgen-cli`.

Owns: finding the `tpchgen-cli` executable, invoking it, and laying the
output out as `out/<table>/<table>.<n>.parquet` (one folder per table, so
that every table registers the same way whether it has one file or many).
Does not own: reading the data back (the runner) or checking answers.

The large tables (lineitem, orders, partsupp, part, customer) are split into
`parts` files; the small ones (supplier, nation, region) are one file each.

What `tpchgen-cli` 4.x writes (checked at SF 0.01): keys as int64, other
integers (l_linenumber, o_shippriority, p_size, ps_availqty) as int32, money
and quantities as decimal128(15, 2), dates as date32, and every text column
as `string_view` (the engine's scan normalizes that to string). All columns
are non-nullable. It is a port of dbgen and writes the same rows, so the
spec's answers hold.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

TABLES = ("lineitem", "orders", "partsupp", "part", "customer",
          "supplier", "nation", "region")
LARGE_TABLES = ("lineitem", "orders", "partsupp", "part", "customer")
SMALL_TABLES = ("supplier", "nation", "region")

INSTALL_HINT = ("tpchgen-cli is not installed; install it with "
                "`pip install quiver-sql[tpch]` (or `pip install tpchgen-cli`)")


class DatagenError(RuntimeError):
    """Data generation failed (missing tool, bad arguments, tool error)."""


def find_tpchgen() -> str:
    """Path of the `tpchgen-cli` executable: next to this Python first (the
    same virtualenv), then on PATH. Raises DatagenError if there is none."""
    exe = "tpchgen-cli.exe" if os.name == "nt" else "tpchgen-cli"
    beside = Path(sys.executable).parent / exe
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("tpchgen-cli")
    if found:
        return found
    raise DatagenError(INSTALL_HINT)


def _format_sf(sf: float) -> str:
    return f"{sf:g}"


def _clear_generated(out: Path, tables: tuple[str, ...]) -> None:
    """Remove files a previous run of ours left (`<table>.<n>.parquet`), so a
    run with fewer parts does not leave stale extra parts behind. Nothing else
    in the folders is touched."""
    for table in tables:
        folder = out / table
        if not folder.is_dir():
            continue
        pattern = re.compile(rf"{re.escape(table)}\.\d+\.parquet")
        for path in folder.iterdir():
            if pattern.fullmatch(path.name):
                path.unlink()


def _invoke(exe: str, sf: float, out: Path, tables: tuple[str, ...],
            parts: int) -> None:
    cmd = [exe, "parquet", "--scale-factor", _format_sf(sf),
           "--output-dir", str(out), "--tables", ",".join(tables),
           "--parts", str(parts), "--overwrite", "--quiet"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:  # the executable vanished or is not runnable
        raise DatagenError(f"could not run {exe}: {exc}. {INSTALL_HINT}") from exc
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise DatagenError(
            f"tpchgen-cli failed (exit {proc.returncode}): {' '.join(cmd)}\n{detail}")


def generate(sf: float, out: str, parts: int = 1) -> None:
    """Write the 8 TPC-H tables at scale factor `sf` as Parquet under `out`:
    `out/<table>/<table>.<n>.parquet`, the large tables in `parts` files."""
    if not sf > 0:
        raise DatagenError(f"scale factor must be positive, got {sf}")
    if parts < 1:
        raise DatagenError(f"parts must be at least 1, got {parts}")
    exe = find_tpchgen()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    _clear_generated(root, TABLES)
    _invoke(exe, sf, root, LARGE_TABLES, parts)
    _invoke(exe, sf, root, SMALL_TABLES, 1)
    missing = [t for t in TABLES if not any((root / t).glob("*.parquet"))]
    if missing:
        raise DatagenError(f"tpchgen-cli wrote no files for: {', '.join(missing)}")


def table_dirs(data_dir: str) -> dict[str, str]:
    """The TPC-H tables found directly under `data_dir`: name -> location.
    A table is a folder `<name>/` holding Parquet files or a file
    `<name>.parquet` (what tpchgen-cli writes without --parts)."""
    root = Path(data_dir)
    found: dict[str, str] = {}
    for table in TABLES:
        folder = root / table
        single = root / f"{table}.parquet"
        if folder.is_dir() and any(folder.glob("*.parquet")):
            found[table] = str(folder)
        elif single.is_file():
            found[table] = str(single)
    return found
