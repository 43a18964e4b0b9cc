"""The 22 TPC-H queries on Quiver's embedded engine at SF 0.01, each checked
against the committed answer: the same runner/checker code as
`quiver tpch run --check`, which test_cli_check_sf01 runs as a user would at
SF 0.1."""

import subprocess
import sys

import pytest

from quiver.tpch import check
from quiver.tpch.datagen import table_dirs
from quiver.tpch.engines import QuiverEngine
from quiver.tpch.querylib import ALL_QUERIES, query_text


@pytest.fixture(scope="module")
def quiver_engine(sf001_data):
    engine = QuiverEngine()
    for name, location in table_dirs(sf001_data).items():
        engine.register(name, location)
    yield engine
    engine.close()


@pytest.mark.parametrize("n", ALL_QUERIES)
def test_quiver_answer(quiver_engine, n):
    names, rows = quiver_engine.query(query_text(n))
    result = check.check_query(0.01, n, names, rows)
    assert result.ok, result.message


def test_cli_check_sf01(tmp_path):
    """`quiver tpch gen` then `quiver tpch run --check` at SF 0.1, on files
    split in parts: the command CI users run, with its exit status."""
    data = tmp_path / "sf0.1"
    cli = [sys.executable, "-m", "quiver.cli", "tpch"]
    gen = subprocess.run(cli + ["gen", "--sf", "0.1", "--out", str(data), "--parts", "3"],
                         capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stderr
    run = subprocess.run(cli + ["run", "--data", str(data), "--check", "--no-progress"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("Q")]
    assert len(lines) == 22 and all(ln.rstrip().endswith("ok") for ln in lines), run.stdout
