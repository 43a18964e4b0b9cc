"""SQL types and literal values: sqlglot DataType -> Arrow type, sqlglot
literals and `?` parameters -> typed `expr.Literal`, INTERVAL parsing, and
`coerce(expr, type)` (folds a literal when the value converts exactly, else
wraps the expression in a Cast).

Literal typing follows DuckDB: integers are INTEGER if they fit, else BIGINT;
`2.50` is DECIMAL(3,2); `2.5e0` is DOUBLE; strings VARCHAR.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
from sqlglot import exp

from .. import datatypes as dt
from ..planner import expr as ex

INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1

_T = exp.DataType.Type
_SIMPLE_TYPES: dict[Any, pa.DataType] = {
    _T.BOOLEAN: dt.BOOL, _T.TINYINT: pa.int8(), _T.SMALLINT: pa.int16(),
    _T.INT: dt.INT32, _T.BIGINT: dt.INT64, _T.UTINYINT: pa.uint8(),
    _T.USMALLINT: pa.uint16(), _T.UINT: pa.uint32(), _T.UBIGINT: pa.uint64(),
    _T.FLOAT: pa.float32(), _T.DOUBLE: dt.FLOAT64, _T.TEXT: dt.STRING,
    _T.VARCHAR: dt.STRING, _T.CHAR: dt.STRING, _T.NCHAR: dt.STRING,
    _T.NVARCHAR: dt.STRING, _T.DATE: dt.DATE, _T.TIMESTAMP: dt.TIMESTAMP,
    _T.TIMESTAMPNTZ: dt.TIMESTAMP, _T.DATETIME: dt.TIMESTAMP,
    _T.TIMESTAMPTZ: pa.timestamp("us", "UTC"), _T.TIMESTAMPLTZ: pa.timestamp("us", "UTC"),
    _T.INTERVAL: dt.INTERVAL, _T.VARBINARY: pa.binary(), _T.BINARY: pa.binary(),
    _T.BLOB: pa.binary() if hasattr(_T, "BLOB") else pa.binary(),
    _T.INT128: dt.decimal(38, 0), _T.NULL: dt.NULL,
}


class TypeNotSupported(Exception):
    """A SQL type with no Arrow mapping (the caller adds the position)."""


def arrow_type(node: exp.DataType) -> pa.DataType:
    """The Arrow type of a sqlglot DataType node (DuckDB spellings)."""
    t = node.this
    if t in (_T.DECIMAL, _T.BIGDECIMAL) or str(t).endswith("NUMERIC"):
        params = [int(p.this.this) if isinstance(p, exp.DataTypeParam) else int(p.this)
                  for p in node.expressions]
        if not params:
            return dt.decimal(18, 3)
        precision = params[0]
        scale = params[1] if len(params) > 1 else 0
        if precision > dt.MAX_DECIMAL_PRECISION:
            raise TypeNotSupported(f"DECIMAL({precision},{scale}): precision above 38")
        return dt.decimal(precision, scale)
    if t == _T.ARRAY and node.expressions:
        return pa.list_(arrow_type(node.expressions[0]))
    if t in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[t]
    raise TypeNotSupported(f"type {node.sql('duckdb')}")


def int_literal(value: int) -> ex.Literal:
    if INT32_MIN <= value <= INT32_MAX:
        return ex.Literal(value, dt.INT32)
    if INT64_MIN <= value <= INT64_MAX:
        return ex.Literal(value, dt.INT64)
    if len(str(abs(value))) <= dt.MAX_DECIMAL_PRECISION:
        return ex.Literal(Decimal(value), dt.decimal(len(str(abs(value))), 0))
    return ex.Literal(float(value), dt.FLOAT64)


def decimal_type_of(value: Decimal) -> pa.DataType:
    sign, digits, exponent = value.as_tuple()
    scale = max(-exponent, 0) if isinstance(exponent, int) else 0
    ndigits = len(digits) + max(exponent, 0) if isinstance(exponent, int) else len(digits)
    precision = max(ndigits, scale, 1)
    if scale == precision and ndigits <= scale:
        precision = scale + 1 if scale < dt.MAX_DECIMAL_PRECISION else scale
    return dt.decimal(precision, scale)


def number_literal(text: str) -> ex.Literal:
    """A numeric literal from its SQL text."""
    t = text.strip()
    if re.fullmatch(r"[+-]?\d+", t):
        return int_literal(int(t))
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", t):
        whole, _, frac = t.lstrip("+-").partition(".")
        precision, scale = max(len(whole) + len(frac), 1), len(frac)
        if precision > dt.MAX_DECIMAL_PRECISION:
            return ex.Literal(float(t), dt.FLOAT64)
        return ex.Literal(Decimal(t), dt.decimal(precision, scale))
    return ex.Literal(float(t), dt.FLOAT64)


def python_literal(value: Any) -> ex.Literal:
    """A `?` parameter value as a typed literal."""
    if value is None:
        return ex.Literal(None, dt.NULL)
    if isinstance(value, bool):
        return ex.Literal(value, dt.BOOL)
    if isinstance(value, int):
        return int_literal(value)
    if isinstance(value, float):
        return ex.Literal(value, dt.FLOAT64)
    if isinstance(value, Decimal):
        return ex.Literal(value, decimal_type_of(value))
    if isinstance(value, str):
        return ex.Literal(value, dt.STRING)
    if isinstance(value, _dt.datetime):
        return ex.Literal(value, pa.timestamp("us", "UTC") if value.tzinfo else dt.TIMESTAMP)
    if isinstance(value, _dt.date):
        return ex.Literal(value, dt.DATE)
    if isinstance(value, (bytes, bytearray)):
        return ex.Literal(bytes(value), pa.binary())
    if isinstance(value, _dt.timedelta):
        micros = (value.seconds * 1_000_000 + value.microseconds)
        return ex.Literal((0, value.days, micros * 1000), dt.INTERVAL)
    raise TypeError(f"unsupported parameter type {type(value).__name__}")


# --- intervals --------------------------------------------------------------

_UNIT_ALIASES = {
    "year": "year", "years": "year", "y": "year", "yr": "year", "yrs": "year",
    "quarter": "quarter", "quarters": "quarter",
    "month": "month", "months": "month", "mon": "month", "mons": "month",
    "week": "week", "weeks": "week", "w": "week",
    "day": "day", "days": "day", "d": "day",
    "hour": "hour", "hours": "hour", "h": "hour", "hr": "hour", "hrs": "hour",
    "minute": "minute", "minutes": "minute", "min": "minute", "mins": "minute", "m": "minute",
    "second": "second", "seconds": "second", "s": "second", "sec": "second", "secs": "second",
    "millisecond": "millisecond", "milliseconds": "millisecond", "ms": "millisecond",
    "microsecond": "microsecond", "microseconds": "microsecond", "us": "microsecond",
}
_NANOS = {"hour": 3_600_000_000_000, "minute": 60_000_000_000, "second": 1_000_000_000,
          "millisecond": 1_000_000, "microsecond": 1_000}


def interval_value(amount_text: str, unit: str | None) -> tuple[int, int, int]:
    """(months, days, nanos) for `INTERVAL '<amount_text>' <unit>`; the text
    may hold several `<n> <unit>` pairs when unit is None."""
    if unit is None:
        parts = re.findall(r"([+-]?\d+(?:\.\d+)?)\s*([a-zA-Z]+)", amount_text)
        if not parts or re.sub(r"[+-]?\d+(?:\.\d+)?\s*[a-zA-Z]+", "", amount_text).strip():
            raise ValueError(f"cannot parse interval '{amount_text}'")
    else:
        parts = [(amount_text.strip(), unit)]
    months = days = nanos = 0
    for number, u in parts:
        name = _UNIT_ALIASES.get(u.lower())
        if name is None:
            raise ValueError(f"unknown interval unit {u}")
        try:
            n = Decimal(number)
        except ArithmeticError:
            raise ValueError(f"cannot parse interval '{amount_text}'") from None
        if name in ("year", "quarter", "month"):
            months += int(n * {"year": 12, "quarter": 3, "month": 1}[name])
        elif name in ("week", "day"):
            days += int(n * (7 if name == "week" else 1))
        else:
            nanos += int(n * _NANOS[name])
    return months, days, nanos


# --- literal conversion and coercion -----------------------------------------

def convert_literal(lit: ex.Literal, target: pa.DataType) -> ex.Literal | None:
    """`lit` as a literal of type `target` when the value converts exactly."""
    v, src = lit.value, lit.dtype
    if src == target:
        return lit
    if v is None:
        return ex.Literal(None, target)
    try:
        if dt.is_integer(src) and dt.is_decimal(target):
            d = Decimal(v)
            if len(d.as_tuple().digits) <= target.precision - target.scale:
                return ex.Literal(d.quantize(Decimal(1).scaleb(-target.scale)), target)
        elif dt.is_integer(src) and dt.is_integer(target):
            info = (INT32_MIN, INT32_MAX) if target == dt.INT32 else (INT64_MIN, INT64_MAX)
            if target in (dt.INT32, dt.INT64) and info[0] <= v <= info[1]:
                return ex.Literal(v, target)
        elif (dt.is_integer(src) or dt.is_decimal(src)) and target == dt.FLOAT64:
            return ex.Literal(float(v), target)
        elif dt.is_decimal(src) and dt.is_decimal(target):
            q = v.quantize(Decimal(1).scaleb(-target.scale))
            if q == v and len(q.as_tuple().digits) <= target.precision:
                return ex.Literal(q, target)
        elif dt.is_string(src) and target == dt.DATE:
            return ex.Literal(_dt.date.fromisoformat(v.strip()), target)
        elif dt.is_string(src) and pa.types.is_timestamp(target) and target.tz is None:
            return ex.Literal(_dt.datetime.fromisoformat(v.strip()), target)
        elif src == dt.DATE and target == dt.TIMESTAMP:
            return ex.Literal(_dt.datetime(v.year, v.month, v.day), target)
    except (ValueError, InvalidOperation, TypeError, ArithmeticError):
        return None
    return None


def coerce(e: ex.Expr, target: pa.DataType) -> ex.Expr:
    """`e` as type `target`: the same node, a converted literal, or a Cast."""
    if e.dtype == target:
        return e
    if isinstance(e, ex.Literal):
        folded = convert_literal(e, target)
        if folded is not None:
            return folded
    return ex.Cast(e, target)
