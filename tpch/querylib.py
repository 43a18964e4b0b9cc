"""The 22 TPC-H queries shipped in `tpch/queries/qNN.sql`.

Owns: reading a query's text, parsing a user's query list ("1,6,12-14"),
and telling which output columns a query orders by (the answer checker
compares rows in order only on those keys). Does not run anything.

The queries use the spec's validation (qualification) parameters and are
written in standard SQL that DuckDB also accepts (DATE literals, INTERVAL
arithmetic, Q15's view as a CTE). Q11's FRACTION is fixed at the validation
value 0.0001 at every scale factor.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

QUERY_DIR = Path(__file__).resolve().parent / "queries"
ALL_QUERIES: tuple[int, ...] = tuple(range(1, 23))


def query_path(n: int) -> Path:
    if n not in ALL_QUERIES:
        raise ValueError(f"there is no TPC-H query {n}: queries are 1..22")
    return QUERY_DIR / f"q{n:02d}.sql"


@lru_cache(maxsize=None)
def query_text(n: int) -> str:
    """The SQL of query `n` (1..22), without a trailing semicolon."""
    return query_path(n).read_text(encoding="utf-8").strip().rstrip(";")


def parse_query_list(spec: str | None) -> list[int]:
    """"1,6,12-14" -> [1, 6, 12, 13, 14]; None or "" or "all" -> all 22.
    "q5" and "Q05" are accepted too. Raises ValueError on anything else."""
    if spec is None or spec.strip().lower() in ("", "all"):
        return list(ALL_QUERIES)
    out: list[int] = []
    for item in spec.split(","):
        item = item.strip().lower().lstrip("q")
        if not item:
            continue
        try:
            if "-" in item:
                lo, hi = (int(x.strip().lstrip("q")) for x in item.split("-", 1))
                numbers = list(range(lo, hi + 1))
            else:
                numbers = [int(item)]
        except ValueError:
            raise ValueError(f"bad query list {spec!r}: expected numbers like "
                             f"1,6,12-14") from None
        for n in numbers:
            if n not in ALL_QUERIES:
                raise ValueError(f"there is no TPC-H query {n}: queries are 1..22")
            if n not in out:
                out.append(n)
    if not out:
        raise ValueError(f"bad query list {spec!r}: no query numbers")
    return out


@lru_cache(maxsize=None)
def order_keys(n: int) -> tuple[str, ...] | None:
    """The output column names query `n`'s outermost ORDER BY sorts on
    (lower case), or None if it has no ORDER BY. An ORDER BY item that is not
    a plain column name makes the whole list `()`: order by full rows."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(query_text(n), read="duckdb")
    order = tree.args.get("order")
    if order is None:
        return None
    keys: list[str] = []
    for item in order.expressions:
        target = item.this if isinstance(item, exp.Ordered) else item
        if not isinstance(target, exp.Column):
            return ()
        keys.append(target.name.lower())
    return tuple(keys)
