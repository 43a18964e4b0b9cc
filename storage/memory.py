"""In-memory tables: a pyarrow.Table registered in this process.

Owns: `MemoryTable`, the source object a logical Scan holds for a table that
lives in memory (`Connection.register(name, pa.Table | DataFrame)`). It only
describes the table (normalized schema, rows, bytes); the data reaches the
executor through `ExecContext.memory_tables[name]` and is read by
executor/operators/memory_scan.py. Never persisted by the catalog.
"""

from __future__ import annotations

import pyarrow as pa

from .. import datatypes as dt


def to_arrow_table(source) -> pa.Table:
    """A pa.Table from a Table, RecordBatch, list of batches or pandas DataFrame."""
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    if isinstance(source, pa.RecordBatchReader):
        return source.read_all()
    if isinstance(source, (list, tuple)) and source and all(isinstance(b, pa.RecordBatch) for b in source):
        return pa.Table.from_batches(list(source))
    if hasattr(source, "__dataframe__") or type(source).__name__ == "DataFrame":
        return pa.Table.from_pandas(source, preserve_index=False)
    raise TypeError(f"cannot make an Arrow table from {type(source).__name__}")


class MemoryTable:
    """A registered in-memory table (compared by identity)."""

    kind = "memory"

    def __init__(self, name: str, table: pa.Table):
        self.name = name
        self.table = table
        self.schema = pa.schema([pa.field(f.name, dt.normalize(f.type), f.nullable)
                                 for f in table.schema])
        self.partition_columns: list[str] = []

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    @property
    def total_bytes(self) -> int:
        return self.table.nbytes

    def __repr__(self) -> str:
        return f"MemoryTable({self.name!r}, {self.num_rows} rows)"
