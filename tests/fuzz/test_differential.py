"""Differential testing: random SQL (querygen.py) run in Quiver and in DuckDB.

Each query runs in Quiver under one configuration of the verification matrix
(tests/sqllogic/runner.py, rotating) and in DuckDB over the same Parquet
folders. Answers must match: the same rows (in order when the query orders
every output column, else as multisets), doubles within a relative 1e-9,
decimals and everything else exactly. A query DuckDB rejects, or one Quiver
answers with NotSupportedError, is skipped; any other Quiver error fails.

QUIVER_FUZZ_N sets the number of queries (default 150), QUIVER_FUZZ_SEED the
seed (default 20261125). Run standalone for long hunts:
    QUIVER_FUZZ_N=5000 python tests/fuzz/test_differential.py
"""

from __future__ import annotations

import datetime
import decimal
import math
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "sqllogic"))

import querygen  # noqa: E402
import runner  # noqa: E402
from testdata import make_test_data  # noqa: E402
from querygen import TABLES  # noqa: E402

N = int(os.environ.get("QUIVER_FUZZ_N", "150"))
SEED = int(os.environ.get("QUIVER_FUZZ_SEED", "20261125"))
CONFIGS = list(runner.MATRIX)


class Engines:
    """One DuckDB connection and one Quiver connection per matrix configuration."""

    def __init__(self, data_dir: str):
        import quiver
        self.data_dir = data_dir
        self.duck = None
        self.reset_duck()
        self.quiver = {}
        for config in CONFIGS:
            con = quiver.connect(**runner.MATRIX[config])
            for name in TABLES:
                con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET "
                            f"LOCATION '{data_dir}/{name}'")
            self.quiver[config] = con

    def reset_duck(self):
        """A fresh DuckDB (an internal error invalidates the database)."""
        import duckdb
        if self.duck is not None:
            self.duck.close()
        self.duck = duckdb.connect()
        for name in TABLES:
            self.duck.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
                f"'{self.data_dir}/{name}/**/*.parquet', hive_partitioning = true)")

    def close(self):
        self.duck.close()
        for con in self.quiver.values():
            con.close()


def _sort_key(row):
    out = []
    for v in row:
        if v is None:
            out.append((2, ""))
        elif isinstance(v, bool):
            out.append((0, "b", int(v)))
        elif isinstance(v, (int, float, decimal.Decimal)):
            f = float(v)
            # the rounded form keeps float noise from reordering rows; ties
            # of it are broken by the exact value (huge BIGINTs equal to 9
            # digits, doubles such as -14.73799998 and -14.73799996)
            exact = decimal.Decimal(v) if math.isfinite(f) else decimal.Decimal(0)
            out.append((0, "n", float(f"{f:.9g}") if math.isfinite(f) else f, exact))
        else:
            out.append((0, type(v).__name__, v))
    return tuple(out)


def _same_value(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    num = (int, float, decimal.Decimal)
    if isinstance(a, num) and isinstance(b, num):
        if isinstance(a, float) or isinstance(b, float):
            a, b = float(a), float(b)
            if math.isnan(a) or math.isnan(b):
                return math.isnan(a) and math.isnan(b)
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        return a == b
    if isinstance(a, datetime.datetime) != isinstance(b, datetime.datetime):
        return False
    return type(a) is type(b) and a == b


def compare(expected: list[tuple], got: list[tuple], ordered: bool) -> str | None:
    """None when the answers agree, else a short description of the difference."""
    if len(expected) != len(got):
        return f"{len(expected)} rows expected, {len(got)} got"
    if not ordered:
        expected = sorted(expected, key=_sort_key)
        got = sorted(got, key=_sort_key)
    for i, (e, g) in enumerate(zip(expected, got)):
        if len(e) != len(g) or not all(_same_value(x, y) for x, y in zip(e, g)):
            return f"row {i}: expected {e!r} got {g!r}"
    return None


def run_one(engines: Engines, q: querygen.Query, config: str) -> tuple[str, str | None]:
    """('skip'|'ok'|'fail', message)."""
    import quiver
    try:
        expected = engines.duck.execute(q.sql).fetchall()
    except Exception as exc:  # DuckDB rejects it: not our business
        if "INTERNAL" in str(exc) or "FATAL" in str(exc):
            engines.reset_duck()
        return "skip", f"duckdb: {exc}"
    try:
        got = engines.quiver[config].execute(q.sql).fetchall()
    except quiver.NotSupportedError as exc:
        return "skip", f"quiver: {exc}"
    except Exception as exc:
        return "fail", f"[{config}] {type(exc).__name__}: {exc}\n  {q.sql}"
    diff = compare(expected, got, q.ordered)
    if diff:
        return "fail", f"[{config}] wrong answer ({diff})\n  {q.sql}"
    return "ok", None


def run_many(data_dir: str, n: int, seed: int, stop_after: int | None = None):
    engines = Engines(data_dir)
    gen = querygen.QueryGen(seed)
    counts = {"ok": 0, "skip": 0, "fail": 0}
    failures = []
    skips = []
    try:
        for idx in range(n):
            q = gen.query()
            status, msg = run_one(engines, q, CONFIGS[idx % len(CONFIGS)])
            counts[status] += 1
            if status == "skip":
                skips.append(msg)
            if status == "fail":
                failures.append(f"#{idx} {msg}")
                if stop_after and len(failures) >= stop_after:
                    break
    finally:
        engines.close()
    run_many.last_skips = skips
    return counts, failures


@pytest.fixture(scope="module")
def fuzz_data(tmp_path_factory):
    return make_test_data(str(tmp_path_factory.mktemp("fuzz-data")))


def test_generator_is_deterministic():
    a = [querygen.QueryGen(7).query().sql for _ in range(1)]
    b = [querygen.QueryGen(7).query().sql for _ in range(1)]
    assert a == b


def test_compare_rules():
    assert compare([(1, 2.0)], [(1, 2.0 + 1e-13)], True) is None
    assert compare([(1, 2.0)], [(1, 2.1)], True) is not None
    assert compare([(decimal.Decimal("1.10"),)], [(decimal.Decimal("1.1"),)], True) is None
    assert compare([(1,), (None,)], [(None,), (1,)], False) is None
    assert compare([(1,), (None,)], [(None,), (1,)], True) is not None
    assert compare([("a",)], [("a",), ("a",)], False) is not None


def test_differential(fuzz_data):
    counts, failures = run_many(fuzz_data, N, SEED)
    # most queries must really run in both engines, or the test proves nothing
    assert counts["ok"] >= N // 2, counts
    assert not failures, f"{len(failures)} of {N} queries differ {counts}:\n" + "\n".join(failures)


if __name__ == "__main__":
    import tempfile
    data = make_test_data(tempfile.mkdtemp(prefix="quiver-fuzz-"))
    counts, failures = run_many(data, N, SEED)
    for f in failures:
        print(f)
        print()
    if os.environ.get("QUIVER_FUZZ_SKIPS"):
        import collections
        for msg, c in collections.Counter(m[:120] for m in run_many.last_skips).most_common(30):
            print(c, msg)
    print(counts)
