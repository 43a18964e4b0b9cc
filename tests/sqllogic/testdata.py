"""Deterministic Parquet data for the golden SQL tests.

Tables (one folder each under the data directory):
- `nums`: 200 rows over 3 files, NULL-heavy ints, doubles, decimals, strings, dates
- `dim`: 10 rows, a small dimension keyed by `k`
- `skew`: 3000 rows whose key is 1 for 90% of rows
- `empty`: a file with a schema and no rows
- `events`: Hive-partitioned by `year=` and `region=` folders
- `typed`: 60 rows of the other column types: TINYINT, SMALLINT, REAL,
  TIMESTAMP, DOUBLE with NaN/inf, long strings, DECIMAL(38,10)
- `edges`: 40 rows at the edges of the types: unsigned integers (UBIGINT
  past BIGINT's range), BIGINTs whose sum overflows 64 bits, DECIMAL(38,0)
  and DECIMAL(38,10) near their limits, nanosecond timestamps
- `logs`: Hive-partitioned by a DATE-valued `day=` and a VARCHAR `tag=`
  (values like `a1`, `007`) folders, one folder holding two files
"""

from __future__ import annotations

import datetime
import decimal
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TABLES = ("nums", "dim", "skew", "empty", "events", "typed", "logs", "edges")


def _with_nulls(rng, values: pa.Array, frac: float) -> pa.Array:
    mask = rng.random(len(values)) < frac
    return pa.array(values.to_pylist(), type=values.type, mask=mask)


def make_test_data(root: str) -> str:
    rng = np.random.default_rng(42)
    os.makedirs(root, exist_ok=True)

    n = 200
    words = np.array(["apple", "banana", "cherry", "date", "elder", "fig", "", "Grape", "ümlaut"])
    base = datetime.date(2020, 1, 1)
    nums = pa.table({
        "id": pa.array(np.arange(n), pa.int64()),
        "i": _with_nulls(rng, pa.array(rng.integers(-50, 50, n), pa.int32()), 0.2),
        "k": _with_nulls(rng, pa.array(rng.integers(0, 12, n), pa.int64()), 0.1),
        "d": _with_nulls(rng, pa.array(np.round(rng.normal(0, 100, n), 3)), 0.2),
        "m": _with_nulls(rng, pa.array([decimal.Decimal(int(x)).scaleb(-2) for x in
                                        rng.integers(-100000, 100000, n)], pa.decimal128(15, 2)), 0.15),
        "s": _with_nulls(rng, pa.array(words[rng.integers(0, len(words), n)]), 0.2),
        "dt": _with_nulls(rng, pa.array([base + datetime.timedelta(days=int(x)) for x in
                                         rng.integers(0, 1000, n)], pa.date32()), 0.1),
        "b": _with_nulls(rng, pa.array(rng.random(n) < 0.5), 0.2),
    })
    os.makedirs(f"{root}/nums", exist_ok=True)
    for part, (lo, hi) in enumerate([(0, 70), (70, 140), (140, n)]):
        pq.write_table(nums.slice(lo, hi - lo), f"{root}/nums/part-{part}.parquet",
                       row_group_size=32)

    dim = pa.table({
        "k": pa.array(np.arange(10), pa.int64()),
        "name": pa.array([f"name{x}" for x in range(10)]),
        "grp": pa.array(["a", "b"] * 5),
    })
    os.makedirs(f"{root}/dim", exist_ok=True)
    pq.write_table(dim, f"{root}/dim/dim.parquet")

    m = 3000
    skew_key = np.where(rng.random(m) < 0.9, 1, rng.integers(2, 50, m))
    skew = pa.table({"key": pa.array(skew_key, pa.int64()),
                     "v": pa.array(rng.integers(0, 1000, m), pa.int64())})
    os.makedirs(f"{root}/skew", exist_ok=True)
    pq.write_table(skew, f"{root}/skew/skew.parquet", row_group_size=500)

    os.makedirs(f"{root}/empty", exist_ok=True)
    pq.write_table(pa.table({"a": pa.array([], pa.int64()), "s": pa.array([], pa.string())}),
                   f"{root}/empty/empty.parquet")

    for year in (2021, 2022, 2023):
        for region in ("eu", "us"):
            folder = f"{root}/events/year={year}/region={region}"
            os.makedirs(folder, exist_ok=True)
            cnt = int(rng.integers(5, 15))
            pq.write_table(pa.table({
                "event_id": pa.array(rng.integers(0, 10_000, cnt), pa.int64()),
                "amount": pa.array(np.round(rng.random(cnt) * 100, 2)),
                "kind": pa.array(np.array(["click", "view", "buy"])[rng.integers(0, 3, cnt)]),
            }), f"{folder}/data.parquet")
    _more_tables(root)
    _edge_table(root)
    return root


