"""CSV and newline-delimited JSON files as a dataset: what `read_csv`,
`read_json` and `CREATE EXTERNAL TABLE ... STORED AS CSV|JSON` read.

Owns: `open_text_dataset(location, file_format, read_options, ...) ->
Dataset` and `read_text_split(...)`. The schema is inferred once, from the
first block of the first file (pyarrow.csv / pyarrow.json inference; a
column with no values there is VARCHAR; in JSON a column whose sampled
strings are all `YYYY-MM-DD` is a DATE, as DuckDB reads it); every file is
then read with that schema, so a later value that does not parse is a
`DataError` naming the file. Each file is one split (a text file has no row
groups to cut at); its row count is an estimate from the sampled block
(statistics only use it to size joins). Hive `key=value` folders give
partition columns as for Parquet.

Read options: CSV `header` (default true) and `delimiter` (a quoted empty
value is NULL, as DuckDB reads it); JSON none. The scan adds `columns`, the
file's column names, for headerless CSV.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from .. import datatypes as dt
from ..errors import DataError, NotSupportedError, ProgrammingError
from . import fs as fsmod
from . import hive
from .dataset_base import Dataset
from .fs import get_filesystem

FORMATS = ("csv", "json")
SAMPLE_BYTES = 1 << 20
_DATE = r"^\d{4}-\d{2}-\d{2}$"


@dataclass
class TextFileInfo:
    """A CSV or JSON file of a dataset: the interface of ParquetFileInfo that
    planning uses (one row group, no column statistics)."""
    path: str
    size: int
    num_rows: int
    partition_values: tuple[tuple[str, str, str | None], ...] = ()
    _stats: dict = field(default_factory=dict, repr=False)

    @property
    def num_row_groups(self) -> int:
        return 1

    @property
    def row_group_rows(self) -> list[int]:
        return [self.num_rows]

    @property
    def row_group_bytes(self) -> list[int]:
        return [self.size]

    @property
    def partition_dict(self) -> dict[str, tuple[str, str | None]]:
        return {n: (w, v) for n, w, v in self.partition_values}

    def column_stats(self, column: str):
        from .parquet import partition_stats
        part = self.partition_dict.get(column)
        if part is None:
            return None
        return [partition_stats(part[1], part[0], self.num_rows)]

    def file_stats(self, column: str):
        per = self.column_stats(column)
        return per[0] if per else None


def _csv_options(read_options: dict, schema: pa.Schema | None = None,
                 include: list[str] | None = None):
    header = bool(read_options.get("header", True))
    delimiter = str(read_options.get("delimiter", ","))
    read = pacsv.ReadOptions(autogenerate_column_names=not header and schema is None,
                             block_size=SAMPLE_BYTES, use_threads=False)
    if not header and schema is not None:
        read.column_names = list(read_options.get("columns") or schema.names)
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        strings_can_be_null=True, quoted_strings_can_be_null=True,
        column_types=schema if schema is not None else None,
        include_columns=include, timestamp_parsers=None)
    return read, parse, convert


def _open(protocol: str, storage_options: dict | None, path: str):
    return get_filesystem(protocol, storage_options).open(path, "rb")


def _infer(protocol, storage_options, path, file_format, read_options) -> tuple[pa.Schema, float]:
    """(schema, bytes per row) from the first block of one file."""
    with _open(protocol, storage_options, path) as f:
        head = f.read(SAMPLE_BYTES)
        more = bool(f.read(1))
    if file_format == "json" and head.lstrip()[:1] == b"[":
        raise NotSupportedError(f"{path} holds a JSON array; only newline-delimited JSON "
                                f"(one object per line) is supported")
    if more:        # cut the sample at its last full line
        cut = head.rfind(b"\n")
        head = head[:cut + 1] if cut >= 0 else head
    try:
        if file_format == "csv":
            read, parse, convert = _csv_options(read_options)
            table = pacsv.read_csv(io.BytesIO(head), read, parse, convert)
        else:
            table = pajson.read_json(io.BytesIO(head))
    except pa.ArrowInvalid as e:
        raise ProgrammingError(f"cannot read {path} as {file_format.upper()}: "
                               f"{_printable(str(e))}") from None
    if file_format == "csv" and not read_options.get("header", True):
        table = table.rename_columns([f"column{i}" for i in range(table.num_columns)])
    fields = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_null(t):
            t = dt.STRING
        elif file_format == "json" and pa.types.is_timestamp(t):
            t = _json_time_type(head, name, t)
        elif pa.types.is_timestamp(t) and t.unit != "us":
            t = pa.timestamp("us")
        fields.append(pa.field(name, t))
    per_row = len(head) / max(table.num_rows, 1)
    return pa.schema(fields), per_row


def _printable(message: str, limit: int = 200) -> str:
    """A reader's message without the binary bytes it may quote."""
    text = "".join(c if c.isprintable() else "?" for c in message)
    return text if len(text) <= limit else text[:limit] + "..."


