"""All 22 TPC-H queries bind; their output names and types match DuckDB's
(on empty tables with the same schema), modulo the documented differences
(sum of integers is BIGINT here, HUGEINT in DuckDB)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from quiver.parser import Select, bind
from quiver import datatypes as dt
from quiver.planner import logical as L
from quiver.planner.tree import walk

QUERIES = Path(__file__).resolve().parents[2] / "tpch" / "queries"


def query_text(n: int) -> str:
    path = QUERIES / f"q{n:02d}.sql"
    if not path.exists():
        pytest.skip(f"{path} not written yet")
    return path.read_text()


def duck_schema(duck, sql):
    rel = duck.sql(sql)
    return list(zip(rel.columns, [str(t) for t in rel.types]))


def same_type(ours: pa.DataType, theirs: str) -> bool:
    name = dt.sql_name(ours)
    if name == theirs:
        return True
    return theirs == "HUGEINT" and name == "BIGINT"


@pytest.mark.parametrize("n", range(1, 23))
def test_tpch_query_binds_like_duckdb(n, catalog, duck):
    sql = query_text(n)
    [st] = bind(sql, catalog)
    assert isinstance(st, Select)
    q = st.query
    names = [f.name for f in q.plan.schema]
    assert len(set(names)) == len(names)
    ours = list(zip(q.output_names, [f.dtype for f in q.plan.schema]))
    theirs = duck_schema(duck, sql)
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for (name, t), (_, t2) in zip(ours, theirs):
        assert same_type(t, t2), (name, dt.sql_name(t), t2)


def _internal_names_unique(plan):
    """Every column a node produces is named once in the whole plan."""
    produced = []
    for node in walk(plan):
        if isinstance(node, L.Scan):
            produced += [f.name for f in node.fields]
        elif isinstance(node, L.Aggregate):
            produced += list(node.group_names) + list(node.agg_names)
        elif isinstance(node, L.Window):
            produced += list(node.names)
        elif isinstance(node, L.Values):
            produced += [f.name for f in node.fields]
        elif isinstance(node, L.Project):
            inputs = {f.name for f in node.input.schema}
            produced += [n for n in node.names if n not in inputs]
    return len(produced) == len(set(produced))


@pytest.mark.parametrize("n", [2, 11, 15, 17, 20, 21, 22])
def test_tpch_internal_names_unique(n, catalog):
    [st] = bind(query_text(n), catalog)
    assert _internal_names_unique(st.query.plan)