def _more_tables(root: str) -> None:
    """Tables added later, from their own generator (the ones above stay as they were)."""
    rng = np.random.default_rng(7)
    n = 60
    ts0 = datetime.datetime(2023, 3, 1, 12, 0, 0)
    doubles = np.round(rng.normal(0, 10, n), 4)
    doubles[[5, 17]] = np.nan
    doubles[23], doubles[41] = np.inf, -np.inf
    typed = pa.table({
        "id": pa.array(np.arange(n), pa.int64()),
        "t8": _with_nulls(rng, pa.array(rng.integers(-128, 128, n), pa.int8()), 0.1),
        "t16": _with_nulls(rng, pa.array(rng.integers(-30000, 30000, n), pa.int16()), 0.1),
        "f32": _with_nulls(rng, pa.array(np.round(rng.random(n) * 100, 2), pa.float32()), 0.1),
        "ts": _with_nulls(rng, pa.array([ts0 + datetime.timedelta(minutes=int(x)) for x in
                                         rng.integers(0, 60 * 24 * 90, n)], pa.timestamp("us")),
                          0.1),
        "dbl": pa.array(doubles),
        "txt": _with_nulls(rng, pa.array(["x" * int(k) + "é" * int(k % 3) for k in
                                          rng.integers(0, 40, n)]), 0.1),
        "big": _with_nulls(rng, pa.array([decimal.Decimal(int(x)).scaleb(-10) for x in
                                          rng.integers(-10**15, 10**15, n)],
                                         pa.decimal128(38, 10)), 0.1),
    })
    os.makedirs(f"{root}/typed", exist_ok=True)
    pq.write_table(typed, f"{root}/typed/typed.parquet", row_group_size=16)

    for day in ("2024-01-01", "2024-01-02", "2024-02-29"):
        for tag in ("a1", "007", "zz"):
            folder = f"{root}/logs/day={day}/tag={tag}"
            os.makedirs(folder, exist_ok=True)
            files = 2 if (day, tag) == ("2024-01-02", "007") else 1
            for f in range(files):
                cnt = int(rng.integers(3, 9))
                pq.write_table(pa.table({
                    "seq": pa.array(rng.integers(0, 1000, cnt), pa.int64()),
                    "level": pa.array(np.array(["info", "warn", "error"])[
                        rng.integers(0, 3, cnt)]),
                    "ms": _with_nulls(rng, pa.array(np.round(rng.random(cnt) * 500, 1)), 0.2),
                }), f"{folder}/part-{f}.parquet")


def _edge_table(root: str) -> None:
    """`edges`: values at the limits of the integer, decimal and timestamp types."""
    rng = np.random.default_rng(11)
    n = 40
    D = decimal.Decimal
    # |values| < 10^28: each fits DECIMAL(38,10) too, so comparing the two
    # decimal columns works (and a wrong rescale would show)
    big0 = [D(int(x)) * 10 ** 19 + D(int(y)) for x, y in
            zip(rng.integers(-10**8, 10**8, n), rng.integers(0, 10**18, n))]
    big0[:4] = [D(10**28 - 1), D(-(10**28 - 1)), D(17014118346046923173), D(0)]
    big10 = [D(int(x)).scaleb(-10) for x in rng.integers(-10**18, 10**18, n)]
    big10[:4] = [D(1), D("-1.5"), D("99999999999999999999999999.9999999999"), D(0)]
    i64 = rng.integers(2**62, 2**63 - 1, n, dtype=np.int64)
    i64[::3] *= -1
    ns0 = np.datetime64("2024-03-10T10:00:00.123456789", "ns")
    edges = pa.table({
        "id": pa.array(np.arange(n), pa.int64()),
        "u8": _with_nulls(rng, pa.array(rng.integers(0, 256, n), pa.uint8()), 0.1),
        "i8": _with_nulls(rng, pa.array(rng.integers(-128, 128, n), pa.int8()), 0.1),
        "u16": _with_nulls(rng, pa.array(rng.integers(0, 2**16, n), pa.uint16()), 0.1),
        "u32": _with_nulls(rng, pa.array(rng.integers(0, 2**32, n, dtype=np.int64),
                                         pa.uint32()), 0.1),
        "i32": _with_nulls(rng, pa.array(rng.integers(-2**31, 2**31, n, dtype=np.int64),
                                         pa.int32()), 0.1),
        "u64": _with_nulls(rng, pa.array(rng.integers(0, 2**64 - 1, n, dtype=np.uint64),
                                         pa.uint64()), 0.1),
        "i64": _with_nulls(rng, pa.array(i64, pa.int64()), 0.1),
        "g": pa.array(rng.integers(0, 4, n), pa.int64()),
        "d380": _with_nulls(rng, pa.array(big0, pa.decimal128(38, 0)), 0.1),
        "d3810": _with_nulls(rng, pa.array(big10, pa.decimal128(38, 10)), 0.1),
        "ts": _with_nulls(rng, pa.array(ns0 + rng.integers(0, 10**12, n).astype(
            "timedelta64[ns]"), pa.timestamp("ns")), 0.1),
    })
    os.makedirs(f"{root}/edges", exist_ok=True)
    pq.write_table(edges, f"{root}/edges/edges.parquet", row_group_size=16)
