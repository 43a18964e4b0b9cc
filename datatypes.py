"""SQL types are Arrow types. This module holds the few rules about them that
every layer shares: classification, the common supertype used for coercion,
SQL names for DESCRIBE, and a string form for the wire.

It is part of the plan vocabulary (with expr.py, physical.py, tree.py) that
the executor and the cluster may import; it imports nothing of Quiver.
"""

from __future__ import annotations

import pyarrow as pa

BOOL = pa.bool_()
INT32 = pa.int32()
INT64 = pa.int64()
FLOAT64 = pa.float64()
STRING = pa.string()
DATE = pa.date32()
TIMESTAMP = pa.timestamp("us")
INTERVAL = pa.month_day_nano_interval()
NULL = pa.null()

MAX_DECIMAL_PRECISION = 38


def decimal(precision: int, scale: int) -> pa.DataType:
    precision = max(1, min(precision, MAX_DECIMAL_PRECISION))
    return pa.decimal128(precision, min(scale, precision))


def is_integer(t: pa.DataType) -> bool:
    return pa.types.is_integer(t)


def is_decimal(t: pa.DataType) -> bool:
    return pa.types.is_decimal(t)


def is_floating(t: pa.DataType) -> bool:
    return pa.types.is_floating(t)


def is_numeric(t: pa.DataType) -> bool:
    return is_integer(t) or is_decimal(t) or is_floating(t)


def is_string(t: pa.DataType) -> bool:
    return (pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_string_view(t))


def is_temporal(t: pa.DataType) -> bool:
    return pa.types.is_date(t) or pa.types.is_timestamp(t)


def normalize(t: pa.DataType) -> pa.DataType:
    """The type Quiver computes with for a type found in a file.

    string_view/large_string become string, dictionaries their value type,
    date64 becomes date32, timestamps become microseconds (keeping the zone).
    """
    if pa.types.is_dictionary(t):
        return normalize(t.value_type)
    if is_string(t):
        return STRING
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_date64(t):
        return DATE
    if pa.types.is_timestamp(t) and t.unit != "us":
        return pa.timestamp("us", t.tz)
    if pa.types.is_decimal(t) and not pa.types.is_decimal128(t):
        return decimal(t.precision, t.scale)
    return t


def integer_digits(t: pa.DataType) -> int:
    """Decimal digits needed to hold any value of an integer type."""
    if pa.types.is_unsigned_integer(t) and t.bit_width == 64:
        return 20
    return {8: 3, 16: 5, 32: 10, 64: 19}[t.bit_width]


def as_decimal(t: pa.DataType) -> pa.DataType:
    """The decimal type an integer or decimal type widens to."""
    if is_decimal(t):
        return t
    if is_integer(t):
        return decimal(integer_digits(t), 0)
    raise TypeError(f"{t} is not exact numeric")


