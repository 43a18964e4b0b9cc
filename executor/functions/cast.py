"""CAST and TRY_CAST over Arrow arrays with SQL semantics.

    cast_array(['1', 'x'], int32, safe=False) -> DataError naming 'x' and INTEGER
    cast_array(['1', 'x'], int32, safe=True)  -> [1, NULL]

Decimals cast to integers or to a smaller decimal scale are rounded half
away from zero, doubles cast to integers half to even (both as DuckDB), never
truncated; strings are trimmed of blanks before they
are parsed as numbers, booleans or dates. A value that cannot be converted
raises DataError (CAST) or becomes NULL (TRY_CAST): invalid rows are found
with vectorized checks (a regex for strings, a range check for numbers) and,
for what those miss, by bisecting the array (a handful of casts, never a
loop over rows).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import DataError
from ... import datatypes as dt
from ..kernels.arrow_buffers import decimal_words, validity
from ..kernels.date_to_string import format_dates
from ..kernels.decimal_to_float import decimal_to_double
from ..kernels.decimal_to_int import decimal_to_int64

_NO_MASK = np.zeros(0, dtype=np.bool_)

_INT_RE = r"^[+-]?\d+$"
_DEC_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_FLOAT_RE = r"^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_TS_RE = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?([+-]\d{2}(:?\d{2})?|Z)?$"
_BOOL_RE = r"^(true|false|1|0)$"


def _round_half_away(a: pa.Array, ndigits: int = 0) -> pa.Array:
    return pc.round(a, ndigits, round_mode="half_towards_infinity")


def _prepare(a: pa.Array, target: pa.DataType) -> pa.Array:
    """Put `a` in a form pyarrow casts to `target` the SQL way."""
    src = a.type
    if dt.is_string(src):
        if dt.is_numeric(target) or dt.is_temporal(target) or pa.types.is_boolean(target):
            a = pc.utf8_trim_whitespace(a)
            if dt.is_numeric(target):
                a = pc.replace_substring_regex(a, r"^\+", "")
            if pa.types.is_boolean(target) or dt.is_floating(target):
                a = pc.utf8_lower(a)
            if pa.types.is_boolean(target):
                a = pc.replace_substring_regex(a, r"^(t|yes|y)$", "true")
                a = pc.replace_substring_regex(a, r"^(f|no|n)$", "false")
        return a
    if dt.is_integer(target) and dt.is_floating(src):
        # DuckDB rounds a DOUBLE to the nearest integer, ties to even (nearbyint)
        return pc.round(a, 0, round_mode="half_to_even")
    if dt.is_decimal(target) and dt.is_integer(src) and \
            dt.integer_digits(src) + target.scale <= 38:
        # pyarrow refuses int -> DECIMAL(p, s) unless p - s covers the whole
        # integer type; go through DECIMAL(38, s) and let the range check of
        # the final cast find the values that do not fit
        wide = pa.uint64() if src == pa.uint64() else pa.int64()
        return a.cast(wide).cast(dt.decimal(38, target.scale))
    if dt.is_integer(target) and dt.is_decimal(src):
        if dt.is_decimal(src):
            # make room for the carry of rounding (9.5 -> 10)
            a = a.cast(dt.decimal(min(src.precision + 1, 38), src.scale))
        return _round_half_away(a)
    if dt.is_decimal(target) and dt.is_decimal(src) and src.scale > target.scale:
        a = a.cast(dt.decimal(min(src.precision + 1, 38), src.scale))
        return _round_half_away(a, target.scale)
    if dt.is_decimal(target) and dt.is_floating(src):
        return _round_half_away(a, target.scale)
    return a


def _raw_cast(a: pa.Array, target: pa.DataType) -> pa.Array:
    src = a.type
    lossy_ok = ((pa.types.is_timestamp(src) and pa.types.is_date(target))
                or (pa.types.is_timestamp(src) and pa.types.is_timestamp(target))
                or (dt.is_integer(src) and dt.is_floating(target)))   # rounds, never fails
    return pc.cast(a, target, safe=not lossy_ok)


def _precheck(a: pa.Array, target: pa.DataType) -> pa.Array | None:
    """Boolean array: False where the (prepared) value surely cannot be cast;
    None when no cheap check applies."""
    src = a.type
    if dt.is_string(src):
        pattern = None
        if dt.is_integer(target):
            pattern = _INT_RE
        elif dt.is_decimal(target):
            pattern = _DEC_RE
        elif dt.is_floating(target):
            pattern = _FLOAT_RE
        elif pa.types.is_date(target):
            pattern = _DATE_RE
        elif pa.types.is_timestamp(target):
            pattern = _TS_RE
        elif pa.types.is_boolean(target):
            pattern = _BOOL_RE
        if pattern is None:
            return None
        return pc.fill_null(pc.match_substring_regex(a, pattern), True)
    if dt.is_integer(target) and dt.is_numeric(src):
        info = np.iinfo(target.to_pandas_dtype())
        f = a.cast(pa.float64(), safe=False) if not dt.is_integer(src) else a
        if dt.is_integer(src):
            lo, hi = pa.scalar(int(info.min), pa.int64()), pa.scalar(int(info.max), pa.uint64())
            ok = pc.and_(pc.greater_equal(f, lo),
                         pc.less_equal(f, hi))
        else:
            ok = pc.and_(pc.greater_equal(f, pa.scalar(float(info.min))),
                         pc.less(f, pa.scalar(float(info.max) + 1.0)))
        return pc.fill_null(ok, True)
    if dt.is_decimal(target) and (dt.is_numeric(src)):
        limit = 10.0 ** (target.precision - target.scale)
        f = a.cast(pa.float64(), safe=False)
        return pc.fill_null(pc.less(pc.abs(f), pa.scalar(limit)), True)
    return None


def _bad_rows(a: pa.Array, target: pa.DataType) -> np.ndarray:
    """Positions whose value fails to cast, found by bisection."""
    bad: list[np.ndarray] = []

    def go(lo: int, hi: int) -> None:
        try:
            _raw_cast(a.slice(lo, hi - lo), target)
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
            pass
        if hi - lo == 1:
            bad.append(np.array([lo]))
            return
        mid = (lo + hi) // 2
        go(lo, mid)
        go(mid, hi)

    go(0, len(a))
    return np.concatenate(bad) if bad else np.zeros(0, dtype=np.int64)


def _fail(original: pa.Array, index: int, target: pa.DataType) -> DataError:
    value = original[index].as_py()
    return DataError(f"could not cast value {value!r} to {dt.sql_name(target)}")


def _decimal_to_float(a: pa.Array, target: pa.DataType) -> pa.Array | None:
    """The nearest double of each DECIMAL value, as DuckDB gives (Arrow
    multiplies by 10^-scale: 319.90 -> 319.90000000000003). Exact when the
    unscaled integer has at most 53 bits: one correctly rounded division.
    None when some value is wider (the caller falls back to Arrow)."""
    scale = a.type.scale
    if a.type.bit_width != 128 or not 0 <= scale <= 22:
        return None
    low, high = decimal_words(a)
    valid = validity(a)
    values = np.empty(len(a), dtype=np.float64)
    if not decimal_to_double(low.view(np.int64), high, _NO_MASK if valid is None else valid,
                             10.0 ** scale, values):
        return None
    out = pa.array(values, pa.float64(), mask=None if valid is None else ~valid)
    return out if target == pa.float64() else out.cast(target)


def _decimal_to_integer(a: pa.Array, target: pa.DataType, safe: bool) -> pa.Array | None:
    """CAST of a DECIMAL(≤18) to an integer type, rounding half away from
    zero (kernels/decimal_to_int.py); a value out of range is the DataError
    of any failed cast. None: not this case, or TRY_CAST with a value out
    of range (the general path makes it NULL)."""
    t = a.type
    if not (pa.types.is_decimal128(t) and t.precision <= 18):
        return None
    info = np.iinfo(target.to_pandas_dtype())
    lo, hi = max(int(info.min), -(2 ** 63)), min(int(info.max), 2 ** 63 - 1)
    low, _ = decimal_words(a)
    valid = validity(a)
    out = np.empty(len(a), dtype=np.int64)
    bad = decimal_to_int64(low.view(np.int64), _NO_MASK if valid is None else valid, t.scale,
                           lo, hi, out)
    if bad >= 0:
        if safe:
            return None
        raise _fail(a, int(bad), target)
    res = pa.array(out, pa.int64(), mask=None if valid is None else ~valid)
    return res if target == pa.int64() else res.cast(target)


def _date_to_text(a: pa.Array) -> pa.Array | None:
    """DATE to 'YYYY-MM-DD' (kernels/date_to_string.py); None outside years
    1-9999 (Arrow formats those)."""
    days = np.frombuffer(a.buffers()[1], dtype=np.int32)[a.offset: a.offset + len(a)]
    valid = validity(a)
    data = np.zeros(10 * len(a), dtype=np.uint8)
    if not format_dates(days, _NO_MASK if valid is None else valid, data):
        return None
    offsets = np.arange(0, 10 * len(a) + 1, 10, dtype=np.int32)
    bitmap = None if valid is None else pa.array(valid).buffers()[1]
    return pa.StringArray.from_buffers(len(a), pa.py_buffer(offsets), pa.py_buffer(data),
                                       bitmap, a.null_count)


def _pad_date_fields(a: pa.Array, target: pa.DataType) -> pa.Array:
    """'2020-1-5 7:03:04' -> '2020-01-05 07:03:04' (DuckDB reads one-digit
    months, days and hours)."""
    if not dt.is_temporal(target):
        return a
    a = pc.utf8_trim_whitespace(a)
    a = pc.replace_substring_regex(a, r"^(\d{4})-(\d)-", r"\1-0\2-")
    a = pc.replace_substring_regex(a, r"^(\d{4}-\d{2})-(\d)([^\d]|$)", r"\1-0\2\3")
    return pc.replace_substring_regex(a, r"^(\d{4}-\d{2}-\d{2}[ T])(\d):", r"\10\2:")


_FRACTION_RE = r"^[+-]?(\d+\.\d*|\.\d+)$"
_EXPONENT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$"


def _lenient_string(a: pa.Array, original: pa.Array, target: pa.DataType,
                    safe: bool) -> pa.Array | None:
    """A string -> integer cast where some strings have a fraction or an
    exponent ('1.5', '1e2'): DuckDB rounds them half away from zero. None when
    no string has that form (the caller reports the bad values)."""
    if not dt.is_integer(target):
        return None
    t = pc.utf8_trim_whitespace(a)
    frac = pc.fill_null(pc.match_substring_regex(t, _FRACTION_RE), False)
    expo = pc.fill_null(pc.match_substring_regex(t, _EXPONENT_RE), False)
    if not (pc.any(frac).as_py() or pc.any(expo).as_py()):
        return None
    plain = pc.fill_null(pc.match_substring_regex(t, _INT_RE), False)
    wide = dt.decimal(38, 0)
    # '-12.7' -> whole '-012' (+ or - 1 when the first dropped digit is >= 5)
    whole = pc.replace_substring_regex(t, r"^([+-]?)(\d*)\.(\d*)$", r"\10\2")
    first = pc.replace_substring_regex(t, r"^[+-]?\d*\.(\d?)\d*$", r"\1")
    whole = pc.if_else(frac, whole, pa.scalar(None, pa.string()))
    up = pc.and_(frac, pc.greater_equal(first, pa.scalar("5")))
    step = pc.if_else(pc.starts_with(t, "-"), pa.scalar(-1, pa.int64()), pa.scalar(1, pa.int64()))
    try:
        part = dt.decimal(37, 0)        # the sum of two is DECIMAL(38, 0)
        rounded = pc.add_checked(cast_array(whole, part, safe),
                                 pc.if_else(up, step, pa.scalar(0, pa.int64())).cast(part))
    except pa.ArrowInvalid:
        raise DataError(f"could not cast a value to {dt.sql_name(target)}") from None
    floats = pc.if_else(expo, t, pa.scalar(None, pa.string()))
    floats = _round_half_away(cast_array(floats, pa.float64(), safe))
    ints = pc.if_else(plain, t, pa.scalar(None, pa.string()))
    bad = pc.invert(pc.or_(pc.or_(frac, expo), pc.or_(plain, pc.is_null(t))))
    if pc.any(bad).as_py():
        if not safe:
            raise _fail(original, int(np.argmax(bad.to_numpy(zero_copy_only=False))), target)
    out = pc.coalesce(cast_array(ints, wide, safe), rounded.cast(wide),
                      cast_array(floats, wide, safe))
    return cast_array(out, target, safe)


def _check_upscale(a: pa.Array, target: pa.DataType, safe: bool) -> pa.Array:
    """Arrow's decimal rescale wraps around silently when value * 10^k
    passes 128 bits; find the values that do not fit `target` first (DataError,
    or NULL for TRY_CAST)."""
    whole = target.precision - target.scale
    if whole >= a.type.precision - a.type.scale:
        return a                       # every value fits
    bound = pa.scalar(Decimal(10) ** whole, a.type)
    ok = pc.fill_null(pc.less(pc.abs(a), bound), True)
    if pc.all(ok, min_count=0).as_py():     # an empty batch: every value fits
        return a
    if not safe:
        okn = ok.to_numpy(zero_copy_only=False)
        raise _fail(a, int(np.argmin(okn)), target)
    return pc.if_else(ok, a, pa.scalar(None, a.type))


def cast_array(a: pa.Array, target: pa.DataType, safe: bool = False) -> pa.Array:
    """CAST (safe=False: a bad value raises DataError) or TRY_CAST (safe=True:
    a bad value gives NULL) of an array to `target`."""
    if a.type == target:
        return a
    if pa.types.is_null(a.type):
        return pa.nulls(len(a), target)
    if dt.is_decimal(a.type) and dt.is_floating(target):
        out = _decimal_to_float(a, target)
        if out is not None:
            return out
    if dt.is_decimal(a.type) and dt.is_integer(target):
        out = _decimal_to_integer(a, target, safe)
        if out is not None:
            return out
    if pa.types.is_date32(a.type) and target == pa.string():
        out = _date_to_text(a)
        if out is not None:
            return out
    original = a
    if dt.is_decimal(a.type) and dt.is_decimal(target) and target.scale > a.type.scale:
        a = _check_upscale(a, target, safe)
    if dt.is_string(a.type) and a.type != pa.string():
        a = a.cast(pa.string())
    if pa.types.is_dictionary(a.type):
        a = a.dictionary_decode()
    try:
        prepared = _prepare(a, target)
        return _raw_cast(prepared, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError) as first:
        if isinstance(first, pa.ArrowNotImplementedError):
            raise DataError(f"cannot cast {dt.sql_name(a.type)} to {dt.sql_name(target)}") from None
    if dt.is_string(a.type):
        out = _lenient_string(a, original, target, safe)
        if out is not None:
            return out
        a = _pad_date_fields(a, target)
    # some value failed: find which, vectorized
    ok = _precheck(a if not dt.is_string(a.type) else pc.utf8_trim_whitespace(a), target)
    if ok is not None:
        okn = ok.to_numpy(zero_copy_only=False)
        if not okn.all():
            if not safe:
                raise _fail(original, int(np.argmin(okn)), target)
            a = pc.if_else(ok, a, pa.scalar(None, a.type))
    try:
        return _raw_cast(_prepare(a, target), target)
    except (pa.ArrowInvalid, OverflowError):
        pass
    bad = _bad_rows(_prepare(a, target), target)
    if not safe:
        raise _fail(original, int(bad[0]), target)
    keep = np.ones(len(a), dtype=bool)
    keep[bad] = False
    a = pc.if_else(pa.array(keep), a, pa.scalar(None, a.type))
    return _raw_cast(_prepare(a, target), target)
