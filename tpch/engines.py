"""The engines the TPC-H runner drives: Quiver itself, and DuckDB and
DataFusion as references (for `--compare duckdb,datafusion`; DuckDB also
produces answers and stands in for Quiver in tests).

Owns: a small adapter shape, `Engine`, with `register(table, location)`,
`query(sql) -> (column_names, rows)` and `close()`; and the factories that
build one from a name. Does not own timing, checking or reporting.

DuckDB and DataFusion are benchmark dependencies only: each is imported
inside its engine, never at module import, so Quiver runs without them.
Every engine takes `memory_limit` (bytes or text like "4GB"): Quiver's
`connect(memory_limit=...)`, DuckDB's `SET memory_limit`, DataFusion's fair
spill pool.
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

    def __init__(self, target: str | None = None, memory_limit: str | int | None = None):
        import quiver
        self.target = target
        options = {} if memory_limit is None else {"memory_limit": memory_limit}
        self.con = quiver.connect(target, **options)

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

    def __init__(self, threads: int | None = None, memory_limit: str | int | None = None):
        try:
            import duckdb
        except ImportError as exc:
            raise RuntimeError(
                "the duckdb package is not installed; `pip install duckdb` "
                "to compare with DuckDB") from exc
        self.con = duckdb.connect()
        if threads:
            self.con.execute(f"SET threads TO {int(threads)}")
        if memory_limit is not None:
            self.con.execute(f"SET memory_limit = {_quote(f'{_bytes(memory_limit)}B')}")

    def register(self, table: str, location: str) -> None:
        path = Path(location)
        pattern = str(path / "*.parquet") if path.is_dir() else str(path)
        self.con.execute(f"CREATE OR REPLACE VIEW {table} AS "
                         f"SELECT * FROM read_parquet({_quote(pattern)})")

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        return _run_cursor(self.con.cursor(), sql)

    def close(self) -> None:
        self.con.close()


class DataFusionEngine:
    """Apache DataFusion's Python bindings in process (`pip install datafusion`),
    each table registered as a Parquet listing table."""

    name = "datafusion"

    def __init__(self, memory_limit: str | int | None = None):
        try:
            import datafusion
        except ImportError as exc:
            raise RuntimeError(
                "the datafusion package is not installed; `pip install datafusion` "
                "to compare with DataFusion") from exc
        runtime = None
        if memory_limit is not None:
            runtime = datafusion.RuntimeEnvBuilder().with_fair_spill_pool(_bytes(memory_limit))
        self.ctx = datafusion.SessionContext(runtime=runtime)

    def register(self, table: str, location: str) -> None:
        path = Path(location)
        where = str(path) + "/" if path.is_dir() else str(path)
        self.ctx.register_parquet(table, where)

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        table = self.ctx.sql(sql).to_arrow_table()
        columns = [col.to_pylist() for col in table.columns]
        rows = list(zip(*columns)) if columns else [()] * table.num_rows
        return list(table.column_names), rows

    def close(self) -> None:
        self.ctx = None


ENGINES = ("quiver", "duckdb", "datafusion")
_MODULES = {"duckdb": "duckdb", "datafusion": "datafusion"}


def available(name: str) -> bool:
    """Is the engine called `name` importable here?"""
    module = _MODULES.get(name)
    if module is None:
        return name == "quiver"
    import importlib.util
    return importlib.util.find_spec(module) is not None


def duckdb_available() -> bool:
    return available("duckdb")


def _bytes(size: str | int) -> int:
    from ..executor.memory import parse_size
    return parse_size(size)


def engine_factory(name: str = "quiver", target: str | None = None,
                   memory_limit: str | int | None = None) -> EngineFactory:
    """A factory for the engine called `name` ("quiver", "duckdb" or "datafusion")."""
    if name == "quiver":
        return lambda: QuiverEngine(target, memory_limit)
    if name == "duckdb":
        return lambda: DuckDBEngine(memory_limit=memory_limit)
    if name == "datafusion":
        return lambda: DataFusionEngine(memory_limit)
    raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
