"""Quiver: a distributed SQL query engine over partitioned Parquet.

    import quiver
    con = quiver.connect()
    con.execute("SELECT 42").fetchall()
"""

import os as _os

# Arrow's allocator (mimalloc) hands freed pages back to the system 10 ms
# after they are freed, so every stage and query faults its memory in again:
# over TPC-H SF10 Q7, Q9 and Q1, 246K page faults and 4.0 s of kernel time
# in 20 s of CPU (-1, never: 53K faults, 1.6 s, 15% less wall time). Memory
# stays governed by the pool's reservations; the process keeps its
# high-water mark of freed pages for reuse. Read when pyarrow loads, so it
# applies when quiver is imported first; a value the user set is kept.
_os.environ.setdefault("MIMALLOC_PURGE_DELAY", "-1")

from .errors import (  # noqa: F401,E402
    DatabaseError, DataError, Error, IntegrityError, InterfaceError,
    InternalError, NotSupportedError, OperationalError, ProgrammingError,
    Warning,
)

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"

__version__ = "0.1.0"


def connect(target: str | None = None, **options):
    """Open a connection: None for the embedded engine, "local[N]" for a local
    cluster, "quiver://host:port" for a running coordinator."""
    from .dbapi import connect as _connect
    return _connect(target, **options)


__all__ = [
    "connect", "apilevel", "threadsafety", "paramstyle", "Warning", "Error",
    "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
]
