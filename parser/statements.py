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
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CreateTableAs(Statement):
    name: str
    query: BoundQuery
    partitioned_by: tuple[str, ...] = ()
    or_replace: bool = False
    if_not_exists: bool = False


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
    pass


@dataclass(frozen=True, slots=True)
class Describe(Statement):
    name: str | None = None           # DESCRIBE table_or_view
    query: BoundQuery | None = None   # DESCRIBE SELECT ...


@dataclass(frozen=True, slots=True)
class Explain(Statement):
    statement: Statement
    analyze: bool = False
    verbose: bool = False


__all__ = ["Statement", "Select", "ColumnDef", "CreateExternalTable",
           "CreateTableAs", "CreateView", "Drop", "ShowTables", "Describe",
           "Explain"]
