"""A fuzz finding in planner/optimizer: NOT IN with a constant left side must
see the subquery's NULLs, with the optimizer rules off and on."""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sqllogic"))

import runner  # noqa: E402
from testdata import make_test_data  # noqa: E402

# x NOT IN (subquery) with a constant x: push_down_filter moves the ON
# conjunct `99 = k` of the null_aware_anti join into the subquery side, which
# drops the NULL k rows that make the NOT IN unknown (DuckDB: 0 rows).
CONST_NOT_IN = [
    ("SELECT count(*) FROM dim t1 WHERE 99 NOT IN (SELECT t2.k FROM nums t2)", [(0,)]),
    ("SELECT count(*) FROM dim t1 WHERE DATE '2020-01-01' NOT IN "
     "(SELECT t2.dt FROM nums t2 WHERE t2.i = t1.k)", [(7,)]),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_test_data(str(tmp_path_factory.mktemp("pending-data")))


def _run(data, config, sql):
    import quiver
    with quiver.connect(**runner.MATRIX[config]) as con:
        for name in ("nums", "dim"):
            con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{data}/{name}'")
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("sql,expected", CONST_NOT_IN)
def test_const_not_in_rules_off(data, sql, expected):
    assert _run(data, "rules_off", sql) == expected


@pytest.mark.parametrize("sql,expected", CONST_NOT_IN)
def test_const_not_in_default(data, sql, expected):
    assert _run(data, "default", sql) == expected
