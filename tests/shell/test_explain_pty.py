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
