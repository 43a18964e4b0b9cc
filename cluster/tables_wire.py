"""Arrow tables and query parameters as bytes for the control plane.

Small tables (system tables, registered tables, inline results) and
parameter lists travel as Arrow IPC stream bytes inside gRPC messages:
typed, and not executable.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.ipc as ipc


def table_to_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def table_from_bytes(data: bytes) -> pa.Table:
    return ipc.open_stream(pa.py_buffer(data)).read_all()


def schema_to_bytes(schema: pa.Schema) -> bytes:
    return schema.serialize().to_pybytes()


def schema_from_bytes(data: bytes) -> pa.Schema:
    return ipc.read_schema(pa.py_buffer(data))


def params_to_bytes(params) -> bytes:
    """A parameter list (plain Python values) as a one-row table, column i = parameter i."""
    if params is None:
        return b""
    if isinstance(params, dict):
        raise TypeError("named parameters are not supported: use a sequence (qmark style)")
    params = list(params)
    arrays = [pa.array([v]) if v is not None else pa.nulls(1) for v in params]
    return table_to_bytes(pa.table(arrays, names=[f"p{i}" for i in range(len(params))]))


def params_from_bytes(data: bytes):
    if not data:
        return None
    table = table_from_bytes(data)
    return [col[0].as_py() for col in table.columns]