def _json_time_type(head: bytes, name: str, inferred: pa.DataType) -> pa.DataType:
    """DATE when every sampled value of the column is a bare ISO date."""
    schema = pa.schema([pa.field(name, pa.string())])
    opts = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    text = pajson.read_json(io.BytesIO(head), parse_options=opts).column(0)
    dates = pc.match_substring_regex(text.drop_null(), _DATE)
    if len(dates) and pc.all(dates).as_py():
        return pa.date32()
    return pa.timestamp("us")


def open_text_dataset(location, file_format: str, read_options: dict | None = None,
                      hive_partitioning: bool | None = None,
                      partition_columns=None, storage_options: dict | None = None):
    if file_format not in FORMATS:
        raise ProgrammingError(f"unknown file format {file_format!r}")
    read_options = dict(read_options or {})
    locations = [location] if isinstance(location, str) else list(location)
    try:
        _, protocol, found = fsmod.discover(locations, storage_options)
    except ProgrammingError as e:
        raise ProgrammingError(str(e).replace("Parquet", file_format.upper())) from None
    schema, per_row = _infer(protocol, storage_options, found[0].path, file_format,
                             read_options)
    pcols, pvalues = hive.discover_partitions(
        [(f.path, f.root) for f in found], hive_partitioning, partition_columns)
    keep = [i for i, (name, _) in enumerate(pcols) if name not in schema.names]
    pcols = [pcols[i] for i in keep]
    files = []
    for f, values in zip(found, pvalues):
        triples = tuple((pcols[j][0], dt.to_wire(pcols[j][1]), values[i])
                        for j, i in enumerate(keep))
        files.append(TextFileInfo(f.path, f.size, max(1, int(f.size / per_row)), triples))
    original = location if isinstance(location, str) else list(location)
    ds = Dataset(original, protocol, storage_options, schema, pcols, files,
                 {"hive_partitioning": hive_partitioning,
                  "partition_columns": list(partition_columns or []),
                  "file_format": file_format, "read_options": read_options})
    ds.file_format = file_format
    ds.read_options = read_options
    return ds


def read_text_split(split, columns: list[str], schema: pa.Schema, file_format: str,
                    read_options: dict, protocol: str = "file",
                    storage_options: dict | None = None,
                    batch_size: int = 64 * 1024) -> Iterator[pa.RecordBatch]:
    """Read `columns` (file or partition columns) of one whole-file split as
    batches typed by `schema` (the dataset's types)."""
    out_schema = pa.schema([schema.field(c) for c in columns])
    parts = {n: (dt.from_wire(w), v) for n, w, v in split.partition_values}
    file_types = pa.schema([schema.field(c) for c in dict.fromkeys(columns)
                            if c not in parts])
    with _open(protocol, storage_options, split.path) as f:
        try:
            table = _read_file(f, file_format, read_options, schema, parts)
        except pa.ArrowInvalid as e:
            raise DataError(f"cannot read {split.path} as {file_format.upper()} "
                            f"with the table's column types: {_printable(str(e))}") from None
    for batch in table.to_batches(max_chunksize=batch_size):
        n = batch.num_rows
        if not columns:
            yield batch.select([])
            continue
        arrays = []
        for fld in out_schema:
            if fld.name in parts:
                ptype, value = parts[fld.name]
                arrays.append(hive.constant_array(value, ptype, n))
            elif fld.name in file_types.names and fld.name in batch.schema.names:
                arr = batch.column(fld.name)
                arrays.append(arr if arr.type == fld.type else arr.cast(fld.type))
            else:
                arrays.append(pa.nulls(n, fld.type))
        yield pa.RecordBatch.from_arrays(arrays, schema=out_schema)


def _read_file(f, file_format: str, read_options: dict, schema: pa.Schema, parts) -> pa.Table:
    file_schema = pa.schema([fld for fld in schema if fld.name not in parts])
    if file_format == "csv":
        read, parse, convert = _csv_options(read_options, file_schema, file_schema.names)
        read.block_size = 16 << 20
        return pacsv.read_csv(f, read, parse, convert)
    want = pa.schema([pa.field(fld.name, pa.string()) if pa.types.is_date(fld.type)
                      else fld for fld in file_schema])
    opts = pajson.ParseOptions(explicit_schema=want, unexpected_field_behavior="ignore")
    table = pajson.read_json(f, parse_options=opts)
    for i, fld in enumerate(file_schema):
        if pa.types.is_date(fld.type):
            table = table.set_column(i, fld.name, pc.cast(table.column(i), pa.date32()))
    return table
