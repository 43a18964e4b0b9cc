"""Comparisons, boolean logic, NULL tests and LIKE/ILIKE.

Float comparisons follow DuckDB, not IEEE: NaN equals NaN and is greater
than every other value (the order ORDER BY uses too). AND/OR use Kleene
(three-valued) logic. LIKE has no default escape character:
the SQL pattern is translated into Arrow's LIKE syntax (whose escape is a
backslash) once per distinct pattern; ILIKE matches case-insensitively.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..kernels.decimal_compare import compare_with_scalar
from ..kernels.like_pieces import like_pieces, like_tokens, split_pattern, wants_kernel
from .registry import as_array, per_unique, py, register

_CMP = {"eq": pc.equal, "ne": pc.not_equal, "lt": pc.less, "le": pc.less_equal,
        "gt": pc.greater, "ge": pc.greater_equal}


# DuckDB orders NaN above every other float and equal to itself; IEEE says
# every comparison with NaN is false. Where a side is NaN: (a_nan, b_nan) -> result
_NAN_RULES = {
    "eq": lambda na, nb: pc.and_(na, nb),
    "ne": lambda na, nb: pc.xor(na, nb),
    "lt": lambda na, nb: pc.and_not(nb, na),
    "le": lambda na, nb: nb,
    "gt": lambda na, nb: pc.and_not(na, nb),
    "ge": lambda na, nb: na,
}


def _is_float(d) -> bool:
    return pa.types.is_floating(d.type)


def _nan_mask(d, n):
    return pc.fill_null(pc.is_nan(as_array(d, n)), False) if _is_float(d) else \
        pa.repeat(pa.scalar(False), n)


@register("eq", "ne", "lt", "le", "gt", "ge")
def compare(call, args, n):
    fast = compare_with_scalar(call.fn, *args)     # decimal column vs constant
    if fast is not None:
        return fast
    plain = _CMP[call.fn](*args)
    if not (_is_float(args[0]) or _is_float(args[1])):
        return plain
    na, nb = _nan_mask(args[0], n), _nan_mask(args[1], n)
    either = pc.or_(na, nb)
    if not pc.any(either).as_py():
        return plain
    plain = as_array(plain, n)
    fixed = _NAN_RULES[call.fn](na, nb)
    return pc.if_else(pc.and_(either, pc.is_valid(plain)), fixed, plain)


@register("is_distinct_from", "is_not_distinct_from")
def distinct(call, args, n):
    a, b = (as_array(x, n) for x in args)
    differs = pc.coalesce(pc.not_equal(a, b), pc.xor(pc.is_null(a), pc.is_null(b)))
    if _is_float(a) or _is_float(b):      # NaN is not distinct from NaN (DuckDB)
        differs = pc.and_not(differs, pc.and_(_nan_mask(a, n), _nan_mask(b, n)))
    return differs if call.fn == "is_distinct_from" else pc.invert(differs)


@register("and")
def and_(call, args, n):
    out = args[0]
    for a in args[1:]:
        out = pc.and_kleene(out, a)
    return out


@register("or")
def or_(call, args, n):
    out = args[0]
    for a in args[1:]:
        out = pc.or_kleene(out, a)
    return out


@register("not")
def not_(call, args, n):
    return pc.invert(args[0])


@register("is_null")
def is_null(call, args, n):
    return pc.is_null(as_array(args[0], n))


@register("is_not_null")
def is_not_null(call, args, n):
    return pc.is_valid(as_array(args[0], n))


def like_to_arrow(pattern: str, escape: str | None) -> str:
    """A SQL LIKE pattern (optional ESCAPE char) as an Arrow match_like
    pattern, whose escape character is a backslash."""
    out = []
    for ch, wild in like_tokens(pattern, escape):
        out.append("\\" + ch if not wild and ch in "%_\\" else ch)
    return "".join(out)


@register("like", "ilike")
def like(call, args, n):
    value, pattern = args[0], args[1]
    escape = py(args[2]) if len(args) == 3 else None
    if len(args) == 3 and escape is None:
        return pa.nulls(n, pa.bool_())
    ignore_case = call.fn == "ilike"

    def match(values, p):
        if not p.is_valid:
            return pa.nulls(len(values), pa.bool_())
        if not ignore_case and (pa.types.is_string(values.type)
                                or pa.types.is_large_string(values.type)):
            parts = split_pattern(p.as_py(), escape)
            if parts is not None and wants_kernel(*parts):
                return like_pieces(values, *parts)
        return pc.match_like(values, like_to_arrow(p.as_py(), escape), ignore_case=ignore_case)

    if isinstance(value, pa.Scalar):
        value = as_array(value, n)
    return per_unique(value, pattern, n, match, pa.bool_())
