"""Results as data for programs: CSV, JSON and Parquet.

    write_csv(table, stream)      # header line, then rows; NULL is an empty field
    write_json(table, stream)     # one JSON array of objects
    write_parquet(table, path)

JSON keeps values exact: DECIMAL is written as a JSON number with its exact
digits (`12.50`; read it back with `json.loads(s, parse_float=Decimal)`),
dates and timestamps as ISO strings, NaN and infinities as the strings
"NaN", "Infinity", "-Infinity" (JSON has no such numbers), binary as hex,
lists and structs as arrays and objects. Duplicate column names get a
`_1`, `_2` suffix so that every object key is distinct.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import math
from typing import TextIO

import pyarrow as pa

FORMATS = ("table", "csv", "json", "parquet")


def unique_names(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, k = name, 0
        while candidate in seen:
            k += 1
            candidate = f"{name}_{k}"
        seen.add(candidate)
        out.append(candidate)
    return out


# -- csv ------------------------------------------------------------------------

def write_csv(table: pa.Table, stream: TextIO) -> None:
    """CSV with a header line (pyarrow's writer; Python's for nested types)."""
    import pyarrow.csv as pacsv
    if table.num_columns == 0:
        stream.write("\n" * (table.num_rows + 1))
        return
    plain = table
    if any(pa.types.is_dictionary(f.type) for f in table.schema):
        plain = pa.table([c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
                          for c in table.columns], names=table.column_names)
    try:
        buf = io.BytesIO()
        pacsv.write_csv(plain, buf, pacsv.WriteOptions(quoting_style="needed"))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        _write_csv_python(plain, stream)
        return
    stream.write(buf.getvalue().decode("utf-8"))


def _write_csv_python(table: pa.Table, stream: TextIO) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(table.column_names)
    for batch in table.to_batches():
        columns = [[_csv_value(v) for v in col.to_pylist()] for col in batch.columns]
        writer.writerows(zip(*columns))


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        return json_value(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    return str(v)


# -- json -----------------------------------------------------------------------

def json_value(v) -> str:
    """One Python value (as Arrow gives it back) as JSON text."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return '"NaN"'
        if math.isinf(v):
            return '"Infinity"' if v > 0 else '"-Infinity"'
        return repr(v)
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            return json.dumps(str(v))
        return format(v, "f")
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (datetime.date, datetime.time)):
        return json.dumps(v.isoformat())
    if isinstance(v, datetime.timedelta):
        return json.dumps(str(v))
    if isinstance(v, (bytes, bytearray)):
        return json.dumps(bytes(v).hex())
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {json_value(x)}"
                               for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(json_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)


def write_json(table: pa.Table, stream: TextIO) -> None:
    """One JSON array holding one object per row, one row per line."""
    keys = [json.dumps(k, ensure_ascii=False) + ": "
            for k in unique_names(table.column_names)]
    first = True
    stream.write("[")
    for batch in table.to_batches():
        if batch.num_rows == 0:
            continue
        columns = [[json_value(v) for v in col.to_pylist()] for col in batch.columns]
        if not columns:
            rows = ["{}"] * batch.num_rows
        else:
            rows = ["{" + ", ".join(k + v for k, v in zip(keys, values)) + "}"
                    for values in zip(*columns)]
        stream.write(("\n" if first else ",\n") + ",\n".join(rows))
        first = False
    stream.write("]\n" if first else "\n]\n")


# -- parquet --------------------------------------------------------------------

def write_parquet(table: pa.Table, path: str) -> None:
    import pyarrow.parquet as pq
    names = unique_names(table.column_names)
    if names != table.column_names:
        table = table.rename_columns(names)
    pq.write_table(table, path)
