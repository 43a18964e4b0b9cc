"""Top-N over a wide unfiltered Parquet scan reads the keys first and whole
rows only for the winners (executor/operators/sort_late_rows.py): answers as
DuckDB's, with ties kept in input order, NULL keys, several files and Hive
partitions, small row groups, OFFSET and more rows asked than a partition
has."""

import os

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.executor.operators import sort_late_rows


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("late")
    rng = np.random.default_rng(11)
    for k in (1, 2, 3):
        os.makedirs(d / "t" / f"k={k}")
        n = 700
        x = rng.integers(0, 50, n).astype(float)
        t = pa.table({"id": np.arange(n) + 1000 * k,
                      "x": pa.array(x, mask=rng.random(n) < 0.1),
                      "s": pa.array(rng.choice(["a", "b", "c"], n)),
                      "w": [f"wide text {i}" for i in range(n)]})
        pq.write_table(t, str(d / "t" / f"k={k}" / "p.parquet"), row_group_size=64)
    return str(d)


QUERIES = [
    "SELECT * FROM t ORDER BY x DESC, id LIMIT 10",
    "SELECT * FROM t ORDER BY x NULLS FIRST, id LIMIT 25",
    "SELECT * FROM t ORDER BY s, x DESC, id LIMIT 7 OFFSET 5",
    "SELECT * FROM t ORDER BY x, id LIMIT 1000",              # more than a partition has
    "SELECT * FROM t ORDER BY k DESC, id DESC LIMIT 4",       # a partition column key
    "SELECT w, id FROM t ORDER BY x DESC, id LIMIT 9",         # through a Project
    "SELECT id AS i, w FROM t ORDER BY s DESC, i LIMIT 5",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_matches_duckdb(data, sql, monkeypatch):
    import quiver.executor.operators.sort as sort_mod
    calls = []
    real = sort_mod.late_top_n

    def spy(*a, **kw):
        calls.append(1)
        return real(*a, **kw)
    monkeypatch.setattr(sort_mod, "late_top_n", spy)
    duck = duckdb.connect()
    duck.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{data}/t/*/*.parquet', "
                 "hive_partitioning = true)")
    with quiver.connect(target_partitions=3) as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/t'")
        got = con.execute(sql).fetchall()
    assert got == duck.execute(sql).fetchall()
    assert calls


def test_ties_keep_their_input_order(data):
    """Without a tiebreak, equal keys come in the scan's order: the same rows
    as a sort that reads every column (late rows switched off)."""
    sql = "SELECT id FROM (SELECT * FROM t ORDER BY s LIMIT 50)"
    with quiver.connect(target_partitions=1) as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/t'")
        late = con.execute(sql).fetchall()
        old = sort_late_rows.MAX_FETCH
        try:
            sort_late_rows.MAX_FETCH = 0
            plain = con.execute(sql).fetchall()
        finally:
            sort_late_rows.MAX_FETCH = old
    assert late == plain


def test_not_for_expressions_filters_or_key_only_scans(data):
    from quiver.planner.expr import Column, SortKey
    from quiver.planner.physical import ParquetScanExec, SortExec
    from quiver.planner.logical import Field
    from quiver import datatypes as dt
    fields = (Field("a", dt.INT64), Field("b", dt.STRING))
    scan = ParquetScanExec("t", fields, ("a", "b"), ((),))
    key = SortKey(Column("a", dt.INT64))
    assert sort_late_rows.late_rows_apply(SortExec(scan, (key,), 10))
    assert not sort_late_rows.late_rows_apply(SortExec(scan, (key,), None))
    assert not sort_late_rows.late_rows_apply(SortExec(scan, (key,), 5000))
    narrow = ParquetScanExec("t", fields[:1], ("a",), ((),))
    assert not sort_late_rows.late_rows_apply(SortExec(narrow, (key,), 10))
    from quiver.planner.expr import Call, Literal
    filtered = ParquetScanExec("t", fields, ("a", "b"), ((),),
                               (Call("gt", (Column("a", dt.INT64), Literal(1, dt.INT64)), dt.BOOL),))
    assert not sort_late_rows.late_rows_apply(SortExec(filtered, (key,), 10))


def test_refused_keys_top_falls_back_to_the_plain_path(data):
    """Under a tiny memory limit the keys' top-N spills: it is dropped (its
    files and reservation) and the sort runs the usual way, same answer."""
    sql = "SELECT * FROM t ORDER BY x DESC NULLS LAST, id LIMIT 1000"
    duck = duckdb.connect()
    duck.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{data}/t/*/*.parquet', "
                 "hive_partitioning = true)")
    with quiver.connect(target_partitions=1, memory_limit="24KB", batch_size=256) as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/t'")
        got = con.execute(sql).fetchall()
        assert con.session.last_memory["spilled"] > 0
    assert got == duck.execute(sql).fetchall()


def test_explain_analyze_counts_the_rows_the_scan_read(data):
    with quiver.connect(target_partitions=1) as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}/t'")
        text = "\n".join(" ".join(map(str, r)) for r in con.execute(
            "EXPLAIN ANALYZE SELECT * FROM t ORDER BY x DESC, id LIMIT 5").fetchall())
    scan = next(line for line in text.splitlines() if "ParquetScanExec" in line and "rows=" in line)
    assert "rows=2100" in scan.replace(",", "")
