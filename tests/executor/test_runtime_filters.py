"""Runtime filters end to end: a partitioned join's build side filters its
probe side before the shuffle, only for join kinds where that cannot
change the answer; answers equal DuckDB's with and without the filter, a
build past the row cap passes every row, a tiny memory limit too."""

from __future__ import annotations

import os

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from _fact_dim_lib import duckdb_rows, register, write_tables


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("rtfilter")
    rng = np.random.default_rng(11)
    n = 30_000
    k = rng.integers(0, 3000, n).astype(object)
    k[rng.integers(0, n, 300)] = None                   # NULL probe keys
    fact = pa.table({
        "k": pa.array(list(k), pa.int64()),
        "k2": pa.array(rng.integers(0, 4, n)),
        "s": pa.array([f"c{x}" for x in rng.integers(0, 500, n)]),
        "v": pa.array(rng.integers(0, 1000, n)),
    })
    dk = list(range(0, 3000, 37)) + [None, None]
    dim = pa.table({
        "k": pa.array(dk, pa.int64()),
        "k2": pa.array([i % 4 for i in range(len(dk))]),
        "s": pa.array([f"c{i % 50}" for i in range(len(dk))]),
        "w": pa.array(range(len(dk))),
    })
    return write_tables(root, {"fact": fact, "dim": dim}, row_group_size=4000)


def _quiver(data, sql, **options):
    with quiver.connect(join_strategy="partitioned", **options) as con:
        register(con, data)
        plan = "\n".join(str(r[-1]) for r in con.execute("EXPLAIN " + sql).fetchall())
        rows = sorted(con.execute(sql).fetchall(), key=repr)
        return rows, plan


# (sql, whether a runtime filter may be planned)
QUERIES = {
    "inner": ("SELECT f.k, f.v, d.w FROM fact f JOIN dim d ON f.k = d.k", True),
    "inner_two_keys": ("SELECT f.k, f.k2, d.w FROM fact f JOIN dim d ON f.k = d.k AND f.k2 = d.k2",
                       True),
    "inner_string": ("SELECT f.s, count(*) FROM fact f JOIN dim d ON f.s = d.s GROUP BY f.s", True),
    "exists": ("SELECT count(*), sum(v) FROM fact f WHERE EXISTS "
               "(SELECT 1 FROM dim d WHERE d.k = f.k AND d.w <> f.v)", True),
    "in_subquery": ("SELECT count(*) FROM fact WHERE k IN (SELECT k FROM dim)", True),
    "right_join": ("SELECT d.k, f.v FROM fact f RIGHT JOIN dim d ON f.k = d.k", True),
    "left_join": ("SELECT f.k, d.w FROM fact f LEFT JOIN dim d ON f.k = d.k", False),
    "not_exists": ("SELECT count(*) FROM fact f WHERE NOT EXISTS "
                   "(SELECT 1 FROM dim d WHERE d.k = f.k)", False),
    "full_join": ("SELECT f.k, d.k FROM fact f FULL JOIN dim d ON f.k = d.k", False),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_answers_match_duckdb_with_and_without_filters(data, name):
    sql, may_filter = QUERIES[name]
    want = duckdb_rows(data, sql)
    on, plan = _quiver(data, sql)
    off, plan_off = _quiver(data, sql, runtime_filter_rows=0)
    assert on == want and off == want
    assert "RuntimeFilterExec" not in plan_off
    if not may_filter:
        assert "RuntimeFilterExec" not in plan


def test_inner_join_gets_a_filter_that_drops_rows(data):
    sql = QUERIES["inner"][0]
    with quiver.connect(join_strategy="partitioned") as con:
        register(con, data)
        text = "\n".join(str(r[-1]) for r in con.execute("EXPLAIN ANALYZE " + sql).fetchall())
    line = next(l for l in text.splitlines() if "RuntimeFilterExec" in l and "rows=" in l)
    kept = int(line.split("rows=")[1].split()[0].replace(",", ""))
    assert 0 < kept < 30_000           # the probe side shrank before its shuffle


def test_build_past_the_cap_passes_every_row(data):
    sql = QUERIES["inner"][0]
    got, plan = _quiver(data, sql, runtime_filter_rows=10)    # the build has 83 rows
    assert "RuntimeFilterExec" in plan
    assert got == duckdb_rows(data, sql)


def test_tiny_memory_limit(data):
    sql = QUERIES["exists"][0]
    got, _ = _quiver(data, sql, memory_limit="64KB", batch_size=512)
    assert got == duckdb_rows(data, sql)


@pytest.fixture
def made_filters(monkeypatch):
    """The runtime filters made while the test runs (their _KeyFilter objects)."""
    from quiver.executor.operators import runtime_filter as rf
    made = []
    real = rf._KeyFilter.__init__

    def spy(self, match):
        real(self, match)
        made.append(self)
    monkeypatch.setattr(rf._KeyFilter, "__init__", spy)
    return made


def test_a_filter_that_keeps_almost_everything_stops(data, monkeypatch, made_filters):
    from quiver.executor.operators import runtime_filter as rf
    monkeypatch.setattr(rf, "TRIAL_ROWS", 1000)
    made = made_filters
    # every fact row's k2 (0..3) is among the build's: the filter keeps all it tries
    sql = "SELECT f.k2, count(*) FROM fact f JOIN dim d ON f.k2 = d.k2 GROUP BY f.k2"
    got, plan = _quiver(data, sql, batch_size=4000)     # the probe in several batches
    assert "RuntimeFilterExec" in plan
    assert got == duckdb_rows(data, sql)
    assert made and all(f.useless for f in made)
    assert all(f.seen < 30_000 for f in made)     # it stopped trying early


@pytest.mark.parametrize("spread", [1, 10**12])
def test_dense_keys_use_a_bitmap_sparse_ones_a_hash_set(tmp_path, spread, made_filters):
    from quiver.executor.operators import runtime_filter as rf
    rng = np.random.default_rng(4)
    for name, keys in (("p", rng.integers(0, 5000, 20_000)), ("b", np.arange(0, 5000, 9))):
        os.makedirs(tmp_path / name)
        for i, part in enumerate(np.array_split(keys, 3)):
            t = pa.table({"k": pa.array(part * spread, pa.int64()),
                          "v": pa.array(np.arange(len(part)))})
            pq.write_table(t, str(tmp_path / name / f"x{i}.parquet"))
    sql = "SELECT count(*), sum(p.v) FROM p JOIN b ON p.k = b.k"
    with quiver.connect(join_strategy="partitioned", target_partitions=3,
                        shuffle_partitions=3) as con:
        for name in ("p", "b"):
            con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{tmp_path}/{name}'")
        got = con.execute(sql).fetchall()
    duck = duckdb.connect()
    want = duck.execute(sql.replace("FROM p JOIN b", f"FROM read_parquet('{tmp_path}/p/*.parquet') p "
                                    f"JOIN read_parquet('{tmp_path}/b/*.parquet') b")).fetchall()
    assert got == want
    assert made_filters
    assert all(isinstance(f.match, rf._Bitmap) == (spread == 1) for f in made_filters)
