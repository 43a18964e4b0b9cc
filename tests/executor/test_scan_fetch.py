"""A LIMIT right above an unfiltered Parquet scan (through Projects) tells
the scan to read only each partition's first rows (ParquetScanExec.fetch):
answers as DuckDB's row counts, across Hive partitions, row groups smaller
than the limit, OFFSET and zero-column reads; only the first rows are read;
no fetch under a filter, a sort or a large limit."""

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    d = tmp_path_factory.mktemp("fetch")
    for k in (1, 2):
        os.makedirs(d / "t" / f"k={k}")
        n = 1000
        pq.write_table(pa.table({"a": np.arange(n) + 10000 * k,
                                 "s": [f"v{i}" for i in range(n)]}),
                       str(d / "t" / f"k={k}" / "p.parquet"), row_group_size=37)
    c = quiver.connect(target_partitions=2)
    c.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{d}/t'")
    yield c
    c.close()


@pytest.mark.parametrize("sql, want", [
    ("SELECT count(*) FROM (SELECT * FROM t LIMIT 100)", 100),
    ("SELECT count(*) FROM (SELECT a FROM t LIMIT 5 OFFSET 3)", 5),
    ("SELECT count(*) FROM (SELECT k FROM t LIMIT 77)", 77),
    ("SELECT count(*) FROM (SELECT 1 FROM t LIMIT 60)", 60),
    ("SELECT count(*) FROM (SELECT * FROM t LIMIT 1500)", 1500),
    ("SELECT count(*) FROM (SELECT * FROM t LIMIT 5000)", 2000),
])
def test_row_counts(con, sql, want):
    assert con.execute(sql).fetchall() == [(want,)]


def test_rows_come_from_the_table_in_order_within_a_file(con):
    rows = con.execute("SELECT a, s, k FROM t WHERE k = 1 LIMIT 3").fetchall()
    assert rows == [(10000, "v0", 1), (10001, "v1", 1), (10002, "v2", 1)]
    some = con.execute("SELECT a, s FROM t LIMIT 50").fetchall()
    assert len(some) == 50 and all(f"v{a % 10000}" == s for a, s in some)


def _scan_line(con, sql):
    plan = "\n".join(r[1] for r in con.execute("EXPLAIN " + sql).fetchall())
    return next(line for line in plan.splitlines() if "ParquetScanExec" in line)


def test_fetch_only_where_the_limit_may_stop_the_scan(con):
    assert "fetch=10" in _scan_line(con, "SELECT * FROM t LIMIT 10")
    assert "fetch=13" in _scan_line(con, "SELECT a + 1 FROM t LIMIT 10 OFFSET 3")
    for sql in ("SELECT * FROM t WHERE a > 5 LIMIT 10",
                "SELECT * FROM t ORDER BY a LIMIT 10",
                "SELECT * FROM t LIMIT 1000000",
                "SELECT k, count(*) FROM t GROUP BY k LIMIT 1"):
        assert "fetch=" not in _scan_line(con, sql), sql


def test_only_the_first_rows_are_read(con):
    text = "\n".join(" ".join(map(str, r))
                     for r in con.execute("EXPLAIN ANALYZE SELECT * FROM t LIMIT 10").fetchall())
    scan = next(line for line in text.splitlines()
                if "ParquetScanExec" in line and "rows=" in line)
    rows = int(scan.split("rows=")[-1].split()[0].replace(",", ""))
    assert rows <= 2 * 10                     # each of the 2 partitions: its first 10
