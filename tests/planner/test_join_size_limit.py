"""The physical planner refuses a join whose estimated work is absurd
(PhysicalOptions.max_join_rows), only when the table sizes are known."""

from __future__ import annotations

import pyarrow as pa
import pytest

import quiver


def _con(**options):
    con = quiver.connect(**options)
    con.register("a", pa.table({"k": list(range(300)), "v": [i % 7 for i in range(300)]}))
    con.register("b", pa.table({"k": list(range(100)), "g": [i % 3 for i in range(100)]}))
    return con


def test_nested_loop_over_the_limit_is_refused():
    con = _con(max_join_rows=10_000)
    with pytest.raises(quiver.OperationalError, match="max_join_rows"):
        con.execute("SELECT count(*) FROM a, b WHERE a.v < b.g").fetchall()
    # the connection stays usable, and an equi-join well under the limit runs
    assert con.execute("SELECT count(*) FROM a JOIN b ON a.k = b.k").fetchall() == [(100,)]


def test_default_limit_lets_ordinary_joins_run():
    con = _con()
    assert con.execute("SELECT count(*) FROM a, b WHERE a.v < b.g").fetchall() == [(
        sum(1 for i in range(300) for j in range(100) if i % 7 < j % 3),)]


def test_no_limit():
    con = _con(max_join_rows=None)
    assert con.execute("SELECT count(*) FROM a CROSS JOIN b").fetchall() == [(30_000,)]
