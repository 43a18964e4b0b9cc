"""The Dataset object: the files under one location, their schema and
partition columns.

Why a module of its own: both openers build it, open_dataset
(storage/dataset.py, Parquet) and open_text_dataset (storage/textfiles.py,
CSV and JSON), and open_dataset hands text formats to open_text_dataset.
With the class here, textfiles.py imports this module rather than
dataset.py, so the two openers do not import each other.
storage.dataset re-exports Dataset under its old name.
"""

from __future__ import annotations

import pyarrow as pa

from .parquet import ParquetFileInfo
from .splits import DEFAULT_TARGET_BYTES, make_splits


class Dataset:
    """The files under one location: Parquet (storage/dataset.py opens them)
    or, when file_format says so, CSV or JSON (storage/textfiles.py)."""

    kind = "dataset"
    file_format = "parquet"      # or "csv" / "json" (storage/textfiles.py)
    read_options: dict = {}

    def __init__(self, location, protocol: str, storage_options: dict | None,
                 file_schema: pa.Schema, partition_fields: list[tuple[str, pa.DataType]],
                 files: list[ParquetFileInfo], open_options: dict | None = None):
        self.location = location
        self.protocol = protocol
        self.storage_options = dict(storage_options or {})
        self.file_schema = file_schema
        self.partition_fields = list(partition_fields)
        self.schema = pa.schema(list(file_schema) +
                                [pa.field(n, t, True) for n, t in partition_fields])
        self.files = files
        # the open_dataset arguments that re-create it (catalog persistence)
        self.open_options = dict(open_options or {})

    @property
    def partition_columns(self) -> list[str]:
        return [n for n, _ in self.partition_fields]

    @property
    def num_rows(self) -> int:
        return sum(f.num_rows for f in self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def splits(self, target_bytes: int = DEFAULT_TARGET_BYTES, max_splits: int | None = None,
               files: list[ParquetFileInfo] | None = None) -> list:
        """storage.splits.Split list over `files` (default: all files); see
        storage/splits.py for the cutting rule."""
        return make_splits(self.files if files is None else files, target_bytes, max_splits)

    def __repr__(self) -> str:
        return (f"Dataset({self.location!r}, {len(self.files)} files, {self.num_rows} rows, "
                f"partitions={self.partition_columns})")
