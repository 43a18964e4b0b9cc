"""EXPLAIN shows the logical plan, the physical plan and the stage DAG;
EXPLAIN ANALYZE adds rows and time per operator and runs the query."""

import re

import pyarrow as pa
import pytest

import quiver


@pytest.fixture
def con(tmp_path):
    import pyarrow.parquet as pq
    for name, n in (("big", 5000), ("small", 20)):
        (tmp_path / name).mkdir()
        pq.write_table(pa.table({"k": pa.array(range(n), pa.int64()),
                                 "v": pa.array([i % 7 for i in range(n)], pa.int64())}),
                       tmp_path / name / "part.parquet", row_group_size=1000)
    c = quiver.connect(target_partitions=2)
    c.execute(f"CREATE EXTERNAL TABLE big STORED AS PARQUET LOCATION '{tmp_path}/big'")
    c.execute(f"CREATE EXTERNAL TABLE small STORED AS PARQUET LOCATION '{tmp_path}/small'")
    yield c
    c.close()


def sections(cur):
    return dict(cur.fetchall())


def test_explain_has_three_views(con):
    out = sections(con.execute(
        "EXPLAIN SELECT s.v, count(*) FROM big b JOIN small s ON b.k = s.k "
        "WHERE b.v > 2 GROUP BY s.v"))
    assert set(out) == {"logical_plan", "physical_plan", "stage_dag", "stages"}
    # the stage DAG is a tree rooted at the final stage
    dag = out["stage_dag"].splitlines()
    assert "(final)" in dag[0] and all(ln.startswith(("└── ", "├── ", "    ", "│   "))
                                       for ln in dag[1:])
    assert "Aggregate" in out["logical_plan"] and "Join: inner" in out["logical_plan"]
    # the filter was pushed into the scan
    assert "filters=[(v#" in out["logical_plan"]
    assert "HashJoinExec" in out["physical_plan"]
    assert "HashAggregateExec: (partial)" in out["physical_plan"]
    assert "Stage 0" in out["stages"] and "(final)" in out["stages"]
    assert "ShuffleWriteExec" in out["stages"]


def test_explain_does_not_run_and_describes_columns(con):
    cur = con.execute("EXPLAIN SELECT * FROM big")
    assert [d[0] for d in cur.description] == ["explain_key", "explain_value"]


def test_explain_analyze_reports_rows_and_time(con):
    out = sections(con.execute("EXPLAIN ANALYZE SELECT v, count(*) FROM big GROUP BY v"))
    text = out["analyzed_stages"]
    assert "rows=" in text and "time=" in text
    assert "Total: 7 rows" in text
    # the scan read all 5000 rows across its tasks
    scan_line = next(line for line in text.splitlines() if "ParquetScanExec" in line)
    assert "rows=5000" in scan_line
    # a shuffle write counts the rows it wrote (it yields none); the stage DAG
    # says the same per stage, with bytes and time
    writes = [ln for ln in text.splitlines() if "ShuffleWriteExec" in ln]
    assert writes and all("rows=0 " not in ln for ln in writes)
    for ln in out["stage_dag"].splitlines():
        assert re.search(r"· rows [\d,]+ · [\d.]+ (B|KB|MB|GB) · [\d.]+ ms task time$", ln), ln


def test_explain_verbose_shows_each_rule(con):
    out = sections(con.execute("EXPLAIN VERBOSE SELECT k FROM big WHERE v = 1"))
    assert "initial_logical_plan" in out
    assert any(k.startswith("after push_down_filter") for k in out)


def test_explain_of_ddl_is_not_supported(con):
    with pytest.raises(quiver.NotSupportedError):
        con.execute("EXPLAIN DROP TABLE big")
    assert con.execute("SELECT count(*) FROM big").fetchone() == (5000,)
