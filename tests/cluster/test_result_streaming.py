"""A cluster result streams to the client: ExecuteQueryStream announces each
final partition as soon as it finishes (so the client reads it while the
rest of the query runs), and the DB-API cursor fetches partitions batch by
batch as it reads them.

The data makes one partition of a join endless (key 0: 40 000 rows a side,
1.6e9 pairs) while the other keys' partitions finish at once."""

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers, wait_for
from quiver.cluster.proto import quiver_pb2 as pb

OPTIONS = {"join_strategy": "partitioned", "shuffle_partitions": 4, "target_partitions": 4}
ENDLESS = "SELECT a.k, a.v, b.v AS w FROM t a JOIN t b ON a.k = b.k"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream")
    data = root / "t"
    os.makedirs(data)
    for i in range(4):
        k = np.concatenate([np.zeros(10_000, dtype=np.int64),
                            np.arange(1 + 50 * i, 51 + 50 * i, dtype=np.int64)])
        pq.write_table(pa.table({"k": k, "v": np.arange(len(k))}), str(data / f"p{i}.parquet"))
    with coordinator_with_workers(str(root), workers=2, slots=2) as (coord, procs):
        with quiver.connect(f"quiver://{coord.address}", **OPTIONS) as con:
            con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
            yield coord, con


def test_partitions_are_announced_while_the_query_runs(cluster):
    coord, con = cluster
    s = con.session
    req = pb.ExecuteQueryRequest(session_id=s.session_id, request_id="endless-1", sql=ENDLESS,
                                 options_json=json.dumps(OPTIONS))
    replies = s.stub.ExecuteQueryStream(req, metadata=s.md, timeout=120)
    try:
        first = next(replies)               # the query cannot finish: this is an announcement
        assert first.ok and first.more and first.has_rows and first.schema
        part = first.partitions[0]
        schema = pa.ipc.read_schema(pa.py_buffer(first.schema))
        assert schema.names == ["k", "v", "w"]
        rows = pa.Table.from_batches(list(s.flight.fetch(part.address, part.ticket)))
        assert rows.num_rows == part.rows > 0 and 0 not in rows.column(0).to_pylist()
        assert coord.requests.get("endless-1") is not None      # still running
    finally:
        replies.cancel()                    # the client goes away: the query stops
    wait_for(lambda: any(r.state == "cancelled" and r.sql == ENDLESS for r in coord.records),
             30, "the endless query to be cancelled")


def test_cursor_streams_partitions_and_stays_usable(cluster):
    _, con = cluster
    sql = "SELECT a.k, a.v, b.v AS w FROM t a JOIN t b ON a.k = b.k WHERE a.k > 0"
    everything = con.execute(sql).fetchall()
    assert len(everything) == 200
    cur = con.execute(sql)
    assert [d[0] for d in cur.description] == ["k", "v", "w"]
    got = []
    while chunk := cur.fetchmany(7):
        got.extend(chunk)
    assert sorted(got) == sorted(everything) and cur.rowcount == 200
    # closing mid-stream releases the result; the connection answers the next query
    cur = con.execute(sql)
    assert len(cur.fetchmany(3)) == 3
    cur.close()
    assert con.execute("SELECT count(*) FROM t WHERE k > 0").fetchall() == [(200,)]
    batches = list(con.execute(sql).fetch_record_batches())
    assert sum(b.num_rows for b in batches) == 200
