"""A Parquet dataset: the files a location names, their schema and statistics.

Owns: `open_dataset(location, ...) -> Dataset`. Opening lists the files
(storage/fs.py), reads every footer once in a thread pool, unifies the file
schemas (types normalized with planner.datatypes.normalize), and discovers
Hive partition columns (storage/hive.py), which are appended after the file
columns. A Dataset is a plain object compared by identity.

Example:

    ds = open_dataset("s3://bucket/lineitem/", storage_options={"anon": True})
    ds.schema              # file columns, then partition columns
    ds.files[0].file_stats("l_shipdate")   # ColumnStats(min, max, nulls, rows)
    ds.splits(target_bytes=64 << 20)       # [storage.splits.Split, ...]

Does not own: reading data (parquet.read_split) or deciding what to prune
(planner/scan_pruning.py, executor/operators/scan.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from ..errors import ProgrammingError
from .. import datatypes as dt
from . import fs as fsmod
from . import hive
from .dataset_base import Dataset
from .parquet import ParquetFileInfo, read_footer

FOOTER_THREADS = 16


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, dt.normalize(f.type), f.nullable) for f in schema])


def _unify(paths: list[str], schemas: list[pa.Schema]) -> pa.Schema:
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    acc = schemas[0]
    for path, s in zip(paths[1:], schemas[1:]):
        try:
            acc = pa.unify_schemas([acc, s], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
            raise ProgrammingError(
                f"schema of Parquet file {path!r} does not match the other files: {e}") from None
    return acc


def open_dataset(
    location: str | list[str],
    hive_partitioning: bool | None = None,
    partition_columns: list[tuple[str, pa.DataType]] | None = None,
    storage_options: dict | None = None,
    file_format: str = "parquet",
    read_options: dict | None = None,
) -> Dataset:
    """Open the Parquet files a location names (see the module docstring);
    `file_format` "csv" or "json" opens text files (storage/textfiles.py).

    Raises ProgrammingError naming the location when it holds no Parquet
    files, and naming the file when a file is not Parquet or its schema
    cannot be unified with the others."""
    if file_format != "parquet":
        from .textfiles import open_text_dataset
        return open_text_dataset(location, file_format, read_options, hive_partitioning,
                                 partition_columns, storage_options)
    locations = [location] if isinstance(location, str) else list(location)
    fs, protocol, found = fsmod.discover(locations, storage_options)

    def footer(f):
        return read_footer(protocol, storage_options, f.path)

    if len(found) == 1:
        metas = [footer(found[0])]
    else:
        with ThreadPoolExecutor(min(FOOTER_THREADS, len(found))) as pool:
            metas = list(pool.map(footer, found))

    paths = [f.path for f in found]
    schemas = [normalize_schema(m.schema.to_arrow_schema().remove_metadata()) for m in metas]
    file_schema = _unify(paths, schemas)

    pcols, pvalues = hive.discover_partitions(
        [(f.path, f.root) for f in found], hive_partitioning, partition_columns)
    # a key that is also a file column stays a file column
    keep = [i for i, (name, _) in enumerate(pcols) if name not in file_schema.names]
    pcols = [pcols[i] for i in keep]
    files = []
    for f, meta, values in zip(found, metas, pvalues):
        triples = tuple((pcols[j][0], dt.to_wire(pcols[j][1]), values[i])
                        for j, i in enumerate(keep))
        files.append(ParquetFileInfo(f.path, f.size, meta, triples))
    original = location if isinstance(location, str) else list(location)
    return Dataset(original, protocol, storage_options, file_schema, pcols, files,
                   {"hive_partitioning": hive_partitioning,
                    "partition_columns": list(partition_columns or [])})
