"""The statements the binder produces: plain frozen dataclasses.

A SELECT becomes `Select(query)`, where `query` is a bound
`logical.BoundQuery`; DDL statements carry names and types only (the session
executes them against the catalog). This module owns no behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ..planner.logical import BoundQuery


class Statement:
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Select(Statement):
    query: BoundQuery


@dataclass(frozen=True, slots=True)
class ColumnDef:
    name: str
    dtype: pa.DataType | None   # None: a partition column whose type is discovered


@dataclass(frozen=True, slots=True)
class CreateExternalTable(Statement):
    name: str
    columns: tuple[ColumnDef, ...]          # empty: take the schema from the files
    location: str
    partitioned_by: tuple[ColumnDef, ...] = ()
    if_not_exists: bool = False
    or_replace: bool = False
    options: tuple[tuple[str, str], ...] = ()      # storage options
    file_format: str = "parquet"                   # or "csv" / "json"
    read_options: tuple[tuple[str, object], ...] = ()   # CSV: header, delimiter


@dataclass(frozen=True, slots=True)
class CreateTableAs(Statement):
    name: str
    query: BoundQuery
    partitioned_by: tuple[str, ...] = ()
    or_replace: bool = False
    if_not_exists: bool = False
    location: str | None = None       # CREATE TABLE ... LOCATION 'uri'; else the warehouse


@dataclass(frozen=True, slots=True)
class CreateView(Statement):
    name: str
    sql_text: str       # the view's query text, in the default (duckdb) dialect
    or_replace: bool = False
    query: BoundQuery | None = None   # bound once at CREATE to check it


@dataclass(frozen=True, slots=True)
class CreateFunction(Statement):
    """A Python UDF known by its import name ('module:function')."""
    name: str
    target: str
    return_type: pa.DataType
    arg_types: tuple | None = None      # None: any arguments
    or_replace: bool = False
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True)
class Drop(Statement):
    kind: str           # 'table' | 'view' | 'function'
    name: str
    if_exists: bool = False


@dataclass(frozen=True, slots=True)
class ShowTables(Statement):
    schema: str | None = None         # SHOW TABLES FROM system


@dataclass(frozen=True, slots=True)
class ShowSchemas(Statement):
    """SHOW SCHEMAS (or SHOW DATABASES): main, and system on a cluster."""


@dataclass(frozen=True, slots=True)
class Describe(Statement):
    name: str | None = None           # DESCRIBE table_or_view
    query: BoundQuery | None = None   # DESCRIBE SELECT ...


@dataclass(frozen=True, slots=True)
class SetOption(Statement):
    """SET name = value (value None: RESET name, back to the default)."""
    name: str
    value: object = None


@dataclass(frozen=True, slots=True)
class CreateTable(Statement):
    """CREATE TABLE name (col type, ...): an empty table under the warehouse."""
    name: str
    columns: tuple[ColumnDef, ...]
    or_replace: bool = False
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True)
class Insert(Statement):
    name: str
    query: BoundQuery           # outputs: every column of the table, in order and type


@dataclass(frozen=True, slots=True)
class Copy(Statement):
    query: BoundQuery
    location: str
    format: str                 # 'parquet' | 'csv' | 'json'
    partition_by: tuple[str, ...] = ()
    options: tuple[tuple[str, object], ...] = ()   # header, delimiter, overwrite[_or_ignore]


@dataclass(frozen=True, slots=True)
class Explain(Statement):
    statement: Statement
    analyze: bool = False
    verbose: bool = False


__all__ = ["Statement", "Select", "ColumnDef", "CreateExternalTable",
           "CreateTableAs", "CreateView", "Drop", "ShowTables", "ShowSchemas", "Describe",
           "CreateTable", "Insert", "Copy", "Explain"]
