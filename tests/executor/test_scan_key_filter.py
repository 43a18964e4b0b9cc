"""A broadcast join's build keys filter its probe side's scan: answers equal
DuckDB's for the join kinds that use it and those that must not, the scan
gives fewer rows when it applies, and a scan node used elsewhere is not
filtered."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest

import quiver
from _fact_dim_lib import duckdb_rows, register, write_tables
from quiver.executor.operators import scan_key_filter
from quiver.planner.expr import Column
from quiver.planner.physical import ProjectExec

FACT_ROWS = 60_000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("scankeys")
    rng = np.random.default_rng(5)
    k = rng.integers(0, 20_000, FACT_ROWS).astype(object)
    k[rng.integers(0, FACT_ROWS, 500)] = None
    fact = pa.table({
        "k": pa.array(list(k), pa.int64()),
        "v": pa.array(rng.integers(0, 1000, FACT_ROWS)),
        "d": pa.array(rng.integers(0, 100, FACT_ROWS)).cast(pa.decimal128(22, 2)).cast(pa.decimal128(12, 2)),
    })
    dk = list(range(0, 20_000, 97)) + [25_000, None]
    dim = pa.table({"k": pa.array(dk, pa.int64()), "w": pa.array(range(len(dk)))})
    return write_tables(root, {"fact": fact, "dim": dim}, row_group_size=8_000)


def _quiver(data, sql):
    with quiver.connect(join_strategy="broadcast") as con:
        register(con, data)
        rows = sorted(con.execute(sql).fetchall(), key=repr)
        analyzed = "\n".join(str(r[-1]) for r in con.execute("EXPLAIN ANALYZE " + sql).fetchall())
        return rows, analyzed


def _fact_rows_scanned(analyzed: str) -> int:
    return sum(int(m) for m in re.findall(r"ParquetScanExec: fact .*?rows=(\d+)", analyzed))


QUERIES = {
    "inner": "SELECT count(*), sum(f.v), sum(f.d), sum(d.w) FROM fact f JOIN dim d ON f.k = d.k",
    "inner_filtered": "SELECT count(*), sum(f.v) FROM fact f JOIN dim d ON f.k = d.k "
                      "WHERE f.v < 500 AND d.w > 10",
    "semi": "SELECT count(*), sum(v) FROM fact WHERE k IN (SELECT k FROM dim)",
    "left": "SELECT count(*), count(d.w), sum(f.v) FROM fact f LEFT JOIN dim d ON f.k = d.k",
    "anti": "SELECT count(*) FROM fact f WHERE NOT EXISTS (SELECT 1 FROM dim d WHERE d.k = f.k)",
    "self": "SELECT count(*) FROM fact a JOIN (SELECT k FROM fact WHERE v = 7) b ON a.k = b.k",
    "chain": "SELECT count(*), sum(f.d) FROM fact f JOIN dim d1 ON f.k = d1.k "
             "JOIN dim d2 ON f.v = d2.k",
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_answers_equal_duckdb(data, name):
    rows, _ = _quiver(data, QUERIES[name])
    assert rows == duckdb_rows(data, QUERIES[name])


def test_the_scan_gives_only_rows_that_may_match(data):
    _, analyzed = _quiver(data, QUERIES["inner"])
    scanned = _fact_rows_scanned(analyzed)
    matched = duckdb_rows(data, "SELECT count(*) FROM fact f JOIN dim d ON f.k = d.k")[0][0]
    assert matched <= scanned < FACT_ROWS // 10


def test_joins_above_a_broadcast_join_filter_the_same_scan(data):
    _, analyzed = _quiver(data, QUERIES["chain"])
    both = duckdb_rows(data, "SELECT count(*) FROM fact WHERE k IN (SELECT k FROM dim) "
                       "AND v IN (SELECT k FROM dim)")[0][0]
    assert 0 < both == _fact_rows_scanned(analyzed)


def test_joins_that_keep_unmatched_probe_rows_scan_everything(data):
    for name in ("left", "anti"):
        _, analyzed = _quiver(data, QUERIES[name])
        assert _fact_rows_scanned(analyzed) == FACT_ROWS, name


def test_scan_field_follows_projections_of_plain_columns():
    class Scan:                       # stands in for ParquetScanExec in the walk
        pass

    assert scan_key_filter._scan_field(object(), "x") is None
    col = Column("k#1", pa.int64())
    project = ProjectExec(input=object(), exprs=(col,), names=("k#2",))
    assert scan_key_filter._scan_field(project, "other") is None
    assert scan_key_filter._scan_field(project, "k#2") is None      # not a scan below


def test_a_filter_that_keeps_nearly_every_row_stops_after_its_trial(monkeypatch):
    from quiver.executor.kernels.key_filter import KeyFilter
    monkeypatch.setattr(scan_key_filter, "TRIAL_ROWS", 1000)
    everything = scan_key_filter.ScanKeyFilter("k", KeyFilter(0, 10**9, np.zeros(0, np.uint64)))
    batch = pa.RecordBatch.from_arrays([pa.array(np.arange(600))], names=["k"])
    assert everything.mask(batch).all() and everything.active
    assert everything.mask(batch).all() and not everything.active
    assert everything.mask(batch) is None
    few = scan_key_filter.ScanKeyFilter("k", KeyFilter.of_values(np.array([3, 500])))
    for _ in range(3):
        assert np.flatnonzero(few.mask(batch)).tolist() == [3, 500]
    assert few.active


def test_sparse_build_keys_get_a_bitmap_made_once():
    from quiver.executor.kernels.hash_tables import Int64Table
    from quiver.executor.kernels.key_filter import KeyFilter
    table = Int64Table()
    table.insert(np.arange(0, 2_000_000, 150, dtype=np.int64))   # 13K keys over 2M
    assert not len(KeyFilter.of_table(table.slots, table.count).bits)   # the table's own
    made = table.scan_filter(scan_key_filter._SCAN_MAX_BITS)
    assert len(made.bits) and table.scan_filter(scan_key_filter._SCAN_MAX_BITS) is made
    probe = np.array([0, 1, 150, 1_999_950, 2_000_100], dtype=np.int64)
    assert made.contains(probe).tolist() == [True, False, True, True, False]
    table.insert(np.array([1], dtype=np.int64))                   # an insert drops it
    assert table.scan_filter(scan_key_filter._SCAN_MAX_BITS).contains(probe).tolist() == \
        [True, True, True, True, False]
