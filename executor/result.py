"""What a statement produced: a table (possibly empty), or nothing.

Owns `Result`, the value every engine (the embedded session, DDL, a cluster
client) hands back to the DB-API cursor. It sits in the executor, below
session.py and ddl.py, so that neither has to import the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass
class Result:
    table: pa.Table | None = None
    rowcount: int = -1
    statement: str = ""
    stream: Any = None      # a ResultStream (executor/result_stream.py) read while the query runs
    message: str = ""       # a notice for the user (where CREATE TABLE AS wrote)
    query_id: str | None = None   # the query's id (RESUME QUERY, system.queries)

    @property
    def has_rows(self) -> bool:
        return self.table is not None or self.stream is not None
