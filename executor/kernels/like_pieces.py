"""LIKE patterns made of literal pieces and `%` only, matched over a string
array's bytes in one pass.

Why: Arrow turns a pattern with two or more pieces ('%special%requests%',
TPC-H Q13) into a regular expression: 130 ns a row over `o_comment`
(52 bytes on average), the largest cost of Q13's scan. Matching the pieces
left to right, each at its first occurrence after the previous one, takes
77 ns. Leftmost matching is exact for `%`-only patterns: a piece found
later leaves less room for the rest, never more. On UTF-8 the bytes of a
piece can only match at a character boundary, so bytes give the character
answer. Patterns with `_`, ILIKE and other types stay with Arrow.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrow_buffers import string_parts
from .jit import njit


def like_tokens(pattern: str, escape: str | None) -> list[tuple[str, bool]]:
    """A LIKE pattern's characters, each with whether it is a wildcard
    (`%` or `_` not escaped). A loop over one pattern's characters."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if escape is not None and ch == escape and i + 1 < len(pattern):
            out.append((pattern[i + 1], False))
            i += 2
            continue
        out.append((ch, ch in "%_"))
        i += 1
    return out


def split_pattern(pattern: str, escape: str | None) -> tuple[list[bytes], bool, bool] | None:
    """(pieces, anchored at the start, anchored at the end) of a LIKE
    pattern, or None when it has a `_` wildcard (or is `%`-free: equality
    is Arrow's fast path)."""
    pieces, cur, wild = [], [], False
    for ch, is_wild in like_tokens(pattern, escape):
        if is_wild and ch == "_":
            return None
        if is_wild:
            wild = True
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    pieces.append("".join(cur))
    if not wild:
        return None
    start, end = pieces[0] != "", pieces[-1] != ""
    return [p.encode() for p in pieces if p], start, end


def wants_kernel(pieces: list[bytes], start: bool, end: bool) -> bool:
    """Arrow is as fast for one piece at an end (starts_with, ends_with);
    the kernel wins where Arrow searches: a piece inside, or several."""
    return len(pieces) >= 2 or (len(pieces) == 1 and not start and not end)


@njit(cache=True, nogil=True)
def _find(data, lo, hi, pat, p0, p1):
    """First position >= lo where pat[p0:p1] starts and ends by hi, or -1."""
    m = p1 - p0
    first = pat[p0]
    i = lo
    last = hi - m
    while i <= last:
        if data[i] == first:
            k = 1
            while k < m and data[i + k] == pat[p0 + k]:
                k += 1
            if k == m:
                return i
        i += 1
    return -1


@njit(cache=True, nogil=True)
def _match(offsets, data, pat, bounds, start, end, out):
    npieces = len(bounds) - 1
    for r in range(len(out)):
        lo = offsets[r]
        hi = offsets[r + 1]
        first = 0
        last = npieces
        ok = True
        if start:            # the first piece at the very start
            m = bounds[1] - bounds[0]
            if hi - lo < m:
                ok = False
            else:
                for k in range(m):
                    if data[lo + k] != pat[k]:
                        ok = False
                        break
            lo += m
            first = 1
        if ok and end and last > first:     # the last piece at the very end
            m = bounds[npieces] - bounds[npieces - 1]
            if hi - lo < m:
                ok = False
            else:
                b = bounds[npieces - 1]
                for k in range(m):
                    if data[hi - m + k] != pat[b + k]:
                        ok = False
                        break
            hi -= m
            last = npieces - 1
        p = first
        while ok and p < last:
            at = _find(data, lo, hi, pat, bounds[p], bounds[p + 1])
            if at < 0:
                ok = False
            else:
                lo = at + bounds[p + 1] - bounds[p]
            p += 1
        out[r] = ok


def like_pieces(values: pa.Array, pieces: list[bytes], start: bool, end: bool) -> pa.Array:
    """`values LIKE pattern` (split_pattern's parts, at least one piece) as
    a boolean array, NULL where the value is NULL. `values`: string or
    large_string."""
    offsets, data = string_parts(values)
    pat = np.frombuffer(b"".join(pieces), dtype=np.uint8)
    bounds = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pieces], out=bounds[1:])
    out = np.empty(len(values), dtype=np.bool_)
    _match(offsets, data, pat, bounds, start, end, out)
    mask = None if values.null_count == 0 else values.is_null().to_numpy(zero_copy_only=False)
    return pa.array(out, type=pa.bool_(), mask=mask)
