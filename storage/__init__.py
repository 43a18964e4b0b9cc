"""Storage: Parquet datasets over fsspec, Hive partitions, splits, statistics,
in-memory tables, the catalog and the Parquet writer. Knows nothing of SQL."""

from .catalog import Catalog, TableEntry, ViewEntry  # noqa: F401
from .dataset import Dataset, open_dataset  # noqa: F401
from .memory import MemoryTable  # noqa: F401
from .parquet import ColumnStats, ParquetFileInfo, ReadCounters, read_split  # noqa: F401
from .writer import write_table  # noqa: F401

__all__ = [
    "Catalog", "TableEntry", "ViewEntry", "Dataset", "open_dataset", "MemoryTable",
    "ColumnStats", "ParquetFileInfo", "ReadCounters", "read_split", "write_table",
]
