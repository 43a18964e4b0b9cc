"""The committed SF 0.01 answers and the checker, with DuckDB as the engine;
and the runner and `python -m quiver.tpch` end to end over DuckDB (the same
code paths the Quiver CI check uses)."""

import json
import subprocess
import sys

import pytest

from quiver.tpch import check, runner
from quiver.tpch.datagen import table_dirs
from quiver.tpch.engines import DuckDBEngine
from quiver.tpch.querylib import ALL_QUERIES, query_text

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def duck(sf001_data):
    engine = DuckDBEngine()
    for name, location in table_dirs(sf001_data).items():
        engine.register(name, location)
    yield engine
    engine.close()


@pytest.mark.parametrize("n", ALL_QUERIES)
def test_query_matches_committed_answer(duck, n):
    names, rows = duck.query(query_text(n))
    result = check.check_query(0.01, n, names, rows)
    assert result.ok, result.message


def test_committed_answers_exist_for_three_scale_factors():
    assert check.available_scale_factors() == [0.01, 0.1, 1.0]
    for sf in (0.01, 0.1, 1.0):
        for n in ALL_QUERIES:
            assert check.answer_path(sf, n).is_file()
    # spot values from the TPC-H specification's SF 1 validation output
    q1 = check.load_answer(1, 1)
    assert q1.rows[0][:4] == ("A", "F", "37734107.00", "56586554400.73")
    assert q1.rows[0][-1] == "1478493"
    assert check.load_answer(1, 6).rows == (("123141078.2283",),)


class _Perturbed:
    """DuckDB, but Q6's revenue is off by one and Q14 fails."""
    name = "perturbed"

    def __init__(self):
        self.inner = DuckDBEngine()

    def register(self, table, location):
        self.inner.register(table, location)

    def query(self, sql):
        if "promo_revenue" in sql:
            raise RuntimeError("boom\nsecond line")
        names, rows = self.inner.query(sql)
        if "l_quantity < 24" in sql:
            rows = [(rows[0][0] + 1,)]
        return names, rows

    def close(self):
        self.inner.close()


def test_run_with_duckdb_checks_compares_and_writes_json(sf001_data, tmp_path, capsys):
    out = tmp_path / "r.json"
    results = runner.run(sf001_data, queries=[1, 13, 18], runs=2, check=True,
                         compare="duckdb", json_out=str(out), engine="duckdb")
    assert results.ok and results.scale_factor == 0.01
    assert [q.query for q in results.queries] == [1, 13, 18]
    assert all(len(q.times) == 2 and len(q.peers["duckdb"].times) == 2
               for q in results.queries)
    # each engine ran in its own process, which measured its own peak memory
    assert all(q.peak_rss > 0 and q.peers["duckdb"].peak_rss > 0 for q in results.queries)
    assert all(q.peers["duckdb"].check.ok for q in results.queries)
    captured = capsys.readouterr()
    assert "Q13" in captured.out and "x duckdb" in captured.out and "total" in captured.out
    assert "6/6" not in captured.out and "12/12" in captured.err  # the bar is on stderr
    data = json.loads(out.read_text())
    assert data["ok"] is True and data["peers"] == ["duckdb"]
    assert [q["rows"] for q in data["queries"]] == [4, 33, 2]
    assert data["total"]["peers"]["duckdb"]["ratio"] > 0
    assert data["queries"][0]["peers"]["duckdb"]["ratio"] > 0


def test_compare_with_an_engine_that_is_not_installed(sf001_data, monkeypatch):
    from quiver.tpch import engines
    monkeypatch.setattr(engines, "_MODULES", dict(engines._MODULES, datafusion="no_such_mod"))
    with pytest.raises(runner.RunnerError, match=r"not installed here: datafusion"):
        runner.run(sf001_data, queries=[6], compare="duckdb,datafusion", engine="duckdb")


def test_run_reports_mismatch_and_error_and_continues(sf001_data, capsys):
    results = runner.run(sf001_data, queries=[6, 14, 1], check=True,
                         engine=_Perturbed, progress=False)
    q6, q14, q1 = results.queries
    assert not results.ok
    assert not q6.check.ok and "expected 1193053.2253" in q6.check.message
    assert q14.error == "RuntimeError: boom" and q14.check is None
    assert q1.ok
    out = capsys.readouterr().out
    assert "MISMATCH: row 1, column revenue" in out
    assert "ERROR: RuntimeError: boom" in out and "2 failed" in out


def test_check_without_answers_for_that_scale_factor(sf001_data, tmp_path):
    with pytest.raises(runner.RunnerError,
                       match=r"no reference answers for scale factor 0\.01"):
        runner.run(sf001_data, check=True, engine="duckdb", answers_root=tmp_path)


def test_run_without_tables(tmp_path):
    with pytest.raises(runner.RunnerError, match="no TPC-H tables"):
        runner.run(str(tmp_path), engine="duckdb")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "quiver.tpch", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_run_check_with_duckdb_stand_in(sf001_data):
    proc = _cli("run", "--data", sf001_data, "--engine", "duckdb", "--check",
                "--queries", "1,6,22", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" ok") == 3 and "Q22" in proc.stdout


def test_cli_errors_exit_2(sf001_data, tmp_path):
    proc = _cli("run", "--data", str(tmp_path), "--engine", "duckdb")
    assert proc.returncode == 2 and "no TPC-H tables" in proc.stderr
    proc = _cli("run", "--data", sf001_data, "--queries", "23", "--engine", "duckdb")
    assert proc.returncode == 2 and "no TPC-H query 23" in proc.stderr


def test_cli_gen(tmp_path):
    proc = _cli("gen", "--sf", "0.01", "--out", str(tmp_path / "d"), "--parts", "2")
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "d" / "lineitem").glob("*.parquet"))) == 2


class _Counting:
    """A fake engine: counts calls per query; Q2 fails on its second call."""
    name = "counting"
    calls: dict = {}

    def register(self, table, location):
        pass

    def query(self, sql):
        key = "q2" if "min(ps_supplycost)" in sql else "other"
        _Counting.calls[key] = _Counting.calls.get(key, 0) + 1
        if key == "q2" and _Counting.calls[key] == 2:
            raise ValueError("second call")
        return ["x"], [(1,)]

    def close(self):
        pass


def test_warmup_runs_are_untimed_and_errors_stop_a_query(sf001_data):
    _Counting.calls = {}
    results = runner.run(sf001_data, queries=[1, 2], runs=3, warmup=2,
                         engine=_Counting, progress=False, out=False)
    q1, q2 = results.queries
    assert len(q1.times) == 3 and q1.rows == 1 and q1.ok
    assert q2.error == "ValueError: second call" and q2.times == [] and q2.rows is None
    assert _Counting.calls == {"other": 5, "q2": 2}
    assert results.to_dict()["warmup"] == 2


def test_compare_with_datafusion_checks_its_answers_too(sf001_data, capsys):
    pytest.importorskip("datafusion")
    results = runner.run(sf001_data, queries=[1, 13, 22], check=True,
                         compare="datafusion", engine="duckdb", progress=False)
    assert results.ok
    assert all(q.peers["datafusion"].check.ok for q in results.queries), [
        q.peers["datafusion"].check for q in results.queries]
    assert "x datafusion" in capsys.readouterr().out
