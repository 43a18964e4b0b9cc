"""String functions with SQL (DuckDB) semantics over UTF-8 arrays: upper,
lower, reverse, length, substring (1-based; a negative start counts from the
end), trim/ltrim/rtrim, position, replace, starts_with, ends_with, contains,
concat (`||`: NULL in, NULL out), concat_ws (NULLs skipped; SQL concat()
binds to it), repeat, ascii, left, right, lpad, rpad, split_part,
regexp_matches, regexp_replace, regexp_extract.

Arrow's string kernels take their pattern/offset arguments as scalars; when
such an argument is a column, the kernel runs once per distinct value
(registry.per_unique), never once per row.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import DataError, NotSupportedError
from .registry import arrow_call, as_array, per_unique, py, register, valid_mask

S = pa.string()


def _values(d, n):
    return as_array(d, n)


@register("upper")
def upper(call, args, n):
    return pc.utf8_upper(args[0])


@register("lower")
def lower(call, args, n):
    return pc.utf8_lower(args[0])


@register("reverse")
def reverse(call, args, n):
    return pc.utf8_reverse(args[0])


@register("length")
def length(call, args, n):
    return pc.utf8_length(args[0]).cast(pa.int64())


def _slice(values: pa.Array, start: int, length: int | None) -> pa.Array:
    """DuckDB substring(s, start[, length]) with constant start/length."""
    if length is not None and length < 0:
        length = 0
    if start > 0:
        begin = start - 1
        stop = None if length is None else begin + length
    elif start == 0:
        begin = 0
        stop = None if length is None else max(length - 1, 0)
    else:
        begin = start
        stop = None if length is None or start + length >= 0 else start + length
    if stop is not None and stop == 0 and begin >= 0:
        return pc.utf8_slice_codeunits(values, 0, 0)
    return pc.utf8_slice_codeunits(values, begin, stop)


@register("substring")
def substring(call, args, n):
    values = _values(args[0], n)
    if len(args) == 2:
        return per_unique(values, args[1], n, lambda v, s: _slice(v, s.as_py(), None)
                          if s.is_valid else pa.nulls(len(v), S), S)
    start, length = args[1], args[2]
    if isinstance(start, pa.Scalar) and isinstance(length, pa.Scalar):
        if not (start.is_valid and length.is_valid):
            return pa.nulls(n, S)
        return _slice(values, start.as_py(), length.as_py())
    # per distinct (start, length) pair
    pairs = pc.binary_join_element_wise(pc.cast(as_array(start, n), S),
                                        pc.cast(as_array(length, n), S), ":")
    return per_unique(values, pairs, n, lambda v, p: _slice(
        v, int(p.as_py().split(":")[0]), int(p.as_py().split(":")[1])), S)


def _trim(fn: str, call, args, n):
    chars = py(args[1]) if len(args) == 2 else " "
    if chars is None:
        return pa.nulls(n, S)
    kernel = {"trim": pc.utf8_trim, "ltrim": pc.utf8_ltrim, "rtrim": pc.utf8_rtrim}[fn]
    return kernel(args[0], characters=chars)


@register("trim", "ltrim", "rtrim")
def trim(call, args, n):
    return _trim(call.fn, call, args, n)


def _position(values: pa.Array, sub: pa.Scalar) -> pa.Array:
    if not sub.is_valid:
        return pa.nulls(len(values), pa.int64())
    needle = sub.as_py()
    if needle == "":
        return pc.if_else(pc.is_valid(values), pa.scalar(1, pa.int64()), pa.scalar(None, pa.int64()))
    found = pc.match_substring(values, needle)
    before = pc.list_element(pc.split_pattern(values, needle, max_splits=1), 0)
    pos = pc.add(pc.utf8_length(before).cast(pa.int64()), 1)
    return pc.if_else(found, pos, pa.scalar(0, pa.int64()))


@register("position")
def position(call, args, n):
    return per_unique(_values(args[0], n), args[1], n, _position, pa.int64())


@register("replace")
def replace(call, args, n):
    values, src, dst = _values(args[0], n), args[1], args[2]
    if not isinstance(dst, pa.Scalar):
        raise NotSupportedError("replace() with a non-constant replacement")
    if not dst.is_valid:
        return pa.nulls(n, S)

    def one(v, p):
        if not p.is_valid:
            return pa.nulls(len(v), S)
        if p.as_py() == "":
            return v
        return pc.replace_substring(v, p.as_py(), dst.as_py())
    return per_unique(values, src, n, one, S)


def _pattern_kernel(kernel):
    def impl(call, args, n):
        def one(v, p):
            if not p.is_valid:
                return pa.nulls(len(v), pa.bool_())
            return arrow_call(kernel, v, p.as_py())
        return per_unique(_values(args[0], n), args[1], n, one, pa.bool_())
    return impl


register("starts_with")(_pattern_kernel(pc.starts_with))
register("ends_with")(_pattern_kernel(pc.ends_with))
register("contains")(_pattern_kernel(pc.match_substring))
register("regexp_matches")(_pattern_kernel(pc.match_substring_regex))


@register("regexp_replace")
def regexp_replace(call, args, n):
    """regexp_replace(s, pattern, replacement[, options]): the first match
    only, unless options has 'g'; 'i' makes the match case-insensitive."""
    pat, rep = py(args[1]), py(args[2])
    options = py(args[3]) if len(args) == 4 else ""
    if pat is None or rep is None or options is None:
        return pa.nulls(n, S)
    bad = set(options) - set("gicsmnlp")
    if bad:
        raise DataError(f"regexp_replace(): unknown option '{sorted(bad)[0]}'")
    if "i" in options:
        pat = "(?i)" + pat
    return arrow_call(pc.replace_substring_regex, args[0], pat, rep,
                      max_replacements=None if "g" in options else 1)


@register("regexp_extract")
def regexp_extract(call, args, n):
    """regexp_extract(s, pattern[, group]): capture group `group` (0: the
    whole match) of the first match; '' when the pattern does not match
    (DuckDB). The pattern is wrapped so one regex replacement keeps only the
    wanted group: `(?s)^.*?(pattern).*$` -> `\\{group + 1}`."""
    pat = py(args[1])
    group = py(args[2]) if len(args) == 3 else 0
    if pat is None or group is None:
        return pa.nulls(n, S)
    if not 0 <= group <= 8:
        raise DataError(f"regexp_extract(): group {group} is out of range (0 to 8)")
    try:
        groups = re.compile(pat).groups
    except re.error:
        groups = None       # RE2 syntax Python lacks: Arrow reports a bad pattern
    if groups is not None and group > groups:
        raise DataError(f"regexp_extract(): the pattern has no group {group}")
    values = _values(args[0], n)
    wrapped = f"(?s)^.*?({pat}).*$"
    picked = arrow_call(pc.replace_substring_regex, values, wrapped, f"\\{group + 1}",
                        max_replacements=1)
    found = arrow_call(pc.match_substring_regex, values, pat)
    return pc.if_else(found, picked, pa.scalar("", S))


@register("concat")
def concat(call, args, n):
    """`||`: a NULL argument makes the result NULL."""
    if len(args) == 1:
        return args[0]
    return pc.binary_join_element_wise(*args, "", null_handling="emit_null")


@register("concat_ws")
def concat_ws(call, args, n):
    """concat_ws(sep, a, ...): NULL arguments are skipped; NULL sep gives NULL."""
    sep, values = args[0], args[1:]
    if isinstance(sep, pa.Scalar) and not sep.is_valid:
        return pa.nulls(n, S)
    # binary_join_element_wise(null_handling="skip") drops the rows whose
    # values are all NULL, so: one list of the non-NULL values per row, joined
    k = len(values)
    flat = pa.concat_arrays([as_array(v, n).cast(S) for v in values])
    row_major = (np.arange(n)[:, None] + np.arange(k)[None, :] * n).ravel()
    flat = flat.take(pa.array(row_major))
    valid = valid_mask(flat)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(valid.reshape(n, k).sum(axis=1), out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), flat.filter(pa.array(valid)))
    return pc.binary_join(lists, sep)


@register("repeat")
def repeat(call, args, n):
    times = args[1]
    if isinstance(times, pa.Scalar):
        times = pa.scalar(max(times.as_py(), 0) if times.is_valid else None, pa.int64())
    else:
        times = pc.max_element_wise(times, pa.scalar(0, pa.int64()))
    return pc.binary_repeat(args[0], times)


@register("ascii")
def ascii_code(call, args, n):
    """The code point of the first character (0 for '')."""
    values = as_array(args[0], n)
    first = pc.cast(pc.utf8_slice_codeunits(values, 0, 1), pa.binary())
    width = pc.binary_length(first).to_numpy(zero_copy_only=False) if len(first) else \
        np.zeros(0, np.int32)
    width = np.nan_to_num(width.astype(np.float64)).astype(np.int64)
    padded = pc.binary_join_element_wise(first, pa.scalar(b"\0\0\0\0"), b"",
                                         null_handling="replace", null_replacement=b"")
    raw = np.frombuffer(pc.binary_slice(padded, 0, 4).combine_chunks().buffers()[2]
                        if isinstance(padded, pa.ChunkedArray)
                        else pc.binary_slice(padded, 0, 4).buffers()[2], dtype=np.uint8)
    b = raw[: 4 * len(values)].reshape(-1, 4).astype(np.int64)
    code = np.select(
        [width == 1, width == 2, width == 3, width == 4],
        [b[:, 0],
         ((b[:, 0] & 0x1F) << 6) | (b[:, 1] & 0x3F),
         ((b[:, 0] & 0x0F) << 12) | ((b[:, 1] & 0x3F) << 6) | (b[:, 2] & 0x3F),
         ((b[:, 0] & 0x07) << 18) | ((b[:, 1] & 0x3F) << 12) | ((b[:, 2] & 0x3F) << 6)
         | (b[:, 3] & 0x3F)],
        0)
    return pa.array(code.astype(np.int32), mask=~valid_mask(values))


def _left(v: pa.Array, k: pa.Scalar) -> pa.Array:
    if not k.is_valid:
        return pa.nulls(len(v), S)
    k = k.as_py()
    return pc.utf8_slice_codeunits(v, 0, k) if k != 0 else pc.utf8_slice_codeunits(v, 0, 0)


def _right(v: pa.Array, k: pa.Scalar) -> pa.Array:
    if not k.is_valid:
        return pa.nulls(len(v), S)
    k = k.as_py()
    if k == 0:
        return pc.utf8_slice_codeunits(v, 0, 0)
    return pc.utf8_slice_codeunits(v, -k if k > 0 else -k)


@register("left")
def left(call, args, n):
    return per_unique(_values(args[0], n), args[1], n, _left, S)


@register("right")
def right(call, args, n):
    return per_unique(_values(args[0], n), args[1], n, _right, S)


@register("lpad", "rpad")
def pad(call, args, n):
    fill = py(args[2]) if len(args) == 3 else " "
    if fill is None:
        return pa.nulls(n, S)
    if len(fill) != 1:
        raise NotSupportedError(f"{call.fn}() with a fill string of length {len(fill)}")
    kernel = pc.utf8_lpad if call.fn == "lpad" else pc.utf8_rpad

    def one(v, w):
        if not w.is_valid:
            return pa.nulls(len(v), S)
        width = max(w.as_py(), 0)
        return pc.utf8_slice_codeunits(kernel(v, width=width, padding=fill), 0, width)
    return per_unique(_values(args[0], n), args[1], n, one, S)


@register("split_part")
def split_part(call, args, n):
    values, delim = _values(args[0], n), py(args[1])
    if delim is None:
        return pa.nulls(n, S)

    def one(v, idx):
        if not idx.is_valid:
            return pa.nulls(len(v), S)
        i = idx.as_py()
        if i == 0:
            return pc.utf8_slice_codeunits(v, 0, 0)
        if i < 0:   # count from the end: split the reversed string
            rv = pc.utf8_reverse(v)
            parts = pc.split_pattern(rv, delim[::-1]) if delim else pc.utf8_split_whitespace(rv)
            return pc.utf8_reverse(pc.binary_join(pc.list_slice(parts, -i - 1, -i), ""))
        parts = pc.split_pattern(v, delim) if delim else pc.list_slice(
            pc.split_pattern(v, "\x00"), 0, 1)
        return pc.binary_join(pc.list_slice(parts, i - 1, i), "")
    if not isinstance(args[1], pa.Scalar):
        raise NotSupportedError("split_part() with a non-constant delimiter")
    return per_unique(values, args[2], n, one, S)
