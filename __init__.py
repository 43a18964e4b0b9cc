"""Quiver: a distributed SQL query engine over partitioned Parquet.

    import quiver
    con = quiver.connect()
    con.execute("SELECT 42").fetchall()
"""

# First: the allocators' settings must be in place before pyarrow loads.
from . import allocator as _allocator  # noqa: F401

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
