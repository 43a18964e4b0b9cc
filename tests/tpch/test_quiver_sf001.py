"""The 22 TPC-H queries on Quiver's embedded engine at SF 0.01, each checked
against the committed answer: the same runner/checker code as
`quiver tpch run --check`.

Q19 is skipped unless QUIVER_TPCH_SLOW=1: its join key sits inside an OR of
three conjunctions, which the planner does not factor out yet, so it runs as
a nested-loop join (about a minute at SF 0.01)."""

import os

import pytest

from quiver.tpch import check
from quiver.tpch.datagen import table_dirs
from quiver.tpch.engines import QuiverEngine
from quiver.tpch.querylib import ALL_QUERIES, query_text

SLOW = {19}


@pytest.fixture(scope="module")
def quiver_engine(sf001_data):
    engine = QuiverEngine()
    for name, location in table_dirs(sf001_data).items():
        engine.register(name, location)
    yield engine
    engine.close()


@pytest.mark.parametrize("n", ALL_QUERIES)
def test_quiver_answer(quiver_engine, n):
    if n in SLOW and os.environ.get("QUIVER_TPCH_SLOW") != "1":
        pytest.skip("slow on the current planner (OR-factored join key); "
                    "set QUIVER_TPCH_SLOW=1 to run")
    names, rows = quiver_engine.query(query_text(n))
    result = check.check_query(0.01, n, names, rows)
    assert result.ok, result.message
