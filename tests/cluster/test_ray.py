"""quiver.connect("ray"): a coordinator and a worker per node as Ray actors
on a local Ray started by the test (and stopped by the connection), data
moving over Quiver's own shuffles; a Python UDF and TPC-H Q1 answer right."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

import quiver
from quiver.tpch.check import check_query
from quiver.tpch.querylib import query_text

ray = pytest.importorskip("ray")
UDF_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "udf")


def test_quiver_on_local_ray(monkeypatch, tpch_sf001):
    if ray.is_initialized():
        pytest.skip("a Ray is already running in this process")
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", UDF_DIR + (os.pathsep + path if path else ""))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    con = quiver.connect("ray", worker_slots=2)
    try:
        workers = con.execute("SELECT worker_id, state FROM system.workers").fetchall()
        assert len(workers) == 1 and workers[0][1] == "alive"
        con.register("items", pa.table({"name": ["Red Apple", "Green Pear"]}))
        con.create_function("slug", "quiver_test_udfs:slug", "VARCHAR")
        assert sorted(con.execute("SELECT slug(name) FROM items").fetchall()) == [
            ("green-pear",), ("red-apple",)]
        con.execute(f"CREATE EXTERNAL TABLE lineitem STORED AS PARQUET "
                    f"LOCATION '{os.path.join(tpch_sf001, 'lineitem')}'")
        cur = con.execute(query_text(1))
        names = [d[0] for d in cur.description]
        result = check_query(0.01, 1, names, cur.fetchall())
        assert result.ok, str(result)
    finally:
        con.close()
    assert not ray.is_initialized()          # the Ray this connection started is gone