def _integer_supertype(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The narrowest type holding every value of both integer types, the
    same whichever side comes first: a signed type meeting an unsigned one
    must be wider than it (UTINYINT with TINYINT is SMALLINT; UBIGINT with
    any signed type is DECIMAL(20,0), DuckDB's HUGEINT role)."""
    sa, sb = pa.types.is_signed_integer(a), pa.types.is_signed_integer(b)
    if sa == sb:
        return a if a.bit_width >= b.bit_width else b
    signed, unsigned = (a, b) if sa else (b, a)
    if signed.bit_width > unsigned.bit_width:
        return signed
    if unsigned.bit_width == 64:
        return decimal(20, 0)
    return pa.type_for_alias(f"int{unsigned.bit_width * 2}")


def common_supertype(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The type both sides coerce to in comparisons, CASE, UNION, IN; None if none."""
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if is_integer(a) and is_integer(b):
        return _integer_supertype(a, b)
    if is_floating(a) or is_floating(b):
        if is_numeric(a) and is_numeric(b):
            return FLOAT64
        return None
    if (is_decimal(a) or is_integer(a)) and (is_decimal(b) or is_integer(b)):
        da, db = as_decimal(a), as_decimal(b)
        scale = max(da.scale, db.scale)
        whole = max(da.precision - da.scale, db.precision - db.scale)
        return decimal(whole + scale, scale)
    if is_string(a) and is_string(b):
        return STRING
    if pa.types.is_date(a) and pa.types.is_timestamp(b):
        return b
    if pa.types.is_timestamp(a) and pa.types.is_date(b):
        return a
    if is_string(a) and (is_temporal(b) or is_numeric(b)):
        return b  # a string literal compared with a date or number takes its type
    if is_string(b) and (is_temporal(a) or is_numeric(a)):
        return a
    return None


def value_supertype(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The type of a value that may come from either side: CASE / COALESCE /
    GREATEST results, UNION columns, VALUES rows, IN (subquery). As
    common_supertype, except that two decimals needing more than 38 digits
    keep their integer digits and give up scale (DuckDB: DECIMAL(30,0) with
    DECIMAL(20,15) is DECIMAL(38,8)); comparisons keep the scale instead."""
    t = common_supertype(a, b)
    if t is not None and is_decimal(a) and is_decimal(b) and is_decimal(t):
        whole = max(a.precision - a.scale, b.precision - b.scale)
        scale = max(a.scale, b.scale)
        if whole + scale > MAX_DECIMAL_PRECISION:
            return decimal(MAX_DECIMAL_PRECISION, max(0, MAX_DECIMAL_PRECISION - whole))
    return t


_SQL_NAMES = {
    pa.bool_(): "BOOLEAN", pa.int8(): "TINYINT", pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT", pa.uint32(): "UINTEGER", pa.uint64(): "UBIGINT",
    pa.float32(): "FLOAT", pa.float64(): "DOUBLE", pa.string(): "VARCHAR",
    pa.binary(): "BLOB", pa.date32(): "DATE", pa.null(): "NULL",
    INTERVAL: "INTERVAL",
}


def sql_name(t: pa.DataType) -> str:
    """The SQL spelling of a type, for DESCRIBE and error messages."""
    if t in _SQL_NAMES:
        return _SQL_NAMES[t]
    if is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP WITH TIME ZONE" if t.tz else "TIMESTAMP"
    if is_string(t):
        return "VARCHAR"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"{sql_name(t.value_type)}[]"
    return str(t).upper()


def to_wire(t: pa.DataType) -> str:
    """A string that `from_wire` turns back into the same type."""
    if is_decimal(t):
        return f"decimal128({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return f"timestamp[{t.unit}{',' + t.tz if t.tz else ''}]"
    if pa.types.is_list(t):
        return f"list<{to_wire(t.value_type)}>"
    return str(t)


_WIRE_SIMPLE = {
    "bool": pa.bool_(), "int8": pa.int8(), "int16": pa.int16(),
    "int32": pa.int32(), "int64": pa.int64(), "uint8": pa.uint8(),
    "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
    "float": pa.float32(), "double": pa.float64(), "halffloat": pa.float16(),
    "string": pa.string(), "binary": pa.binary(), "date32[day]": pa.date32(),
    "null": pa.null(), "month_day_nano_interval": INTERVAL,
    "large_string": pa.large_string(),
}


def from_wire(s: str) -> pa.DataType:
    if s in _WIRE_SIMPLE:
        return _WIRE_SIMPLE[s]
    if s.startswith("decimal128("):
        p, sc = s[len("decimal128("):-1].split(",")
        return pa.decimal128(int(p), int(sc))
    if s.startswith("timestamp["):
        inner = s[len("timestamp["):-1]
        unit, _, tz = inner.partition(",")
        return pa.timestamp(unit, tz or None)
    if s.startswith("list<"):
        return pa.list_(from_wire(s[5:-1]))
    raise ValueError(f"unknown wire type {s!r}")
