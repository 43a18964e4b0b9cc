"""Hive-style partitions: `key=value/` folders between a root and a file.

Owns: parsing partition keys and values from file paths, checking that every
file has the same keys in the same order, inferring each key's type, and
turning a file's partition values into constant Arrow arrays.

Typing rule (CONTRACT.md): a key is BIGINT (int64) when every non-NULL value
parses as an integer that fits 64 bits, DATE when every non-NULL value is an
ISO date (YYYY-MM-DD), else VARCHAR. `__HIVE_DEFAULT_PARTITION__` (and an
empty value) is NULL. Values are URL-unquoted (`a%2Fb` -> `a/b`).

Partition values travel as strings (with the type's wire name, see
planner.datatypes.to_wire) so a Split stays plain JSON-able data.
"""

from __future__ import annotations

import datetime
import posixpath
import re
from urllib.parse import unquote

import pyarrow as pa

from ..errors import ProgrammingError
from .. import datatypes as dt

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_INT_RE = re.compile(r"^[+-]?\d+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def parse_path(path: str, root: str) -> list[tuple[str, str | None]]:
    """The (key, value) pairs of the folders between `root` and the file."""
    rel = posixpath.relpath(path, root) if root else path
    out: list[tuple[str, str | None]] = []
    for part in rel.split("/")[:-1]:
        key, eq, value = part.partition("=")
        if not eq or not key:
            continue
        value = unquote(value)
        out.append((unquote(key), None if value in ("", NULL_PARTITION) else value))
    return out


def _is_int(v: str) -> bool:
    return bool(_INT_RE.match(v)) and _INT64_MIN <= int(v) <= _INT64_MAX


def _is_date(v: str) -> bool:
    if not _DATE_RE.match(v):
        return False
    try:
        datetime.date.fromisoformat(v)
    except ValueError:
        return False
    return True


def infer_type(values: list[str | None]) -> pa.DataType:
    present = [v for v in set(values) if v is not None]   # distinct values, not rows
    if present and all(_is_int(v) for v in present):
        return dt.INT64
    if present and all(_is_date(v) for v in present):
        return dt.DATE
    return dt.STRING


def discover_partitions(
    paths_and_roots: list[tuple[str, str]],
    hive_partitioning: bool | None,
    declared: list[tuple[str, pa.DataType]] | None,
) -> tuple[list[tuple[str, pa.DataType]], list[tuple[str | None, ...]]]:
    """Partition columns (name, type) and, per file, its values as strings.

    hive_partitioning False: none. None or True: discovered from the paths;
    every file must carry the same keys in the same order. `declared`
    (PARTITIONED BY) fixes names and types; each must appear in the paths.
    """
    if hive_partitioning is False and not declared:
        return [], [() for _ in paths_and_roots]
    parsed = [parse_path(p, r) for p, r in paths_and_roots]
    keys = [tuple(k for k, _ in kv) for kv in parsed]
    first = keys[0] if keys else ()
    for (path, _), k in zip(paths_and_roots, keys):
        if k != first:
            raise ProgrammingError(
                f"Hive partition folders differ between files: {path!r} has "
                f"{list(k)}, expected {list(first)}")
    if len(set(first)) != len(first):
        raise ProgrammingError(f"Hive partition key repeated in {paths_and_roots[0][0]!r}")
    if declared:
        index = {k.lower(): i for i, k in enumerate(first)}
        columns, picks = [], []
        for name, dtype in declared:
            if name.lower() not in index:
                raise ProgrammingError(
                    f"partition column {name!r} not found in the folders of "
                    f"{paths_and_roots[0][0]!r}")
            picks.append(index[name.lower()])
            columns.append((first[index[name.lower()]], dtype))
        values = [tuple(kv[i][1] for i in picks) for kv in parsed]
        return columns, values
    values = [tuple(v for _, v in kv) for kv in parsed]
    columns = [(k, infer_type([row[i] for row in values])) for i, k in enumerate(first)]
    return columns, values


def constant_array(value: str | None, dtype: pa.DataType, length: int) -> pa.Array:
    """`length` copies of a partition value (a string from the path) as `dtype`."""
    if value is None:
        return pa.nulls(length, dtype)
    try:
        scalar = pa.array([value], pa.string()).cast(dtype)[0]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ProgrammingError(
            f"partition value {value!r} is not a valid {dt.sql_name(dtype)}: {e}") from None
    return pa.repeat(scalar, length)


def python_value(value: str | None, dtype: pa.DataType):
    """A partition value as the Python value statistics use (int, date, str...)."""
    if value is None:
        return None
    if pa.types.is_integer(dtype):
        return int(value)
    if pa.types.is_date(dtype):
        return datetime.date.fromisoformat(value)
    if dt.is_string(dtype):
        return value
    return constant_array(value, dtype, 1)[0].as_py()
