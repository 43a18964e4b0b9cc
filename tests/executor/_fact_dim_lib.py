"""A fact and a dimension table as Parquet folders, read by Quiver and by
DuckDB (the oracle): shared by the join filter tests (runtime filters, scan
key filters)."""

from __future__ import annotations

import os

import duckdb
import pyarrow.parquet as pq

TABLES = ("fact", "dim")


def write_tables(root, tables: dict, row_group_size: int) -> str:
    """Each table as `root/<name>/part.parquet`; returns root as a string."""
    for name, t in tables.items():
        os.makedirs(root / name)
        pq.write_table(t, str(root / name / "part.parquet"), row_group_size=row_group_size)
    return str(root)


def register(con, data: str) -> None:
    for name in TABLES:
        con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{data}/{name}'")


def duckdb_rows(data: str, sql: str) -> list:
    """DuckDB's answer over the same files, sorted by repr."""
    con = duckdb.connect()
    for name in TABLES:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{data}/{name}/*.parquet')")
    return sorted(con.execute(sql).fetchall(), key=repr)
