"""The README's cluster flow runs twice against one coordinator (issue 11):
registering the same table at the same location again is a no-op, another
location is a clear error, and CREATE OR REPLACE / IF NOT EXISTS say what to
do. Real processes: a coordinator in this process and one `quiver worker`."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver

sys.path.insert(0, os.path.dirname(__file__))
from cluster_fixtures import coordinator_with_workers  # noqa: E402


def _env():
    return {k: v for k, v in os.environ.items() if k not in ("QUIVER_CONNECT", "QUIVER_TOKEN")}


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("register-twice"))
    with coordinator_with_workers(root, workers=1, slots=2) as (coord, _):
        yield coord, root


def test_create_external_table_twice_on_one_coordinator(coordinator, tmp_path):
    coord, _ = coordinator
    for name, rows in (("a", [1, 2]), ("b", [3])):
        os.makedirs(tmp_path / name)
        pq.write_table(pa.table({"x": rows}), str(tmp_path / name / "p.parquet"))
    create = f"CREATE EXTERNAL TABLE reg_t STORED AS PARQUET LOCATION '{tmp_path / 'a'}'"
    for _ in range(2):                   # two clients, one after the other
        with quiver.connect(f"quiver://{coord.address}") as con:
            con.execute(create)
            con.execute(create[:-1] + "/'")    # the same folder spelled with a slash
            assert con.execute("SELECT sum(x) FROM reg_t").fetchall() == [(3,)]
    with quiver.connect(f"quiver://{coord.address}") as con:
        with pytest.raises(quiver.ProgrammingError) as info:
            con.execute(f"CREATE EXTERNAL TABLE reg_t STORED AS PARQUET "
                        f"LOCATION '{tmp_path / 'b'}'")
        msg = str(info.value)
        assert f"table 'reg_t' already exists at {tmp_path / 'a'}, not {tmp_path / 'b'}" in msg
        assert "CREATE OR REPLACE EXTERNAL TABLE" in msg
        con.execute(f"CREATE EXTERNAL TABLE IF NOT EXISTS reg_t STORED AS PARQUET "
                    f"LOCATION '{tmp_path / 'b'}'")
        assert con.execute("SELECT sum(x) FROM reg_t").fetchall() == [(3,)]
        con.execute(f"CREATE OR REPLACE EXTERNAL TABLE reg_t STORED AS PARQUET "
                    f"LOCATION '{tmp_path / 'b'}'")
        assert con.execute("SELECT count(*) FROM reg_t").fetchall() == [(1,)]


def test_sql_and_tpch_style_registration_run_twice(coordinator, tmp_path):
    """`quiver sql --connect ... --data DIR` twice, as the README shows."""
    coord, _ = coordinator
    data = tmp_path / "data"
    os.makedirs(data / "nation")
    pq.write_table(pa.table({"n_nationkey": list(range(25))}),
                   str(data / "nation" / "part-0.parquet"))
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-m", "quiver.cli", "sql", "--connect",
             f"quiver://{coord.address}", "--data", str(data), "--format", "csv",
             "-c", "SELECT count(*) AS n FROM nation"],
            capture_output=True, text=True, timeout=120, env=_env())
        assert out.returncode == 0, out.stderr
        assert out.stdout.split()[-1] == "25"
    # the TPC-H runner registers with CREATE EXTERNAL TABLE: twice is fine
    from quiver.tpch.engines import QuiverEngine
    for _ in range(2):
        engine = QuiverEngine(f"quiver://{coord.address}")
        try:
            engine.register("nation", str(data / "nation"))
            assert engine.query("SELECT count(*) FROM nation")[1] == [(25,)]
        finally:
            engine.close()
