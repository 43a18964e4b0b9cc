"""Telling a TPC-H data set's scale factor from its row counts.

Owns: counting rows from Parquet footers (no data is read) and turning
counts into a scale factor. ORDERS has exactly 1,500,000 x SF rows, so it
decides when present; otherwise LINEITEM (about 6,000,000 x SF rows; SF 1
has 6,001,215) gives the nearest known scale factor.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from .datagen import table_dirs

ORDERS_PER_SF = 1_500_000
# exact LINEITEM row counts of dbgen / tpchgen-cli output
LINEITEM_ROWS = {
    0.01: 60_175,
    0.1: 600_572,
    1.0: 6_001_215,
    10.0: 59_986_052,
    100.0: 600_037_902,
}


def parquet_row_count(location: str) -> int:
    """Rows in a Parquet file or in all `*.parquet` files of a folder."""
    path = Path(location)
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _round_sf(sf: float) -> float:
    return float(f"{sf:.6g}")


def detect_scale_factor(data_dir: str) -> float | None:
    """The scale factor of the TPC-H data under `data_dir`, or None if it has
    neither an orders nor a lineitem table."""
    tables = table_dirs(data_dir)
    if "orders" in tables:
        return _round_sf(parquet_row_count(tables["orders"]) / ORDERS_PER_SF)
    if "lineitem" in tables:
        rows = parquet_row_count(tables["lineitem"])
        for sf, count in LINEITEM_ROWS.items():
            if rows == count:
                return sf
        return _round_sf(rows / 6_000_000)
    return None
