"""`quiver sql`: output formats, several statements, exit codes.

A few tests run the real command (`python -m quiver.cli sql ...`); the rest
call run_script in-process on an embedded connection, which is faster."""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quiver.shell.common import open_connection, data_tables
from quiver.shell.sqlcmd import run_script


def cli(tmp_path, *args, stdin: str | None = None, env_extra: dict | None = None):
    import os
    env = {k: v for k, v in os.environ.items() if k not in ("QUIVER_CONNECT", "COLUMNS")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "quiver.cli", "sql", *args],
                          input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=str(tmp_path), env=env)


# -- the real command -------------------------------------------------------------

def test_statements_run_in_order_and_each_select_prints(tmp_path, data_dir):
    r = cli(tmp_path, "--data", str(data_dir), "-c",
            "select count(*) as n from nums; create view v as select x from nums where x < 2;"
            " select x from v order by x")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout == (" n\n----\n 20\n1 row\n\n"
                        " x\n---\n 0\n 1\n2 rows\n")


def test_error_exits_nonzero_with_a_caret_on_stderr(tmp_path, data_dir):
    r = cli(tmp_path, "--data", str(data_dir), "-c",
            "select 1 as one;\nselect id,\n       nmae from items;\nselect 3 as three")
    assert r.returncode == 1
    assert " one" in r.stdout and "three" not in r.stdout    # stops at the failure
    lines = r.stderr.splitlines()
    assert lines[0].startswith("BindError: ") and "nmae" in lines[0]
    assert "line 3, column 8" in lines[0]
    assert lines[1] == "LINE 3:        nmae from items;"
    assert lines[2].index("^") == lines[1].index("nmae") and lines[2].strip() == "^^^^"
    assert "Traceback" not in r.stderr


def test_json_from_stdin_keeps_values_exact(tmp_path, data_dir):
    r = cli(tmp_path, "--data", str(data_dir), "--format", "json",
            stdin="select id, name, unit_price, sold_on, ratio from items order by id;\n")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout, parse_float=decimal.Decimal)
    assert rows == [
        {"id": 1, "name": "apple", "unit_price": decimal.Decimal("1.50"),
         "sold_on": "2024-01-31", "ratio": decimal.Decimal("0.5")},
        {"id": 2, "name": "b,c", "unit_price": decimal.Decimal("12345678901234.25"),
         "sold_on": "2024-02-29", "ratio": None},
        {"id": 3, "name": None, "unit_price": None, "sold_on": None,
         "ratio": decimal.Decimal("2.25")},
    ]


def test_parquet_writes_the_result_to_output(tmp_path, data_dir):
    out = tmp_path / "r.parquet"
    script = tmp_path / "q.sql"
    script.write_text("-- totals per parity\nselect x % 2 as parity, sum(x) as s\n"
                      "from nums group by 1 order by 1;\n")
    r = cli(tmp_path, "--data", str(data_dir), "-f", str(script), "--format", "parquet",
            "--output", str(out))
    assert r.returncode == 0, r.stderr
    got = pq.read_table(out)
    want = duckdb.sql(f"select x % 2 as parity, sum(x) as s from "
                      f"read_parquet('{data_dir}/nums/*.parquet') group by 1 order by 1").fetchall()
    assert got.column_names == ["parity", "s"]
    assert list(zip(*got.to_pydict().values())) == [tuple(int(v) for v in r) for r in want]


# -- in-process -------------------------------------------------------------------

def test_parquet_needs_output(capsys):
    from quiver.cli import main
    assert main(["sql", "--format", "parquet", "-c", "select 1"]) == 2
    assert "--output" in capsys.readouterr().err


def test_bad_connect_target_and_bad_data_dir_fail_cleanly(tmp_path, capsys, monkeypatch):
    from quiver.cli import main
    monkeypatch.setenv("QUIVER_CONNECT", "nonsense://x")
    assert main(["sql", "-c", "select 1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("InterfaceError: ") and "nonsense://x" in err
    monkeypatch.delenv("QUIVER_CONNECT")
    assert main(["sql", "--data", str(tmp_path / "missing"), "-c", "select 1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ProgrammingError: ") and "missing" in err


def test_output_file_gets_every_result(tmp_path, data_dir, capsys):
    from quiver.cli import main
    target = tmp_path / "out.csv"
    code = main(["sql", "--data", str(data_dir), "--format", "csv", "--output", str(target),
                 "-c", "select count(*) as n from items; select max(x) as m from nums"])
    assert code == 0
    assert capsys.readouterr().out == ""
    assert target.read_text() == '"n"\n3\n\n"m"\n19\n'


@pytest.fixture
def con(data_dir):
    c = open_connection(None, str(data_dir))
    yield c
    c.close()


def test_data_dir_registers_parquet_files_and_folders_only(data_dir):
    assert [n for n, _ in data_tables(str(data_dir))] == ["big", "items", "nums"]


def run(con, sql: str, fmt: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_script(con, sql, fmt, out, None, err)
    return code, out.getvalue(), err.getvalue()


def test_csv_has_a_header_and_matches_duckdb(con, data_dir):
    code, out, err = run(con, "select id, name, unit_price, sold_on, ratio from items order by id", "csv")
    assert code == 0, err
    got = list(csv.reader(io.StringIO(out)))
    want = duckdb.sql(f"select id, name, unit_price, sold_on, ratio "
                      f"from '{data_dir}/items.parquet' order by id").fetchall()
    assert got[0] == ["id", "name", "unit_price", "sold_on", "ratio"]
    as_text = [["" if v is None else str(v) for v in row] for row in want]
    assert got[1:] == as_text


def test_json_of_every_type_is_one_array(con):
    table = pa.table({
        "i": [1, None], "f": [float("nan"), float("inf")], "b": [True, None],
        "s": ['quote " and \\ and é', ""],
        "ts": [datetime.datetime(2024, 2, 29, 12, 30, 1, 5), None],
        "d": pa.array([decimal.Decimal("-0.001"), decimal.Decimal("1E+3")], pa.decimal128(10, 3)),
        "l": [[1, 2], []],
    })
    con.register("every_type", table)
    code, out, err = run(con, "select * from every_type; select * from every_type where i > 5", "json")
    assert code == 0, err
    first, second = out.strip().split("\n]\n")
    rows = json.loads(first + "\n]", parse_float=decimal.Decimal)
    assert rows == [
        {"i": 1, "f": "NaN", "b": True, "s": 'quote " and \\ and é',
         "ts": "2024-02-29T12:30:01.000005", "d": decimal.Decimal("-0.001"), "l": [1, 2]},
        {"i": None, "f": "Infinity", "b": None, "s": "", "ts": None,
         "d": decimal.Decimal("1000.000"), "l": []},
    ]
    assert json.loads(second) == []


def test_duplicate_column_names_stay_distinct_in_json(con):
    code, out, _ = run(con, "select 1 as a, 2 as a", "json")
    assert code == 0 and json.loads(out) == [{"a": 1, "a_1": 2}]


def test_semicolons_in_strings_and_comments_do_not_split(con):
    code, out, err = run(con, "select 'a;b' as s -- not; the end\n; /* ; */ select 2 as t;", "csv")
    assert code == 0, err
    assert out == '"s"\n"a;b"\n\n"t"\n2\n'


def test_a_script_with_no_statement_is_an_error(con):
    code, _, err = run(con, "  -- nothing\n ; ", "table")
    assert code == 2 and "no SQL" in err
