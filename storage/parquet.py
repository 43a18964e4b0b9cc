"""Parquet files: footers, statistics, and reading a split as record batches.

Owns: reading one file's footer (`read_footer`), the per-file record the
dataset keeps (`ParquetFileInfo`: size, rows, row groups, partition values,
per-row-group and per-file column statistics decoded lazily and cached), and
`read_split`, which reads only the requested columns and row groups of one
split, casts them to the dataset's (normalized) types, fills columns a file
lacks with NULLs and adds Hive partition columns as constant arrays.

Does not own: deciding which row groups a query can skip. `read_split` takes
an optional `row_group_filter(RowGroupStats) -> bool` callback for that;
storage knows nothing of SQL.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ProgrammingError
from .. import datatypes as dt
from . import hive
from .fs import get_filesystem
from .footer_cache import local_footer

DEFAULT_BATCH_SIZE = 256 * 1024       # executor/context.py says why
LOCAL_PROTOCOLS = ("file", "local")


# --- statistics -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ColumnStats:
    """What a row group (or a whole file) says about one column. `min`/`max`
    are Python values (int, float, Decimal, str, date, datetime, bool) or None
    when unknown; `null_count` is None when unknown."""
    min: object
    max: object
    null_count: int | None
    num_rows: int

    @property
    def has_min_max(self) -> bool:
        return self.min is not None and self.max is not None


def _expected_python_type(t: pa.DataType):
    if pa.types.is_boolean(t):
        return bool
    if pa.types.is_integer(t):
        return int
    if pa.types.is_floating(t):
        return float
    if pa.types.is_decimal(t):
        return decimal.Decimal
    if pa.types.is_timestamp(t):
        return datetime.datetime
    if pa.types.is_date(t):
        return datetime.date
    if dt.is_string(t):
        return str
    return None


def _value_ok(v, expected) -> bool:
    if expected is None or v is None:
        return False
    if expected is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if expected is datetime.date:
        return isinstance(v, datetime.date) and not isinstance(v, datetime.datetime)
    if expected is float:
        return isinstance(v, float)
    return isinstance(v, expected)


def _decode(stats, num_rows: int, arrow_type: pa.DataType) -> ColumnStats:
    if stats is None:
        return ColumnStats(None, None, None, num_rows)
    nulls = stats.null_count if stats.has_null_count else None
    lo = hi = None
    if stats.has_min_max:
        expected = _expected_python_type(arrow_type)
        try:
            lo, hi = stats.min, stats.max
        except Exception:   # an undecodable logical type: no bounds
            lo = hi = None
        if not (_value_ok(lo, expected) and _value_ok(hi, expected)):
            lo = hi = None
        elif pa.types.is_timestamp(arrow_type) and arrow_type.unit == "ns":
            # bounds as the scan will see the values: cut to microseconds
            bounds = cast_normalized(pa.array([lo, hi], arrow_type), dt.normalize(arrow_type))
            lo, hi = bounds[0].as_py(), bounds[1].as_py()
    return ColumnStats(lo, hi, nulls, num_rows)


def merge_stats(parts: list[ColumnStats]) -> ColumnStats:
    """Stats of several row groups as one (file-level stats)."""
    rows = sum(p.num_rows for p in parts)
    nulls = None if any(p.null_count is None for p in parts) else sum(p.null_count for p in parts)
    bounded = [p for p in parts if p.has_min_max]
    # a group with no bounds is fine only when all of it is NULL
    complete = all(p.has_min_max or (p.null_count is not None and p.null_count == p.num_rows)
                   for p in parts)
    if not bounded or not complete:
        return ColumnStats(None, None, nulls, rows)
    try:
        return ColumnStats(min(p.min for p in bounded), max(p.max for p in bounded), nulls, rows)
    except TypeError:
        return ColumnStats(None, None, nulls, rows)


def partition_stats(value: str | None, wire_type: str, num_rows: int) -> ColumnStats:
    v = hive.python_value(value, dt.from_wire(wire_type))
    return ColumnStats(v, v, num_rows if v is None else 0, num_rows)


class RowGroupStats:
    """Statistics of one row group, column by column (decoded on demand).
    `stats(column)` is None for a column without usable statistics."""

    __slots__ = ("info", "index", "num_rows")

    def __init__(self, info: "ParquetFileInfo", index: int):
        self.info, self.index = info, index
        self.num_rows = info.metadata.row_group(index).num_rows

    def stats(self, column: str) -> ColumnStats | None:
        return self.info.group_stats(column, self.index)


# --- one file ---------------------------------------------------------------------

@dataclass
class ParquetFileInfo:
    """A Parquet file of a dataset. `partition_values` are (name, wire type,
    value as str or None) triples as in storage.splits.Split."""
    path: str
    size: int
    metadata: pq.FileMetaData
    partition_values: tuple[tuple[str, str, str | None], ...] = ()
    _stats: dict = field(default_factory=dict, repr=False)
    _row_group_bytes: list[int] | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def num_rows(self) -> int:
        return self.metadata.num_rows

    @property
    def num_row_groups(self) -> int:
        return self.metadata.num_row_groups

    @property
    def row_group_rows(self) -> list[int]:
        return [self.metadata.row_group(i).num_rows for i in range(self.num_row_groups)]

    @property
    def row_group_bytes(self) -> list[int]:
        """Compressed bytes of each row group (what a read fetches); summed
        over the footer's column chunks once per file, not at every plan."""
        out = self._row_group_bytes
        if out is None:
            out = []
            for i in range(self.num_row_groups):
                rg = self.metadata.row_group(i)
                out.append(sum(rg.column(c).total_compressed_size for c in range(rg.num_columns)))
            self._row_group_bytes = out
        return list(out)

    @property
    def partition_dict(self) -> dict[str, tuple[str, str | None]]:
        return {n: (w, v) for n, w, v in self.partition_values}

    def column_stats(self, column: str) -> list[ColumnStats] | None:
        """Per-row-group stats of a file or partition column (None if unknown)."""
        with self._lock:
            if column in self._stats:
                return self._stats[column]
        result = self._compute_stats(column)
        with self._lock:
            self._stats[column] = result
        return result

    def group_stats(self, column: str, group: int) -> ColumnStats | None:
        """Stats of `column` in one row group (None if unknown). Decodes only
        that group's: a scan task checks its few groups of a file that may
        have hundreds, and decoding them all per task cost 13% of TPC-H Q6."""
        key = (column, group)
        with self._lock:
            per_group = self._stats.get(column)
            if per_group is not None:
                return per_group[group]
            if key in self._stats:
                return self._stats[key]
        result = self._decode_group(column, group)
        with self._lock:
            self._stats[key] = result
        return result

    def _decode_group(self, column: str, group: int) -> ColumnStats | None:
        num_rows = self.metadata.row_group(group).num_rows
        part = self.partition_dict.get(column)
        if part is not None:
            return partition_stats(part[1], part[0], num_rows)
        leaf = self._leaf(column)
        if leaf is None:    # not in this file, or nested: no usable statistics
            return None
        return _decode(self.metadata.row_group(group).column(leaf[0]).statistics,
                       num_rows, leaf[1])

    def _leaf(self, column: str) -> tuple[int, pa.DataType] | None:
        """(Parquet leaf column index, Arrow type) of a top-level primitive column."""
        with self._lock:
            leaves = self._stats.get(("__leaves__",))
        if leaves is None:
            arrow = self.metadata.schema.to_arrow_schema()
            pschema = self.metadata.schema
            leaves = {}
            for i in range(len(pschema)):
                name = pschema.column(i).path
                if name in arrow.names:
                    leaves[name] = (i, arrow.field(name).type)
            with self._lock:
                self._stats[("__leaves__",)] = leaves
        return leaves.get(column)

    def _compute_stats(self, column: str) -> list[ColumnStats] | None:
        if column not in self.partition_dict and self._leaf(column) is None:
            return None
        return [self._decode_group(column, g) for g in range(self.num_row_groups)]

    def file_stats(self, column: str) -> ColumnStats | None:
        per_group = self.column_stats(column)
        if per_group is None:
            return None
        if not per_group:
            return ColumnStats(None, None, 0, 0)
        return merge_stats(per_group)


