"""Writing a result to files as Parquet, CSV or newline-delimited JSON: the
storage side of `COPY ... TO`.

Owns: `export_table(table, location, fmt, partition_by=(), header=True,
delimiter=",", overwrite=False, overwrite_or_ignore=False)`. Without
partition columns the result is one file at `location` (replaced if it
exists). With partition columns `location` is a folder of Hive
`key=value/` folders (the partition columns are left out of the files, as
DuckDB does); a folder that already holds files is refused unless
`overwrite` (delete it first) or `overwrite_or_ignore` (add beside) is set.

JSON lines are built column-wise with pyarrow.compute: strings escaped and
quoted, dates and timestamps as quoted ISO text, numbers and booleans bare,
NULL as `null`. Knows nothing of SQL.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import NotSupportedError, ProgrammingError
from .fs import resolve
from .writer import write_table

_SUFFIX = {"parquet": "parquet", "csv": "csv", "json": "json"}


def export_table(table: pa.Table, location: str, fmt: str, partition_by=(),
                 header: bool = True, delimiter: str = ",", overwrite: bool = False,
                 overwrite_or_ignore: bool = False, storage_options: dict | None = None) -> int:
    """Write `table` to `location` as `fmt`; returns the number of rows written."""
    fs, path = resolve(location, storage_options)
    partition_by = list(partition_by or ())
    if not partition_by:
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        if fs.isdir(path):
            raise ProgrammingError(f"COPY target {location!r} is a folder; name a file "
                                   f"or use PARTITION_BY")
        with fs.open(path, "wb") as out:
            _write_one(table, out, fmt, header, delimiter)
        return table.num_rows
    if fs.exists(path) and (not fs.isdir(path) or fs.ls(path)):
        if overwrite:
            fs.rm(path, recursive=True)
        elif not overwrite_or_ignore:
            raise ProgrammingError(f"COPY target folder {location!r} is not empty "
                                   f"(add OVERWRITE or OVERWRITE_OR_IGNORE)")
    fs.makedirs(path, exist_ok=True)
    if fmt == "parquet":
        write_table(table, location, partition_by, storage_options, mode="append")
        return table.num_rows
    _write_partitioned(fs, path, table, fmt, partition_by, header, delimiter)
    return table.num_rows


def _write_partitioned(fs, path, table, fmt, partition_by, header, delimiter) -> None:
    """One file per distinct combination of the partition values: a loop over
    partitions (groups), each selected with a vectorized filter."""
    keys = table.select(partition_by).group_by(partition_by).aggregate([])
    rest = [c for c in table.column_names if c not in partition_by]
    tag = uuid.uuid4().hex[:12]
    for i in range(keys.num_rows):
        mask = None
        folders = []
        for name in partition_by:
            value = keys.column(name)[i]
            col = table.column(name)
            if value.is_valid:
                m = pc.fill_null(pc.equal(col, value), False)
                text = value.as_py()
                if isinstance(text, bool):
                    text = "true" if text else "false"
                elif hasattr(text, "isoformat"):
                    text = text.isoformat()
                else:
                    text = str(text)
            else:
                m = pc.is_null(col)
                text = "__HIVE_DEFAULT_PARTITION__"
            folders.append(f"{name}={quote(text, safe='')}")
            mask = m if mask is None else pc.and_(mask, m)
        part = table.filter(mask).select(rest)
        folder = "/".join([path.rstrip("/")] + folders)
        fs.makedirs(folder, exist_ok=True)
        with fs.open(f"{folder}/data-{tag}-0.{_SUFFIX[fmt]}", "wb") as out:
            _write_one(part, out, fmt, header, delimiter)


def _write_one(table: pa.Table, out, fmt: str, header: bool, delimiter: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, out)
    elif fmt == "csv":
        _write_csv(table, out, header, delimiter)
    elif fmt == "json":
        for chunk in _json_lines(table):
            out.write(chunk)
    else:
        raise NotSupportedError(f"COPY FORMAT {fmt.upper()} is not supported")


def _write_csv(table: pa.Table, out, header: bool, delimiter: str) -> None:
    cols = []
    for col in table.columns:
        t = col.type
        if pa.types.is_boolean(t):
            col = pc.if_else(col, "true", "false")
        elif pa.types.is_decimal(t) or pa.types.is_temporal(t) or pa.types.is_floating(t):
            col = _text(col)
        cols.append(col)
    table = pa.table(cols, names=table.column_names)
    opts = pacsv.WriteOptions(include_header=header, delimiter=delimiter,
                              quoting_style="needed")
    pacsv.write_csv(table, out, write_options=opts)


def _text(col) -> pa.ChunkedArray:
    """A column as the text DuckDB prints for it (dates ISO, timestamps with a
    space, doubles as their shortest repr)."""
    t = col.type
    if pa.types.is_timestamp(t):
        return pc.strftime(col, format="%Y-%m-%d %H:%M:%S") if t.unit == "s" else \
            _timestamp_text(col)
    return pc.cast(col, pa.string())


def _timestamp_text(col) -> pa.ChunkedArray:
    text = pc.cast(col, pa.string())
    # Arrow writes 'YYYY-MM-DD HH:MM:SS.ffffff'; DuckDB drops a zero fraction
    return pc.replace_substring_regex(text, pattern=r"\.0+$", replacement="")


_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
            ("\b", "\\b"), ("\f", "\\f")]


def _json_value(col) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_temporal(t):
        text = _text(col) if pa.types.is_temporal(t) else pc.cast(col, pa.string())
        for a, b in _ESCAPES:
            text = pc.replace_substring(text, pattern=a, replacement=b)
        text = pc.binary_join_element_wise('"', text, '"', "")
    elif pa.types.is_boolean(t):
        text = pc.if_else(col, "true", "false")
    elif pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_floating(t):
        text = pc.cast(col, pa.string())
        if pa.types.is_floating(t):
            finite = pc.is_finite(col)
            text = pc.if_else(pc.fill_null(finite, True), text, pa.scalar(None, pa.string()))
    else:
        raise NotSupportedError(f"writing a {t} column as JSON is not supported")
    return pc.fill_null(text, "null")


def _json_lines(table: pa.Table):
    if table.num_rows == 0:
        return
    pieces: list = []
    for i, (name, col) in enumerate(zip(table.column_names, table.columns)):
        key = json.dumps(name)
        pieces.append(("{" if i == 0 else ",") + key + ":")
        pieces.append(_json_value(col))
    pieces.append("}\n")
    line = pc.binary_join_element_wise(*pieces, "")
    for chunk in line.chunks:
        yield _concat(chunk)


def _concat(chunk: pa.Array) -> bytes:
    """The strings of `chunk` joined, straight from its data buffer."""
    import numpy as np
    _, offsets, data = chunk.buffers()
    offs = np.frombuffer(offsets, dtype=np.int32)
    start, end = int(offs[chunk.offset]), int(offs[chunk.offset + len(chunk)])
    return data[start:end].to_pybytes()
