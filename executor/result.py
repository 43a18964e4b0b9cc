"""What a statement produced: a table (possibly empty), or nothing.

Owns `Result`, the value every engine (the embedded session, DDL, a cluster
client) hands back to the DB-API cursor. It sits in the executor, below
session.py and ddl.py, so that neither has to import the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass
class Result:
    table: pa.Table | None = None
    rowcount: int = -1
    statement: str = ""

    @property
    def has_rows(self) -> bool:
        return self.table is not None