# --- I/O ------------------------------------------------------------------------

@contextlib.contextmanager
def _source(protocol: str, storage_options: dict | None, path: str):
    """What pq.ParquetFile reads from: the local path, or an open remote file."""
    if protocol in LOCAL_PROTOCOLS:
        yield path
        return
    fs = get_filesystem(protocol, storage_options)
    with fs.open(path, "rb", **_REMOTE_OPEN) as f:
        yield f


# Remote files are read by pyarrow in exact, coalesced ranges (pre_buffer):
# an fsspec read-ahead cache on top would fetch whole blocks (s3fs: 50 MB)
# of row groups and columns that pruning skipped.
_REMOTE_OPEN = {"cache_type": "none"}


def _open_file(source, protocol: str, meta=None, read_dictionary=None) -> pq.ParquetFile:
    """A pq.ParquetFile; remote files coalesce their reads (pre_buffer)."""
    return pq.ParquetFile(source, metadata=meta, read_dictionary=read_dictionary or None,
                          pre_buffer=protocol not in LOCAL_PROTOCOLS)


# a string column chunk whose data pages hold under this many bytes a value
# is (almost) all dictionary indices: read it as a dictionary, much cheaper
_DICT_BYTES_PER_VALUE = 4.0


def dictionary_columns(meta: pq.FileMetaData, groups: list[int], columns: list[str]) -> list[str]:
    """Which of `columns` (top-level string columns) are dictionary-encoded
    with few distinct values in every row group of `groups`."""
    wanted = set(columns)
    leaves = {}
    schema = meta.schema
    for i in range(len(schema)):
        c = schema.column(i)
        if c.path in wanted and c.physical_type == "BYTE_ARRAY":
            leaves[c.path] = i
    out = []
    for name, i in leaves.items():
        ok = bool(groups)
        for g in groups:
            ch = meta.row_group(g).column(i)
            dict_enc = any(e in ("RLE_DICTIONARY", "PLAIN_DICTIONARY") for e in ch.encodings)
            if not (dict_enc and ch.has_dictionary_page and ch.num_values > 0 and
                    ch.total_uncompressed_size < _DICT_BYTES_PER_VALUE * ch.num_values):
                ok = False
                break
        if ok:
            out.append(name)
    return out


