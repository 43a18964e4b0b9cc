"""A database to come back to (issue 11): `quiver.connect("x.quiver")`,
`quiver sql --db`, `quiver shell PATH`; CREATE TABLE AS data, external tables
and views survive the connection; CREATE TABLE ... LOCATION; an in-memory
connection says where CREATE TABLE AS data goes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver


def _env():
    return {k: v for k, v in os.environ.items() if k not in ("QUIVER_CONNECT", "QUIVER_TOKEN")}


def test_tables_and_views_survive_the_connection(tmp_path):
    path = str(tmp_path / "analytics.quiver")
    os.makedirs(tmp_path / "ext")
    pq.write_table(pa.table({"v": [10, 20, 30]}), str(tmp_path / "ext" / "p.parquet"))
    with quiver.connect(path) as con:
        cur = con.execute("CREATE TABLE t AS SELECT 1 AS a UNION ALL SELECT 2")
        assert cur.rowcount == 2
        assert "written to " + os.path.join(path, "warehouse", "t") in str(cur.messages[0][1])
        assert "temporary" not in str(cur.messages[0][1])
        con.execute("CREATE VIEW v AS SELECT sum(a) AS s FROM t")
        con.execute(f"CREATE EXTERNAL TABLE e STORED AS PARQUET LOCATION '{tmp_path / 'ext'}'")
        con.execute("CREATE TABLE gone AS SELECT 1 AS x")
        con.execute("DROP TABLE gone")
    assert sorted(os.listdir(path)) == ["catalog.json", "warehouse"]
    assert os.listdir(os.path.join(path, "warehouse")) == ["t"]     # DROP took its data
    with quiver.connect(path) as con:
        assert con.execute("SHOW TABLES").fetchall() == [("e",), ("t",), ("v",)]
        assert con.execute("SELECT s FROM v").fetchall() == [(3,)]
        assert con.execute("SELECT sum(v) FROM e").fetchall() == [(60,)]
    data = json.load(open(os.path.join(path, "catalog.json")))
    assert [t["name"] for t in data["tables"]] == ["e", "t"]


def test_a_missing_database_is_created_and_a_file_is_refused(tmp_path):
    path = tmp_path / "new.quiver"
    with quiver.connect(str(path)) as con:
        assert con.execute("SHOW TABLES").fetchall() == []
    assert (path / "catalog.json").is_file() and (path / "warehouse").is_dir()
    (tmp_path / "file.quiver").write_text("not a folder")
    with pytest.raises(quiver.ProgrammingError, match="is a file, not a Quiver database"):
        quiver.connect(str(tmp_path / "file.quiver"))


def test_create_table_location(tmp_path):
    where = tmp_path / "out"
    with quiver.connect() as con:
        cur = con.execute(f"CREATE TABLE t LOCATION '{where}' AS SELECT 7 AS a")
        assert str(cur.messages[0][1]) == f"table t written to {where}"
        assert con.execute("SELECT a FROM t").fetchall() == [(7,)]
    assert any(f.endswith(".parquet") for f in os.listdir(where))
    with quiver.connect() as con:
        assert con.execute(f"SELECT a FROM '{where}'").fetchall() == [(7,)]


def test_in_memory_connection_says_where_ctas_goes():
    with quiver.connect() as con:
        cur = con.execute("CREATE TABLE t AS SELECT 1 AS a")
        [(cls, message)] = cur.messages
        assert cls is quiver.Warning
        assert "a temporary folder" in str(message)
        assert "quiver.connect('analytics.quiver')" in str(message)
        assert con.execute("SELECT * FROM t").fetchall() == [(1,)]


def test_quiver_sql_db_and_shell_path_come_back(tmp_path):
    db = str(tmp_path / "cli.quiver")

    def run(args, stdin=None):
        out = subprocess.run([sys.executable, "-m", "quiver.cli", *args], input=stdin,
                             capture_output=True, text=True, timeout=120, env=_env(),
                             cwd=str(tmp_path))
        assert out.returncode == 0, out.stderr
        return out

    first = run(["sql", "--db", db, "--format", "csv", "-c", "CREATE TABLE a AS SELECT 42 AS x"])
    assert "table a written to " + os.path.join(db, "warehouse", "a") in first.stderr
    assert run(["sql", "--db", db, "--format", "csv", "-c", "SELECT x FROM a"]
               ).stdout.split()[-1] == "42"
    shell = run(["shell", db], stdin="SELECT x + 1 AS y FROM a;\n")
    assert "43" in shell.stdout
    both = subprocess.run([sys.executable, "-m", "quiver.cli", "sql", "--db", db, "--connect",
                           "local[1]", "-c", "SELECT 1"], capture_output=True, text=True,
                          timeout=120, env=_env())
    assert both.returncode == 1 and "either a database path or --connect" in both.stderr
