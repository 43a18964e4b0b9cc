"""The engines the TPC-H runner drives: Quiver itself, and DuckDB as a
reference (for `--compare duckdb`, for producing answers, and as a stand-in
in tests).

Owns: a small adapter shape, `Engine`, with `register(table, location)`,
`query(sql) -> (column_names, rows)` and `close()`; and the factories that
build one from a name. Does not own timing, checking or reporting.

DuckDB is a test/benchmark dependency only: it is imported inside
`DuckDBEngine`, never at module import, so Quiver runs without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol


class Engine(Protocol):
    """What the runner needs from an engine."""

    name: str

    def register(self, table: str, location: str) -> None: ...

    def query(self, sql: str) -> tuple[list[str], list[tuple]]: ...

    def close(self) -> None: ...


EngineFactory = Callable[[], Engine]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _run_cursor(cur, sql: str) -> tuple[list[str], list[tuple]]:
    cur.execute(sql)
    rows = cur.fetchall()
    names = [d[0] for d in (cur.description or ())]
    return names, [tuple(r) for r in rows]


class QuiverEngine:
    """Quiver through its DB-API: `quiver.connect(target)`."""

    name = "quiver"

    def __init__(self, target: str | None = None):
        import quiver
        self.target = target
        self.con = quiver.connect(target)

    def register(self, table: str, location: str) -> None:
        cur = self.con.cursor()
        cur.execute(f"CREATE EXTERNAL TABLE {table} STORED AS PARQUET "
                    f"LOCATION {_quote(location)}")
        cur.close()

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        cur = self.con.cursor()
        try:
            return _run_cursor(cur, sql)
        finally:
            cur.close()

    def close(self) -> None:
        self.con.close()


class DuckDBEngine:
    """DuckDB in process, each table a view over `read_parquet`."""

    name = "duckdb"

    def __init__(self, threads: int | None = None):
        try:
            import duckdb
        except ImportError as exc:
            raise RuntimeError(
                "the duckdb package is not installed; `pip install duckdb` "
                "to compare with DuckDB") from exc
        self.con = duckdb.connect()
        if threads:
            self.con.execute(f"SET threads TO {int(threads)}")

    def register(self, table: str, location: str) -> None:
        path = Path(location)
        pattern = str(path / "*.parquet") if path.is_dir() else str(path)
        self.con.execute(f"CREATE OR REPLACE VIEW {table} AS "
                         f"SELECT * FROM read_parquet({_quote(pattern)})")

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        return _run_cursor(self.con.cursor(), sql)

    def close(self) -> None:
        self.con.close()


def duckdb_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def engine_factory(name: str = "quiver", target: str | None = None) -> EngineFactory:
    """A factory for the engine called `name` ("quiver" or "duckdb")."""
    if name == "quiver":
        return lambda: QuiverEngine(target)
    if name == "duckdb":
        return DuckDBEngine
    raise ValueError(f"unknown engine {name!r}: expected 'quiver' or 'duckdb'")
