"""Writing Parquet: the storage side of CREATE TABLE ... AS SELECT.

Owns: `write_table(data, location, partition_by=(), storage_options=None,
mode="overwrite") -> location`, which writes Hive-partitioned Parquet
(`key=value/` folders, NULL as `__HIVE_DEFAULT_PARTITION__`, values
URL-encoded) with pyarrow.dataset.write_dataset, so that `open_dataset` on
the returned location reads the same rows back (partition columns then come
after the file columns). An empty result is still written as one empty file
(with every column, partition columns included) so the table can be opened.

mode "overwrite" deletes what is at the location first; "error" raises
ProgrammingError if the location already holds files; "append" adds new
files beside those there (INSERT INTO; file names never repeat).
"""

from __future__ import annotations

import uuid

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import ProgrammingError
from .fs import protocol_of, resolve
from .memory import to_arrow_table
from .parquet import LOCAL_PROTOCOLS


def _pads():
    """pyarrow.dataset, imported on first write: it pulls in pandas, which
    costs every new process a noticeable start-up time."""
    import pyarrow.dataset as pads
    return pads

MAX_ROWS_PER_GROUP = 1 << 20
MAX_PARTITIONS = 1 << 16


def _arrow_fs(fs):
    if protocol_of(fs) in LOCAL_PROTOCOLS:
        return pafs.LocalFileSystem()
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs))


def _prepare_location(fs, path: str, mode: str, location: str) -> None:
    if fs.exists(path):
        if mode == "error":
            if not fs.isdir(path) or fs.ls(path):
                raise ProgrammingError(f"location {location!r} already exists")
        elif mode == "overwrite":
            fs.rm(path, recursive=True)
        elif mode != "append":
            raise ValueError(f"unknown write mode {mode!r}")
    fs.makedirs(path, exist_ok=True)


def write_table(data, location: str, partition_by=(), storage_options: dict | None = None,
                mode: str = "overwrite") -> str:
    """Write a Table, RecordBatch, list of batches or RecordBatchReader as
    Parquet under `location`, Hive-partitioned by `partition_by`."""
    table = to_arrow_table(data) if not isinstance(data, pa.Table) else data
    partition_by = list(partition_by or ())
    missing = [c for c in partition_by if c not in table.schema.names]
    if missing:
        raise ProgrammingError(f"PARTITIONED BY column {missing[0]!r} is not in the result")
    if partition_by and len(partition_by) == len(table.schema):
        raise ProgrammingError("PARTITIONED BY cannot use every column of the table")
    fs, path = resolve(location, storage_options)
    _prepare_location(fs, path, mode, location)
    afs = _arrow_fs(fs)
    tag = uuid.uuid4().hex[:12]
    if table.num_rows == 0:
        with afs.open_output_stream(f"{path.rstrip('/')}/part-{tag}-0.parquet") as out:
            pq.write_table(table, out)
        return location
    partitioning = None
    if partition_by:
        part_schema = pa.schema([table.schema.field(c) for c in partition_by])
        partitioning = _pads().partitioning(part_schema, flavor="hive")
    _pads().write_dataset(
        table, path, format="parquet", partitioning=partitioning, filesystem=afs,
        basename_template=f"part-{tag}-{{i}}.parquet",
        existing_data_behavior="overwrite_or_ignore",
        max_rows_per_group=MAX_ROWS_PER_GROUP, max_partitions=MAX_PARTITIONS,
        min_rows_per_group=min(MAX_ROWS_PER_GROUP, 64 * 1024),
    )
    return location
