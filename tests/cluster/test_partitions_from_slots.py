"""A cluster cuts stages into as many partitions as it has task slots (the
sum over alive workers), not as many as the coordinator's machine has CPUs."""

import pyarrow as pa
import pyarrow.parquet as pq

import quiver


def test_scan_partitions_follow_the_clusters_slots(tmp_path):
    for i in range(12):
        pq.write_table(pa.table({"k": list(range(i * 10, i * 10 + 10))}),
                       str(tmp_path / f"part-{i}.parquet"))
    with quiver.connect("local[2]", worker_slots=3) as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{tmp_path}'")
        plan = dict(con.execute("EXPLAIN SELECT sum(k) FROM t").fetchall())["physical_plan"]
        assert "partitions=6" in plan, plan
        assert con.execute("SELECT sum(k) FROM t").fetchall() == [(sum(range(120)),)]
