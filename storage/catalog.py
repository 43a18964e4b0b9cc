"""The catalog: named tables (Parquet datasets or in-memory tables) and views.

Owns: the name -> entry map of a session or a coordinator, thread-safe.
Names are case-insensitive (stored lower-case); tables and views share one
namespace. A dataset entry remembers how it was opened (location, Hive and
partition options, storage options) so `to_json()`/`from_json()` can keep
the catalog in a file; a dataset read back from JSON is re-opened lazily,
on first use. In-memory tables are not persisted.

`lookup(name)` returns None for an unknown name: the binder raises the
user-facing error with the query position.

Example:

    cat = Catalog()
    cat.register_dataset("lineitem", "data/lineitem/")
    cat.register_view("big", "SELECT * FROM lineitem WHERE l_quantity > 40")
    cat.lookup("LINEITEM").source      # the Dataset
    Catalog.from_json(cat.to_json())   # same tables and views
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..errors import ProgrammingError
from .. import datatypes as dt
from .dataset import Dataset, open_dataset
from .memory import MemoryTable, to_arrow_table

CATALOG_VERSION = 1


@dataclass
class TableEntry:
    """A table (`kind` is "table"). source_kind "dataset": `location` and
    `options` re-create it; source_kind "memory": `source` is a MemoryTable."""
    name: str
    source_kind: str
    location: Any = None
    options: dict = field(default_factory=dict)
    _source: Any = None
    columns: tuple | None = None    # declared (name, wire type) pairs, or None: all
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def source(self) -> Dataset | MemoryTable:
        """The Dataset (opened on first use) or MemoryTable."""
        with self._lock:
            if self._source is None:
                self._source = open_dataset(self.location, **_open_args(self.options))
            return self._source

    @property
    def schema(self) -> pa.Schema:
        return self.source.schema

    @property
    def kind(self) -> str:
        return "table"


@dataclass
class ViewEntry:
    name: str
    sql: str
    kind: str = "view"


def _open_args(options: dict) -> dict:
    args = dict(options)
    if args.get("partition_columns"):
        args["partition_columns"] = [(n, dt.from_wire(t)) for n, t in args["partition_columns"]]
    return args


def _absolute(location: str) -> str:
    """Local relative paths made absolute, so a saved catalog works from any cwd."""
    return location if "://" in location else os.path.abspath(location)


def _options(hive_partitioning, partition_columns, storage_options) -> dict:
    opts: dict[str, Any] = {}
    if hive_partitioning is not None:
        opts["hive_partitioning"] = hive_partitioning
    if partition_columns:
        opts["partition_columns"] = [[n, dt.to_wire(t)] for n, t in partition_columns]
    if storage_options:
        opts["storage_options"] = dict(storage_options)
    return opts


class Catalog:
    """Tables and views by lower-case name (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[str, TableEntry | ViewEntry] = {}
        # Python UDFs: name -> (import name 'module:function', return type as wire name)
        self._functions: dict[str, tuple[str, str]] = {}

    # --- registration -----------------------------------------------------------
    def _put(self, entry, replace: bool) -> None:
        with self._lock:
            old = self._entries.get(entry.name)
            if old is not None and not replace:
                what = "view" if isinstance(old, ViewEntry) else "table"
                raise ProgrammingError(f"{what} {entry.name!r} already exists")
            self._entries[entry.name] = entry

    def register_dataset(self, name: str, location: str | list[str] | Dataset,
                         hive_partitioning: bool | None = None,
                         partition_columns: list[tuple[str, pa.DataType]] | None = None,
                         storage_options: dict | None = None,
                         replace: bool = False,
                         columns: list[tuple[str, pa.DataType]] | None = None) -> TableEntry:
        """Open (now, so errors surface at CREATE) and register a Parquet dataset."""
        if isinstance(location, Dataset):
            ds = location
            given = ds.open_options
            opts = _options(given.get("hive_partitioning") if hive_partitioning is None else hive_partitioning,
                            partition_columns or given.get("partition_columns"),
                            ds.storage_options)
            location = ds.location
        else:
            opts = _options(hive_partitioning, partition_columns, storage_options)
            ds = open_dataset(location, **_open_args(opts))
        loc = _absolute(location) if isinstance(location, str) else [_absolute(x) for x in location]
        declared = tuple((n, dt.to_wire(t)) for n, t in columns) if columns else None
        entry = TableEntry(name.lower(), "dataset", loc, opts, ds, declared)
        self._put(entry, replace)
        return entry

    def register_table(self, name: str, table, replace: bool = False) -> TableEntry:
        """Register an in-memory table (pa.Table, batches or a pandas DataFrame)."""
        mem = MemoryTable(name.lower(), to_arrow_table(table))
        entry = TableEntry(name.lower(), "memory", None, {}, mem)
        self._put(entry, replace)
        return entry

    def register_view(self, name: str, sql: str, replace: bool = False) -> ViewEntry:
        entry = ViewEntry(name.lower(), sql)
        with self._lock:
            old = self._entries.get(entry.name)
            if isinstance(old, TableEntry) and replace:
                raise ProgrammingError(f"{entry.name!r} is a table, not a view")
            self._put(entry, replace)
        return entry

    def register_function(self, name: str, target: str, return_type: pa.DataType,
                          replace: bool = False) -> None:
        """A Python UDF by its import name; only the name is kept and sent."""
        key = name.lower()
        with self._lock:
            if key in self._functions and not replace:
                raise ProgrammingError(f"function {key!r} already exists")
            self._functions[key] = (target, dt.to_wire(return_type))

    def drop_function(self, name: str, if_exists: bool = False) -> bool:
        with self._lock:
            if self._functions.pop(name.lower(), None) is None:
                if if_exists:
                    return False
                raise ProgrammingError(f"function {name.lower()!r} does not exist")
            return True

    def function(self, name: str) -> tuple[str, pa.DataType] | None:
        """(import name, return type) of a Python UDF, or None."""
        with self._lock:
            entry = self._functions.get(name.lower())
        return None if entry is None else (entry[0], dt.from_wire(entry[1]))

    # --- queries ----------------------------------------------------------------
    def lookup(self, name: str) -> TableEntry | ViewEntry | None:
        with self._lock:
            return self._entries.get(name.lower())

    def drop(self, name: str, kind: str = "table", if_exists: bool = False) -> bool:
        """Remove a table (kind "table") or view (kind "view"); True if removed."""
        key = name.lower()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                if if_exists:
                    return False
                raise ProgrammingError(f"{kind} {key!r} does not exist")
            is_view = isinstance(entry, ViewEntry)
            if (kind == "view") != is_view:
                actual = "a view" if is_view else "a table"
                raise ProgrammingError(f"{key!r} is {actual}, use DROP {'VIEW' if is_view else 'TABLE'}")
            del self._entries[key]
            return True

    def entries(self) -> list[tuple[str, str]]:
        """(name, kind) pairs sorted by name; kind is "table" or "view"."""
        with self._lock:
            return sorted((n, e.kind) for n, e in self._entries.items())

    def list(self) -> list[str]:
        """Every table and view name, sorted."""
        return [n for n, _ in self.entries()]

    def memory_tables(self) -> dict[str, pa.Table]:
        """name -> pa.Table of the in-memory tables (for ExecContext.memory_tables)."""
        with self._lock:
            return {n: e._source.table for n, e in self._entries.items()
                    if isinstance(e, TableEntry) and e.source_kind == "memory"}

    def __contains__(self, name: str) -> bool:
        return self.lookup(name) is not None

    # --- persistence ------------------------------------------------------------
    def to_json(self) -> str:
        """Datasets and views as JSON (in-memory tables are left out)."""
        with self._lock:
            tables, views = [], []
            for n, e in sorted(self._entries.items()):
                if isinstance(e, ViewEntry):
                    views.append({"name": n, "sql": e.sql})
                elif e.source_kind == "dataset":
                    tables.append({"name": n, "location": e.location, "options": e.options,
                                   "columns": e.columns})
            functions = [{"name": n, "target": t, "returns": r}
                         for n, (t, r) in sorted(self._functions.items())]
        return json.dumps({"version": CATALOG_VERSION, "tables": tables, "views": views,
                           "functions": functions}, indent=1, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> "Catalog":
        data = json.loads(text)
        if data.get("version") != CATALOG_VERSION:
            raise ProgrammingError(f"unsupported catalog version {data.get('version')!r}")
        cat = cls()
        for t in data.get("tables", []):
            columns = t.get("columns")
            cat._entries[t["name"]] = TableEntry(
                t["name"], "dataset", t["location"], dict(t.get("options") or {}),
                columns=tuple(tuple(c) for c in columns) if columns else None)
        for v in data.get("views", []):
            cat._entries[v["name"]] = ViewEntry(v["name"], v["sql"])
        for f in data.get("functions", []):
            cat._functions[f["name"]] = (f["target"], f["returns"])
        return cat
