"""Dates and timestamps: +/- interval or days, date - date, extract,
date_trunc, date_diff, make_date, strftime, strptime, current_date,
dayname, monthname, last_day.

Month arithmetic is calendar arithmetic done on numpy datetime64 arrays:
the day of month is clamped to the target month's length (2020-01-31 +
1 month = 2020-02-29), months are applied before days, as in DuckDB.
DATE values are days since the epoch (date32), TIMESTAMP values are
microseconds (timestamp[us]).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import DataError
from ... import datatypes as dt
from .registry import as_array, from_numpy, py, register, to_int_numpy, valid_mask

US_PER_DAY = 86_400_000_000
_IV_DTYPE = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])


def _interval_parts(iv, n: int):
    """(months, days, nanos, valid) numpy arrays of an interval Datum."""
    if isinstance(iv, pa.Scalar):
        if not iv.is_valid:
            z = np.zeros(n, dtype=np.int64)
            return z, z, z, np.zeros(n, dtype=bool)
        v = iv.as_py()
        full = lambda x: np.full(n, x, dtype=np.int64)  # noqa: E731
        return full(v.months), full(v.days), full(v.nanoseconds), np.ones(n, dtype=bool)
    buf = iv.buffers()[1]
    rec = np.frombuffer(buf, dtype=_IV_DTYPE, count=iv.offset + len(iv))[iv.offset:]
    return (rec["months"].astype(np.int64), rec["days"].astype(np.int64),
            rec["nanos"].astype(np.int64), valid_mask(iv))


def negate_interval(iv, n: int):
    if isinstance(iv, pa.Scalar):
        if not iv.is_valid:
            return iv
        v = iv.as_py()
        return pa.scalar((-v.months, -v.days, -v.nanoseconds), dt.INTERVAL)
    m, d, ns, valid = _interval_parts(iv, n)
    rec = np.empty(n, dtype=_IV_DTYPE)
    rec["months"], rec["days"], rec["nanos"] = -m, -d, -ns
    validity = None if valid.all() else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(dt.INTERVAL, n, [validity, pa.py_buffer(rec.tobytes())])


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Days since epoch plus a number of calendar months (day clamped)."""
    d64 = days.astype("datetime64[D]")
    month = d64.astype("datetime64[M]")
    dom = (d64 - month.astype("datetime64[D]")).astype(np.int64)
    new_month = month + months.astype("timedelta64[M]")
    start = new_month.astype("datetime64[D]")
    length = ((new_month + np.timedelta64(1, "M")).astype("datetime64[D]") - start).astype(np.int64)
    return (start + np.minimum(dom, length - 1)).astype(np.int64)


def _plus_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """add_months, skipped when no row adds a month (`+ INTERVAL '5' DAY`:
    the calendar arithmetic on datetime64 was 0.4 s of a join over SF1
    lineitem's 6M matched rows)."""
    return add_months(days, months) if months.any() else days


def temporal_arith(call, a, b, n):
    """date/timestamp +/- interval or integer days; date - date."""
    fn, out = call.fn, call.dtype
    a = as_array(a, n)
    sign = -1 if fn == "sub" else 1
    if pa.types.is_date(b.type):            # date - date -> days
        return pc.subtract(a.cast(pa.int32()).cast(pa.int64()),
                           as_array(b, n).cast(pa.int32()).cast(pa.int64()))
    valid_a = valid_mask(a)
    if dt.is_integer(b.type):               # date +/- days
        bb = as_array(b, n)
        days = to_int_numpy(a, pa.int32()).astype(np.int64) + sign * to_int_numpy(bb)
        return from_numpy(days.astype(np.int32), pa.date32(), valid_a & valid_mask(bb))
    months, ivdays, nanos, valid_b = _interval_parts(b, n)
    months, ivdays, nanos = sign * months, sign * ivdays, sign * nanos
    valid = valid_a & valid_b
    if pa.types.is_date(a.type):
        if np.any(nanos[valid] != 0):
            raise DataError("a DATE plus an interval with a time part needs a TIMESTAMP")
        days = to_int_numpy(a, pa.int32()).astype(np.int64)
        res = _plus_months(days, months) + ivdays
        return from_numpy(res.astype(np.int32), pa.date32(), valid)
    us = to_int_numpy(a.cast(pa.timestamp("us", a.type.tz)).cast(pa.int64()))
    days = np.floor_divide(us, US_PER_DAY)
    tod = us - days * US_PER_DAY
    res = (_plus_months(days, months) + ivdays) * US_PER_DAY + tod + nanos // 1000
    return from_numpy(res, out, valid)


# --- extract --------------------------------------------------------------------

def _extract(part: str, v: pa.Array) -> pa.Array:
    if part == "epoch":
        if pa.types.is_date(v.type):
            return pc.multiply(v.cast(pa.int32()).cast(pa.float64()), 86400.0)
        us = v.cast(pa.timestamp("us", v.type.tz)).cast(pa.int64())
        return pc.divide(us.cast(pa.float64()), 1e6)
    if part == "dow":
        return pc.day_of_week(v, count_from_zero=True, week_start=7)
    if part == "isodow":
        return pc.day_of_week(v, count_from_zero=False, week_start=1)
    if part == "week":
        return pc.iso_week(v)
    if part == "doy":
        return pc.day_of_year(v)
    if part == "millisecond":
        return pc.add(pc.multiply(pc.second(v), 1000), pc.millisecond(v))
    if part == "microsecond":
        return pc.add(pc.add(pc.multiply(pc.second(v), 1_000_000),
                             pc.multiply(pc.millisecond(v), 1000)), pc.microsecond(v))
    return getattr(pc, part)(v)   # year, quarter, month, day, hour, minute, second


