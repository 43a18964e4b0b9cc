"""The Flight SQL metadata tables: catalogs, schemas, tables, table types,
primary keys and server information, in the layouts the protocol fixes.

Quiver has one catalog level: every table and view lives in the schema
`main` of an unnamed catalog. Filter patterns use the protocol's LIKE rules
(`%` any run, `_` one character).
"""

from __future__ import annotations

import re
from typing import Callable

import pyarrow as pa

from .. import __version__
from .proto import flight_sql_pb2 as fsql

SCHEMA_NAME = "main"
TABLE_TYPES = ("TABLE", "VIEW")

_SQL_INFO_VALUE = pa.union([
    pa.field("string_value", pa.string()),
    pa.field("bool_value", pa.bool_()),
    pa.field("bigint_value", pa.int64()),
    pa.field("int32_bitmask", pa.int32()),
    pa.field("string_list", pa.list_(pa.string())),
    pa.field("int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.int32()))),
], mode="dense")

# SqlInfo id -> (union slot, value): what Quiver says about itself
_SQL_INFO = {
    0: (0, "Quiver"),                       # FLIGHT_SQL_SERVER_NAME
    1: (0, __version__),                    # FLIGHT_SQL_SERVER_VERSION
    2: (0, pa.__version__),                 # FLIGHT_SQL_SERVER_ARROW_VERSION
    3: (1, False),                          # FLIGHT_SQL_SERVER_READ_ONLY
    4: (1, True),                           # FLIGHT_SQL_SERVER_SQL
    5: (1, False),                          # FLIGHT_SQL_SERVER_SUBSTRAIT
    8: (3, 0),                              # FLIGHT_SQL_SERVER_TRANSACTION: none
    9: (1, True),                           # FLIGHT_SQL_SERVER_CANCEL
    504: (0, '"'),                          # SQL_IDENTIFIER_QUOTE_CHAR
}


def like_regex(pattern: str | None) -> re.Pattern | None:
    if pattern is None:
        return None
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("^" + "".join(parts) + "$", re.S)


def _matches(regex: re.Pattern | None, value: str) -> bool:
    return regex is None or bool(regex.match(value))


def sql_info_table(wanted: list[int]) -> pa.Table:
    ids = [i for i in (wanted or sorted(_SQL_INFO)) if i in _SQL_INFO]
    slots = [[] for _ in range(6)]
    type_ids, offsets = [], []
    for i in ids:
        slot, value = _SQL_INFO[i]
        type_ids.append(slot)
        offsets.append(len(slots[slot]))
        slots[slot].append(value)
    children = [pa.array(values, type=_SQL_INFO_VALUE.field(k).type)
                for k, values in enumerate(slots)]
    value = pa.UnionArray.from_dense(pa.array(type_ids, pa.int8()), pa.array(offsets, pa.int32()),
                                     children, [f.name for f in _SQL_INFO_VALUE],
                                     list(range(6)))
    schema = pa.schema([pa.field("info_name", pa.uint32(), nullable=False),
                        pa.field("value", _SQL_INFO_VALUE, nullable=False)])
    return pa.Table.from_arrays([pa.array(ids, pa.uint32()), value], schema=schema)


def tables_table(cmd, entries: list[tuple[str, str]],
                 table_schema: Callable[[str], pa.Schema]) -> pa.Table:
    schema_re = like_regex(cmd.db_schema_filter_pattern
                           if cmd.HasField("db_schema_filter_pattern") else None)
    name_re = like_regex(cmd.table_name_filter_pattern
                         if cmd.HasField("table_name_filter_pattern") else None)
    wanted_types = set(cmd.table_types)
    rows = []
    if (not cmd.HasField("catalog") or cmd.catalog == "") and _matches(schema_re, SCHEMA_NAME):
        for name, kind in sorted(entries):
            table_type = "VIEW" if kind == "view" else "TABLE"
            if _matches(name_re, name) and (not wanted_types or table_type in wanted_types):
                rows.append((name, table_type))
    fields = [pa.field("catalog_name", pa.string()), pa.field("db_schema_name", pa.string()),
              pa.field("table_name", pa.string(), nullable=False),
              pa.field("table_type", pa.string(), nullable=False)]
    arrays = [pa.nulls(len(rows), pa.string()), pa.array([SCHEMA_NAME] * len(rows), pa.string()),
              pa.array([n for n, _ in rows], pa.string()),
              pa.array([t for _, t in rows], pa.string())]
    if cmd.include_schema:
        fields.append(pa.field("table_schema", pa.binary(), nullable=False))
        arrays.append(pa.array([table_schema(n).serialize().to_pybytes() for n, _ in rows],
                               pa.binary()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def metadata_table(cmd, catalog_entries: Callable[[], list[tuple[str, str]]],
                   table_schema: Callable[[str], pa.Schema]) -> pa.Table:
    """The answer to one metadata command."""
    if isinstance(cmd, fsql.CommandGetCatalogs):
        return pa.table({"catalog_name": pa.array([], pa.string())},
                        schema=pa.schema([pa.field("catalog_name", pa.string(), nullable=False)]))
    if isinstance(cmd, fsql.CommandGetDbSchemas):
        pattern = like_regex(cmd.db_schema_filter_pattern
                             if cmd.HasField("db_schema_filter_pattern") else None)
        names = [SCHEMA_NAME] if (_matches(pattern, SCHEMA_NAME)
                                  and (not cmd.HasField("catalog") or cmd.catalog == "")) else []
        schema = pa.schema([pa.field("catalog_name", pa.string()),
                            pa.field("db_schema_name", pa.string(), nullable=False)])
        return pa.Table.from_arrays([pa.nulls(len(names), pa.string()),
                                     pa.array(names, pa.string())], schema=schema)
    if isinstance(cmd, fsql.CommandGetTables):
        return tables_table(cmd, catalog_entries(), table_schema)
    if isinstance(cmd, fsql.CommandGetTableTypes):
        schema = pa.schema([pa.field("table_type", pa.string(), nullable=False)])
        return pa.Table.from_arrays([pa.array(list(TABLE_TYPES), pa.string())], schema=schema)
    if isinstance(cmd, fsql.CommandGetPrimaryKeys):
        schema = pa.schema([pa.field("catalog_name", pa.string()),
                            pa.field("db_schema_name", pa.string()),
                            pa.field("table_name", pa.string(), nullable=False),
                            pa.field("column_name", pa.string(), nullable=False),
                            pa.field("key_name", pa.string()),
                            pa.field("key_sequence", pa.int32(), nullable=False)])
        return schema.empty_table()             # Quiver tables have no primary keys
    if isinstance(cmd, fsql.CommandGetSqlInfo):
        return sql_info_table(list(cmd.info))
    raise ValueError(f"not a metadata command: {type(cmd).__name__}")
