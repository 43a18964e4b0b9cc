"""LIKE patterns of `%` and literal pieces, matched by the like_pieces
kernel, give Arrow's match_like answer: anchors, repeated and overlapping
pieces, escapes, NULLs, slices, large strings and multi-byte characters."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import quiver
from quiver.executor.functions.comparison import like_to_arrow
from quiver.executor.kernels.like_pieces import like_pieces, split_pattern, wants_kernel

WORDS = ["special", "requests", "spec", "req", "a", "aa", "é", "ü", "x%y", "_", ""]


def _values(rng: random.Random, n: int) -> list[str | None]:
    out = []
    for _ in range(n):
        if rng.random() < 0.05:
            out.append(None)
        else:
            out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 5))))
    return out


def _patterns(rng: random.Random, n: int) -> list[str]:
    pats = ["%special%requests%", "special%", "%requests", "%a%", "a%a", "%aa%a%", "%%",
            "%", "spec%req%", "%é%ü", "é%", "%x!%y%", "a%%a", "%spec%spec%"]
    for _ in range(n):
        parts = [rng.choice(["special", "req", "a", "é", "s", "ts"]) for _ in range(rng.randrange(1, 4))]
        pat = (("%" if rng.random() < 0.6 else "") + "%".join(parts)
               + ("%" if rng.random() < 0.6 else ""))
        pats.append(pat if "%" in pat else pat + "%")
    return pats


def _arrow(values: pa.Array, pattern: str) -> pa.Array:
    return pc.match_like(values, like_to_arrow(pattern, "!"))


@pytest.mark.parametrize("large", [False, True])
def test_pieces_match_arrow(large):
    rng = random.Random(7)
    values = pa.array(_values(rng, 3000), pa.large_string() if large else pa.string())
    for pattern in _patterns(rng, 200):
        parts = split_pattern(pattern, "!")
        assert parts is not None, pattern
        for arr in (values, values.slice(17, 1500)):
            got = like_pieces(arr, *parts)
            assert got.equals(_arrow(arr, pattern)), pattern


def test_split_pattern():
    assert split_pattern("%special%requests%", None) == ([b"special", b"requests"], False, False)
    assert split_pattern("ab%c", None) == ([b"ab", b"c"], True, True)
    assert split_pattern("%50!%%", "!") == ([b"50%"], False, False)
    assert split_pattern("a_b%", None) is None            # '_' stays with Arrow
    assert split_pattern("a!_b%", "!") == ([b"a_b"], True, False)
    assert split_pattern("abc", None) is None             # no '%': equality
    assert wants_kernel([b"x"], False, False) and wants_kernel([b"x", b"y"], True, False)
    assert not wants_kernel([b"x"], True, False) and not wants_kernel([b"x"], False, True)


def test_sql_like_uses_the_pieces_with_nulls_and_not():
    con = quiver.connect()
    con.register("t", pa.table({"s": ["special requests", "requests special", None,
                                      "a special b requests c", "spécial requests"]}))
    rows = con.execute("SELECT s LIKE '%special%requests%', s NOT LIKE '%special%requests%', "
                       "s LIKE '%sp_cial%requests%' FROM t").fetchall()
    assert rows == [(True, False, True), (False, True, False), (None, None, None),
                    (True, False, True), (False, True, True)]
