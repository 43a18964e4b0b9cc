"""Errors in the user's words (issue 11): parse errors without sqlglot's
internals and pointing at the offending token, unknown functions named as
typed, `quiver tpch gen --out FILE`, no sqlglot warning on stderr."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import quiver

PARSE = [
    ("SELECT 1 *", "syntax error near '*': expected an expression after '*'", (1, 10)),
    ("SELECT 1 +", "syntax error near '+': expected an expression after '+'", (1, 10)),
    ("SELEC 1", "syntax error near 'SELEC': not a statement (did you mean SELECT?)", (1, 1)),
    ("  \n  slect *\nfrom t", "near 'slect': not a statement (did you mean SELECT?)", (2, 3)),
    ("SELECT 1 FROM", "expected table name, found the end of the statement", (1, 10)),
    ("SELECT a FROM t WHERE", "syntax error near 'WHERE': WHERE is incomplete", (1, 17)),
    ("SELECT (1", "expected ')'", (1, 9)),
    ("select x from t where x between 1", "BETWEEN needs an upper bound", (1, 33)),
]


@pytest.mark.parametrize("sql,message,where", PARSE, ids=[p[0] for p in PARSE])
def test_parse_errors_in_the_users_words(sql, message, where):
    with quiver.connect() as con:
        with pytest.raises(quiver.ProgrammingError) as info:
            con.execute(sql)
    text = str(info.value)
    assert message in text
    assert f"line {where[0]}, column {where[1]}" in text
    for internal in ("sqlglot", "<class", "Token", "Required keyword", "SENTINEL"):
        assert internal not in text


@pytest.mark.parametrize("sql,message", [
    ("SELECT version()", "unknown function version() at line 1, column 8"),
    ("SELECT uper('a')", "unknown function uper() (did you mean upper()?)"),
    ("SELECT nosuchfn(1)", "unknown function nosuchfn()"),
])
def test_unknown_functions_are_named_as_typed(sql, message):
    with quiver.connect() as con:
        with pytest.raises(quiver.ProgrammingError, match=None) as info:
            con.execute(sql)
        assert message in str(info.value)
        assert con.execute("SELECT upper('a')").fetchall() == [("A",)]


def _cli(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "QUIVER_CONNECT"}
    return subprocess.run([sys.executable, "-m", "quiver.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=str(cwd))


def test_show_schemas_lists_them_and_prints_no_sqlglot_warning(tmp_path):
    out = _cli(["sql", "-c", "SHOW SCHEMAS"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "main" in out.stdout and out.stderr.strip() == ""
    out = _cli(["sql", "-c", "SHOW TRANSACTIONS"], tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip() == "NotSupportedError: statement SHOW TRANSACTIONS is not supported"


def test_tpch_gen_onto_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    out = _cli(["tpch", "gen", "--sf", "0.01", "--out", "afile"], tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == ("quiver tpch gen: --out afile is a file; give a folder to "
                                  "write the tables into (it is created if missing)")
    assert "Traceback" not in out.stderr
