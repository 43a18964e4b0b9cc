"""Shared real-process fixtures for the cluster tests.

`tpch_sf001`: TPC-H SF 0.01 Parquet (large tables in 2 files).
`locality_data`: two small tables, `ta` under one folder and `tb` under another.
`cluster3`: `quiver coordinator` + three `quiver worker` processes; worker 1
announces the folder of `ta` as its --local-root, worker 2 that of `tb`
(worker 3 none); the coordinator waits up to 30 s for locality so the
placement is deterministic.
"""

import os
import shutil
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from cluster_fixtures import cluster_target, running_cluster  # noqa: E402,F401


@pytest.fixture(scope="session")
def tpch_sf001(tmp_path_factory):
    if shutil.which("tpchgen-cli") is None:
        pytest.skip("tpchgen-cli is not installed")
    from quiver.tpch.datagen import generate
    out = tmp_path_factory.mktemp("tpch-sf0.01")
    generate(0.01, str(out), parts=2)
    return str(out)


@pytest.fixture(scope="session")
def locality_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("locality")
    for name in ("ta", "tb"):
        os.makedirs(root / name)
        for i in range(3):
            pq.write_table(pa.table({"k": list(range(i * 100, i * 100 + 100))}),
                           str(root / name / f"part-{i}.parquet"))
    return str(root)


@pytest.fixture(scope="session")
def cluster3(tmp_path_factory, locality_data):
    root = str(tmp_path_factory.mktemp("cluster3"))
    per_worker = [("--local-root", os.path.join(locality_data, "ta")),
                  ("--local-root", os.path.join(locality_data, "tb")), ()]
    with running_cluster(3, root, slots=2, coordinator_args=("--locality-wait", "30"),
                         per_worker_args=per_worker) as c:
        yield c
