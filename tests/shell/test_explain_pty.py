"""EXPLAIN in the shell, read through a pseudo-terminal (issue 11): the plans
as indented text (no literal \\n, nothing cut with …), the stage DAG as a
tree, and EXPLAIN ANALYZE counting what a shuffle write wrote."""

from __future__ import annotations

import os
import re
import sys

import pytest

pexpect = pytest.importorskip("pexpect")

sys.path.insert(0, os.path.dirname(__file__))
from test_shell_pty import leave, plain, NEXT_PROMPT  # noqa: E402


def test_explain_analyze_prints_plans_and_a_stage_tree(shell):
    child = shell(cols=80)          # narrower than the plan lines: still never cut
    child.send("EXPLAIN ANALYZE SELECT x % 3 AS g, count(*) FROM nums GROUP BY 1;\r")
    child.expect(r"Total: 3 rows", timeout=60)
    out = child.before + child.after
    child.expect(NEXT_PROMPT, timeout=20)
    text = plain(out + child.before)
    lines = [ln.rstrip() for ln in text.splitlines()]
    for title in ("Logical plan", "Physical plan", "Stage DAG", "Stages (analyzed)"):
        assert title in lines
    assert "\\n" not in text and "…" not in text
    # trees: children indented under their parents
    assert any(re.match(r"^  Scan: nums \[", ln) for ln in lines)
    dag = lines[lines.index("Stage DAG") + 2:]
    assert dag[0].startswith("Stage 1 (final): ")
    assert re.match(r"^└── Stage 0: 2 tasks → hash\(\[.*\], \d+\) · rows 6 · \d+ B · ", dag[1])
    # the shuffle write above the 20-row scan counts the rows it wrote
    write = next(ln for ln in lines if "ShuffleWriteExec" in ln)
    assert "rows=6 " in write
    scan = next(ln for ln in lines if "ParquetScanExec" in ln and "rows=" in ln)
    assert "rows=20 " in scan
    assert "Traceback" not in text
    leave(child)


@pytest.mark.parametrize("word,hint", [
    ("help", r"Type \? for help"),
    (".tables", r"Use \dt to list tables"),
    ("exit", r"Use \q or Ctrl-D to leave"),
])
def test_other_engines_words_get_a_hint_not_a_continuation(shell, word, hint):
    """`help`, `.tables`, `exit` answer at once instead of waiting at `...>`."""
    child = shell()
    child.send(word + "\r")
    child.expect_exact(hint, timeout=20)
    out = child.before
    child.expect(NEXT_PROMPT, timeout=20)
    assert "...>" not in plain(out + child.before)
    # the shell is still at a fresh statement: a query runs normally
    child.send("SELECT 41 + 1 AS answer;\r")
    child.expect(r"1 row", timeout=30)
    assert "42" in plain(child.before)
    child.expect(NEXT_PROMPT, timeout=20)
    leave(child)


def test_parse_errors_speak_sql(shell):
    child = shell()
    child.send("SELECT 1 *;\r")
    child.expect_exact("expected an expression after '*'", timeout=20)
    child.expect(NEXT_PROMPT, timeout=20)
    child.send("SELEC 1;\r")
    child.expect_exact("syntax error near 'SELEC': not a statement (did you mean SELECT?)",
                       timeout=20)
    child.expect(NEXT_PROMPT, timeout=20)
    child.send("SHOW TRANSACTIONS;\r")
    child.expect_exact("statement SHOW TRANSACTIONS is not supported", timeout=20)
    out = child.before
    child.expect(NEXT_PROMPT, timeout=20)
    assert "sqlglot" not in plain(out) and "Falling back" not in plain(out)
    leave(child)
