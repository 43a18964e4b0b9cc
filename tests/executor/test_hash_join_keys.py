"""HashJoinExec with multi-column keys of mixed types (int + string, decimal,
date), keys of different types on the two sides, against DuckDB."""

import _hash_join_lib as H  # noqa: E402  (tests/executor/conftest.py)

import datetime
import decimal

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor.context import ExecContext
from quiver.planner.physical import HashJoinExec

KINDS = ["inner", "left", "right", "full", "semi", "anti"]
SQL = {"inner": "JOIN", "left": "LEFT JOIN", "right": "RIGHT JOIN", "full": "FULL JOIN"}


def _values(rng, n, kind, null_frac):
    mask = rng.random(n) < null_frac
    v = rng.integers(0, 4, n)
    if kind == "int":
        return pa.array(v, pa.int32(), mask=mask)
    if kind == "bigint":
        return pa.array(v, pa.int64(), mask=mask)
    if kind == "str":
        words = np.array(["", "a", "ab", "a longer string value, past 12 bytes"], dtype=object)
        return pa.array(words[v], pa.string(), mask=mask)
    if kind == "dec":
        return pa.array([decimal.Decimal(int(x) * 125) / 100 for x in v],
                        pa.decimal128(12, 2), mask=mask)
    if kind == "dec_wide":
        return pa.array([decimal.Decimal(int(x) * 125) / 100 for x in v],
                        pa.decimal128(20, 3), mask=mask)
    if kind == "date":
        base = datetime.date(1995, 3, 15)
        return pa.array([base + datetime.timedelta(days=int(x)) for x in v],
                        pa.date32(), mask=mask)
    raise ValueError(kind)


def tables(seed, lkinds, rkinds, nl=50, nr=40, null_frac=0.1):
    rng = np.random.default_rng(seed)
    lt = pa.table({**{f"lk{i}": _values(rng, nl, k, null_frac) for i, k in enumerate(lkinds)},
                   "lv": pa.array(np.arange(nl), pa.int64())})
    rt = pa.table({**{f"rk{i}": _values(rng, nr, k, null_frac) for i, k in enumerate(rkinds)},
                   "rv": pa.array(np.arange(nr), pa.int64())})
    return lt, rt


def run_and_compare(kind, lt, rt, nkeys, null_eq=False):
    on = [(f"lk{i}", f"rk{i}") for i in range(nkeys)]
    # right/full must be partitioned; the others broadcast the (whole) right side
    mode = "partitioned" if kind in ("right", "full") else "broadcast"
    parts = 1 if mode == "partitioned" else 2
    left, right = H.leaf(lt, parts), H.leaf(rt, 1)
    node = HashJoinExec(left, right, kind, tuple(H.col(a, left) for a, _ in on),
                        tuple(H.col(b, right) for _, b in on), None, mode, null_eq)
    got = H.run_join(node, ExecContext(batch_size=16), parts=parts)
    op = "IS NOT DISTINCT FROM" if null_eq else "="
    on_sql = " AND ".join(f"l.{a} {op} r.{b}" for a, b in on)
    if kind in SQL:
        sql = f"SELECT l.*, r.* FROM l {SQL[kind]} r ON {on_sql}"
    else:
        neg = "NOT " if kind == "anti" else ""
        sql = f"SELECT l.* FROM l WHERE {neg}EXISTS (SELECT 1 FROM r WHERE {on_sql})"
    want = H.duck(sql, l=lt, r=rt)
    assert H.rows(got) == H.rows(want)
    return got


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("types", [
    ["int", "str"], ["str", "dec"], ["date", "int", "str"], ["dec"], ["str"], ["date"],
])
def test_multi_column_keys(kind, types):
    lt, rt = tables(sum(map(len, types)), types, types)
    got = run_and_compare(kind, lt, rt, len(types))
    if kind == "inner":
        assert got.num_rows > 0


@pytest.mark.parametrize("kind", ["inner", "full", "semi", "anti"])
def test_multi_column_null_equals_null(kind):
    lt, rt = tables(11, ["int", "str"], ["int", "str"], null_frac=0.3)
    run_and_compare(kind, lt, rt, 2, null_eq=True)


@pytest.mark.parametrize("kind", ["inner", "left", "right", "semi", "anti"])
@pytest.mark.parametrize("lkind,rkind", [("int", "bigint"), ("bigint", "int"),
                                          ("dec", "dec_wide"), ("int", "dec")])
def test_keys_cast_to_common_type(kind, lkind, rkind):
    lt, rt = tables(12, [lkind, "str"], [rkind, "str"])
    got = run_and_compare(kind, lt, rt, 2)
    # output keeps each side's own column types
    assert got.schema.field("lk0").type == lt.schema.field("lk0").type
    if kind not in ("semi", "anti"):
        assert got.schema.field("rk0").type == rt.schema.field("rk0").type


def test_string_keys_with_dictionary_side():
    lt, rt = tables(13, ["str"], ["str"])
    rt = rt.set_column(0, "rk0", rt.column("rk0").dictionary_encode())
    left, right = H.leaf(lt), H.leaf(rt)
    node = HashJoinExec(left, right, "inner", (H.col("lk0", left),), (H.col("rk0", right),))
    got = H.run_join(node)
    want = H.duck("SELECT l.*, r.* FROM l JOIN r ON l.lk0 = r.rk0", l=lt,
                  r=rt.set_column(0, "rk0", rt.column("rk0").cast(pa.string())))
    assert H.rows(got.set_column(2, "rk0", got.column("rk0").cast(pa.string()))) == H.rows(want)