def read_footer(protocol: str, storage_options: dict | None, path: str) -> pq.FileMetaData:
    """A file's Parquet metadata; ProgrammingError naming the file if it is not Parquet."""
    try:
        if protocol in LOCAL_PROTOCOLS:
            return local_footer(path)       # the scans read it again: parse it once
        fs = get_filesystem(protocol, storage_options)
        with fs.open(path, "rb", **_REMOTE_OPEN) as f:
            return pq.read_metadata(f)
    except (pa.ArrowInvalid, OSError) as e:
        raise ProgrammingError(f"cannot read Parquet file {path!r}: {e}") from None


def cast_normalized(arr, dtype: pa.DataType):
    """Cast to a normalized type; timestamps may lose sub-microsecond digits."""
    lossy = pa.types.is_timestamp(dtype) and pa.types.is_timestamp(arr.type)
    return arr.cast(dtype, safe=not lossy)


class ReadCounters:
    """Thread-safe tallies of what read_split did (for tests and EXPLAIN ANALYZE)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.files = 0
        self.row_groups_read = 0
        self.row_groups_skipped = 0
        self.rows_read = 0

    def add(self, files=0, read=0, skipped=0, rows=0) -> None:
        with self._lock:
            self.files += files
            self.row_groups_read += read
            self.row_groups_skipped += skipped
            self.rows_read += rows


def read_split(
    split,
    columns: list[str],
    schema: pa.Schema,
    protocol: str = "file",
    storage_options: dict | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    row_group_filter: Callable[[RowGroupStats], bool] | None = None,
    counters: ReadCounters | None = None,
    keep_dictionary: bool = False,
    first_rows_only: bool = False,
    coalesce: bool = True,
) -> Iterator[pa.RecordBatch]:
    """Read `columns` (file or partition columns, in this order, named as in
    the dataset) of one storage.splits.Split, as batches typed by `schema`.

    Only the split's row groups are read, minus those `row_group_filter`
    rejects. A batch with no columns still carries its row count.

    Low-cardinality string columns are decoded from their Parquet
    dictionaries (cheap). With `keep_dictionary`, such a column stays a
    dictionary<int32, schema type> array (the batch schema says so) for the
    caller to filter first and decode after; otherwise it comes out plain.

    With `first_rows_only`, only the first batch of each row group is read
    and decoded (a sample: storage/row_sample.py).

    Dictionary reads end a batch at each row group; they are joined into
    batches of at least half `batch_size` rows unless `coalesce` is off (a
    caller that filters first joins what is left: coalesce_batches)."""
    out_schema = pa.schema([schema.field(c) for c in columns])
    parts = {n: (dt.from_wire(w), v) for n, w, v in split.partition_values}
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(_source(protocol, storage_options, split.path))
        local = protocol in LOCAL_PROTOCOLS
        pf = stack.enter_context(_open_file(source, protocol,
                                            local_footer(split.path) if local else None))
        meta = pf.metadata
        groups = list(range(meta.num_row_groups) if split.row_groups is None else split.row_groups)
        if row_group_filter is not None and groups:
            info = ParquetFileInfo(split.path, split.size, meta, tuple(split.partition_values))
            kept = [g for g in groups if row_group_filter(RowGroupStats(info, g))]
        else:
            kept = groups
        if counters is not None:
            counters.add(files=1, read=len(kept), skipped=len(groups) - len(kept))
        if not kept:
            return
        file_names = set(pf.schema_arrow.names)
        to_read = list(dict.fromkeys(c for c in columns if c in file_names and c not in parts))
        strings = [c for c in to_read if dt.is_string(schema.field(c).type)]
        as_dict = dictionary_columns(meta, kept, strings) if strings else []
        if as_dict:
            pf = stack.enter_context(_open_file(source, protocol, meta, as_dict))
        if first_rows_only:
            batches = _first_batches(pf, kept, to_read, batch_size)
        elif _read_whole_groups(meta, kept, to_read, batch_size):
            batches = _sliced(_whole_groups(pf, kept, to_read), batch_size)
        else:
            batches = pf.iter_batches(batch_size=batch_size, row_groups=kept,
                                      columns=to_read, use_threads=False)
            if as_dict and coalesce:     # dictionary reads end a batch at each row group
                batches = coalesce_batches(batches, max(1, batch_size // 2))
        for batch in batches:
            n = batch.num_rows
            if counters is not None:
                counters.add(rows=n)
            if not columns:
                yield batch.select([])
                continue
            arrays, plain = [], True
            for f in out_schema:
                if f.name in parts:
                    ptype, value = parts[f.name]
                    arr = hive.constant_array(value, ptype, n)
                elif f.name in file_names:
                    arr = batch.column(f.name)
                else:
                    arr = pa.nulls(n, f.type)
                if pa.types.is_dictionary(arr.type):
                    arr = _dictionary_as(arr, f.type, keep_dictionary and dt.is_string(f.type))
                    plain = plain and not pa.types.is_dictionary(arr.type)
                elif arr.type != f.type:
                    arr = cast_normalized(arr, f.type)
                arrays.append(arr)
            if not plain:
                yield pa.RecordBatch.from_arrays(arrays, names=columns)
            else:
                yield pa.RecordBatch.from_arrays(arrays, schema=out_schema)


# a row group whose columns to read hold at most this many bytes
# (uncompressed) is read whole, then sliced
_WHOLE_GROUP_BYTES = 64 << 20


def _read_whole_groups(meta: pq.FileMetaData, groups: list[int], columns: list[str],
                       batch_size: int) -> bool:
    """Whether to decode row groups whole (then slice them). Batches that do
    not line up with row groups cost pyarrow up to 2x the decode time (a 64K
    read of SF10 lineitem's l_partkey: 1.49 s; whole 115K-row groups:
    0.65 s), and dictionary reads end a batch at each group boundary, so
    row groups larger than a batch but of moderate size are read whole."""
    if max(meta.row_group(g).num_rows for g in groups) <= batch_size:
        return False
    wanted = set(columns)
    leaves = [i for i in range(meta.num_columns)
              if meta.schema.column(i).path.split(".")[0] in wanted]
    return all(sum(meta.row_group(g).column(i).total_uncompressed_size for i in leaves)
               <= _WHOLE_GROUP_BYTES for g in groups)


def _whole_groups(pf: pq.ParquetFile, groups: list[int],
                  columns: list[str]) -> Iterator[pa.RecordBatch]:
    for g in groups:
        yield from pf.read_row_group(g, columns=columns, use_threads=False).to_batches()


def _first_batches(pf: pq.ParquetFile, groups: list[int], columns: list[str],
                   size: int) -> Iterator[pa.RecordBatch]:
    """The first `size` rows of each group (pyarrow decodes only the pages
    those rows are in)."""
    for g in groups:
        for batch in pf.iter_batches(batch_size=size, row_groups=[g], columns=columns,
                                     use_threads=False):
            yield batch
            break


def _sliced(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Batches cut into (zero-copy) slices of at most `size` rows."""
    for b in batches:
        if b.num_rows <= size:
            yield b
            continue
        for start in range(0, b.num_rows, size):
            yield b.slice(start, size)


def coalesce_batches(batches: Iterator[pa.RecordBatch], min_rows: int) -> Iterator[pa.RecordBatch]:
    """Small consecutive batches (of one schema) joined until they reach
    `min_rows` rows."""
    held, rows = [], 0
    for b in batches:
        if not held and b.num_rows >= min_rows:
            yield b
            continue
        held.append(b)
        rows += b.num_rows
        if rows >= min_rows:
            yield _combine(held)
            held, rows = [], 0
    if held:
        yield _combine(held)


def _combine(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _dictionary_as(arr: pa.DictionaryArray, t: pa.DataType, keep: bool) -> pa.Array:
    """A dictionary array with values of type `t` (kept) or decoded to `t`."""
    if not keep:
        return arr.cast(t)
    if arr.type.value_type != t or arr.type.index_type != pa.int32():
        arr = pa.DictionaryArray.from_arrays(arr.indices.cast(pa.int32()), arr.dictionary.cast(t))
    return arr
