"""Within a planning pass, row estimates and key origins are computed once
per plan node (the join orderer asks about the same subtrees again and
again); outside one nothing is kept, and a cached answer never leaks to
another node."""

import contextlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.parser import bind
from quiver.planner import logical as L
from quiver.planner import statistics as S
from quiver.planner.tree import walk


@pytest.fixture
def con(tmp_path):
    for name, n in (("f", 5000), ("d1", 50), ("d2", 70)):
        (tmp_path / name).mkdir()
        pq.write_table(pa.table({"k": pa.array(range(n), pa.int64()),
                                 "v": pa.array(range(n), pa.int64())}),
                       tmp_path / name / "part-0.parquet")
    c = quiver.connect()
    for name in ("f", "d1", "d2"):
        c.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{tmp_path / name}'")
    yield c
    c.close()


def _counting(monkeypatch):
    calls = []
    real = S._estimate_rows

    def counted(plan):
        calls.append(plan)
        return real(plan)
    monkeypatch.setattr(S, "_estimate_rows", counted)
    return calls


def _join(con):
    [st] = bind("SELECT * FROM f JOIN d1 ON f.k = d1.k JOIN d2 ON f.v = d2.k",
                con.session.catalog)
    return next(n for n in walk(st.query.plan) if isinstance(n, L.Join))


def test_each_node_is_estimated_once_inside_a_pass(con, monkeypatch):
    join = _join(con)
    calls = _counting(monkeypatch)
    with S.remembered_estimates():
        first = S.estimate_rows(join)
        assert S.estimate_rows(join) == first
        once = len(calls)
        assert len({id(p) for p in calls}) == once        # no node twice
    assert S.estimate_rows(join) == first                 # same answer outside
    assert len(calls) > once                              # ... computed again


def test_nothing_is_kept_outside_a_pass(con, monkeypatch):
    join = _join(con)
    calls = _counting(monkeypatch)
    S.estimate_rows(join)
    n = len(calls)
    S.estimate_rows(join)
    assert len(calls) == 2 * n


def test_an_answer_belongs_to_its_node_not_to_an_equal_one(con):
    [st] = bind("SELECT * FROM f WHERE v < 100", con.session.catalog)
    scan = next(n for n in walk(st.query.plan) if isinstance(n, L.Scan))
    with S.remembered_estimates():
        whole = S.estimate_rows(scan)
        narrowed = S.estimate_rows(L.Filter(scan, next(
            n.predicate for n in walk(st.query.plan) if isinstance(n, L.Filter))))
        assert narrowed < whole
        assert S.column_origin(scan, "nope") is None
        assert S.column_origin(scan, scan.fields[0].name) == (scan, scan.columns[0])


def test_plans_do_not_change(con, monkeypatch):
    sql = "SELECT count(*) FROM f JOIN d1 ON f.k = d1.k JOIN d2 ON f.v = d2.k WHERE d1.v < 10"
    [st] = bind(sql, con.session.catalog)
    with_memo = con.session.plan_query(st.query)[1]
    assert con.execute(sql).fetchall() == [(10,)]
    monkeypatch.setattr(S, "remembered_estimates", contextlib.nullcontext)
    [st] = bind(sql, con.session.catalog)
    assert repr(con.session.plan_query(st.query)[1]) == repr(with_memo)
