"""GROUP BY on string columns a Parquet file stores dictionary-encoded: the
scan hands them to the aggregate as dictionaries (coded by dictionary) and
the answer is DuckDB's, across row groups, filters, NULL keys, a spill."""

from __future__ import annotations

import os

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("dictkeys")
    rng = np.random.default_rng(5)
    n = 40_000
    flag = np.array(["A", "N", "R"])[rng.integers(0, 3, n)]
    status = np.array(["F", "O", "a much longer status"])[rng.integers(0, 3, n)]
    seg = [None if i % 17 == 0 else s for i, s in
           enumerate(np.array(["BUILDING", "MACHINERY"])[rng.integers(0, 2, n)])]
    t = pa.table({"flag": flag, "status": status, "seg": pa.array(seg, pa.string()),
                  "k": pa.array(rng.integers(0, 5000, n)), "v": pa.array(rng.integers(0, 100, n)),
                  "d": pa.array(rng.integers(0, 1000, n))})
    os.makedirs(root / "t")
    # several row groups, each with its own dictionary
    pq.write_table(t, str(root / "t" / "part.parquet"), row_group_size=7000, use_dictionary=True)
    return str(root)


QUERIES = [
    "SELECT flag, status, count(*), sum(v), min(status) FROM t GROUP BY flag, status",
    "SELECT flag, status, sum(v) FROM t WHERE d < 300 GROUP BY flag, status",
    "SELECT seg, flag, count(*), avg(v) FROM t GROUP BY seg, flag",
    "SELECT status, k, sum(v) FROM t GROUP BY status, k",
    "SELECT flag, count(*) FROM t WHERE status = 'O' GROUP BY flag",
    # a Project that only picks columns sits between the scan and the aggregate
    "SELECT count(*) FROM (SELECT DISTINCT status, flag FROM t)",
    "SELECT count(*), count(DISTINCT seg) FROM (SELECT DISTINCT seg, status, flag FROM t)",
]


@pytest.mark.parametrize("sql", QUERIES)
@pytest.mark.parametrize("memory_limit", [None, "96KB"])
def test_matches_duckdb(data, sql, memory_limit):
    duck = duckdb.connect()
    duck.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{data}/t/*.parquet')")
    want = sorted(duck.execute(sql).fetchall(), key=repr)
    options = {"memory_limit": memory_limit, "batch_size": 2048} if memory_limit else {}
    with quiver.connect(**options) as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/t'")
        got = sorted(con.execute(sql).fetchall(), key=repr)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:-1] == w[:-1] or all(
            (abs(float(x) - float(y)) < 1e-6 if isinstance(x, float) else x == y)
            for x, y in zip(g, w))


def _count_calls(monkeypatch, owner, name: str, calls: list) -> None:
    """Record a call of owner.name in `calls`, then run it."""
    real = getattr(owner, name)

    def spy(self, *a, **kw):
        calls.append(name)
        return real(self, *a, **kw)
    monkeypatch.setattr(owner, name, spy)


def test_the_dictionary_path_is_taken(data, monkeypatch):
    from quiver.executor.kernels import key_encoder
    calls: list = []
    _count_calls(monkeypatch, key_encoder._Column, "_dictionary_codes", calls)
    # several dictionary keys
    _count_calls(monkeypatch, key_encoder.KeyEncoder, "_combined_dictionaries", calls)
    with quiver.connect() as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/t'")
        con.execute(QUERIES[0]).fetchall()
    assert calls


def test_dictionaries_pass_a_project_that_only_picks_columns(data, monkeypatch):
    """`SELECT DISTINCT status, flag` plans a Project (status, flag) over the
    scan (flag, status): the aggregate still gets both as dictionaries and
    codes the value pairs at once."""
    from quiver.executor.kernels import key_encoder
    calls: list = []
    _count_calls(monkeypatch, key_encoder.KeyEncoder, "_combined_dictionaries", calls)
    with quiver.connect() as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/t'")
        plan = "\n".join(r[1] for r in con.execute(
            "EXPLAIN SELECT DISTINCT status, flag FROM t").fetchall())
        assert "ProjectExec: status" in plan
        got = sorted(con.execute("SELECT DISTINCT status, flag FROM t").fetchall())
    assert calls and len(got) == 9