@register("extract")
def extract(call, args, n):
    part, value = py(args[0]), args[1]
    if isinstance(value, pa.Scalar):
        value = pa.array([value.as_py()], value.type)
        return _extract(part, value).cast(call.dtype)[0]
    return _extract(part, value).cast(call.dtype)


@register("date_trunc")
def date_trunc(call, args, n):
    part, value = py(args[0]), as_array(args[1], n)
    return pc.floor_temporal(value, multiple=1, unit=part, week_starts_monday=True)


def _months_index(v: pa.Array, per_year: int) -> pa.Array:
    y = pc.year(v)
    sub = pc.month(v) if per_year == 12 else pc.quarter(v)
    return pc.add(pc.multiply(y, per_year), sub)


_UNIT_US = {"hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000,
            "millisecond": 1000, "microsecond": 1}


@register("date_diff")
def date_diff(call, args, n):
    """Boundaries of `part` crossed going from start to end (DuckDB)."""
    part = py(args[0])
    a, b = as_array(args[1], n), as_array(args[2], n)
    if part == "year":
        return pc.subtract(pc.year(b), pc.year(a))
    if part in ("month", "quarter"):
        per = 12 if part == "month" else 4
        return pc.subtract(_months_index(b, per), _months_index(a, per))
    if pa.types.is_date(a.type):
        da, db = a.cast(pa.int32()).cast(pa.int64()), b.cast(pa.int32()).cast(pa.int64())
    else:
        da = _floor_div(a.cast(pa.int64()), US_PER_DAY)
        db = _floor_div(b.cast(pa.int64()), US_PER_DAY)
    if part == "day":
        return pc.subtract(db, da)
    if part == "week":
        return pc.divide(pc.subtract(db, da), 7)   # truncates toward zero
    ua, ub = a.cast(pa.int64()), b.cast(pa.int64())
    unit = _UNIT_US[part]
    return pc.subtract(_floor_div(ub, unit), _floor_div(ua, unit))


def _floor_div(a: pa.Array, k: int) -> pa.Array:
    q = pc.divide(a, k)
    fix = pc.and_(pc.less(a, 0), pc.not_equal(pc.multiply(q, k), a))
    return pc.if_else(fix, pc.subtract(q, 1), q)


@register("make_date")
def make_date(call, args, n):
    y, m, d = (as_array(x, n) for x in args)
    valid = valid_mask(y) & valid_mask(m) & valid_mask(d)
    yy, mm, dd = to_int_numpy(y), to_int_numpy(m), to_int_numpy(d)
    bad = valid & ((mm < 1) | (mm > 12) | (dd < 1) | (yy < -290000) | (yy > 290000))
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"make_date: invalid date {yy[i]}-{mm[i]}-{dd[i]}")
    mm, dd, yy = np.where(valid, mm, 1), np.where(valid, dd, 1), np.where(valid, yy, 1970)
    month = (yy - 1970) * 12 + (mm - 1)
    start = month.astype("datetime64[M]")
    length = ((start + np.timedelta64(1, "M")).astype("datetime64[D]")
              - start.astype("datetime64[D]")).astype(np.int64)
    bad = valid & (dd > length)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"make_date: invalid date {yy[i]}-{mm[i]}-{dd[i]}")
    days = start.astype("datetime64[D]").astype(np.int64) + dd - 1
    return from_numpy(days.astype(np.int32), pa.date32(), valid)


@register("strftime")
def strftime(call, args, n):
    value, fmt = as_array(args[0], n), py(args[1])
    if fmt is None:
        return pa.nulls(n, pa.string())
    if pa.types.is_timestamp(value.type) and value.type.unit != "s" and "%S" in fmt \
            and "%f" not in fmt:
        # Arrow's %S prints the fraction of a sub-second timestamp; DuckDB's
        # %S is whole seconds
        value = pc.cast(pc.floor_temporal(value, unit="second"), pa.timestamp("s"))
    return pc.strftime(value, format=fmt)


@register("strptime")
def strptime(call, args, n):
    s, fmt = as_array(args[0], n), py(args[1])
    if fmt is None:
        return pa.nulls(n, call.dtype)
    try:
        return pc.strptime(s, format=fmt, unit="us", error_is_null=False)
    except pa.ArrowInvalid as e:
        raise DataError(f"strptime: {e}") from None


@register("current_date")
def current_date(call, args, n):
    return pa.scalar(_dt.date.today(), pa.date32())


@register("dayname", "monthname")
def day_month_name(call, args, n):
    fmt = "%A" if call.fn == "dayname" else "%B"
    return pc.strftime(pc.cast(as_array(args[0], n), pa.timestamp("s")), format=fmt,
                       locale="C")


@register("last_day")
def last_day(call, args, n):
    """The last day of the date's month."""
    d = as_array(args[0], n)
    days = d.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    nxt = (days.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    valid = ~pc.is_null(d).to_numpy(zero_copy_only=False)
    return pa.array(nxt.astype("int64").astype("int32"), pa.int32(),
                    mask=None if valid.all() else ~valid).cast(pa.date32())
