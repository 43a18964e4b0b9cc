"""Drive the real shell through a pseudo-terminal, as a person would."""

from __future__ import annotations

import re

import pytest

pexpect = pytest.importorskip("pexpect")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]")


def plain(text: str) -> str:
    """Terminal output without escape sequences; a bare carriage return
    (the progress line being redrawn) starts a new line."""
    text = re.sub(r"\r+(?!\n)", "\n", text)
    return ANSI.sub("", text).replace("\r", "")


NEXT_PROMPT = r"\x1b\[\?2004h[^\n]*?quiver>"    # prompt-toolkit is reading keys again


def run(child, line: str, until: str, timeout: float = 20) -> str:
    """Type `line` + Enter, wait for `until` and then for the next prompt;
    return the plain output."""
    child.send(line + "\r")
    child.expect(until, timeout=timeout)
    out = child.before + child.after
    child.expect(NEXT_PROMPT, timeout=timeout)
    return plain(out + child.before)


def leave(child) -> None:
    child.sendcontrol("d")
    child.expect(pexpect.EOF, timeout=20)
    child.close()
    assert child.exitstatus == 0


def test_multiline_query_prints_an_aligned_table(shell):
    child = shell()
    child.send("select id, name, unit_price\r")
    child.expect(r"\.\.\.>", timeout=10)          # the statement is not finished: continuation
    child.send("from items\r")
    child.expect(r"\.\.\.>", timeout=10)
    out = run(child, "order by id;", r"3 rows \(")
    lines = [ln.rstrip() for ln in out.splitlines()]
    header = next(i for i, ln in enumerate(lines) if ln.startswith(" id | name"))
    assert lines[header] == " id | name  | unit_price"
    assert lines[header + 1] == "----+-------+-------------------"
    assert lines[header + 2:header + 5] == [
        "  1 | apple |              1.50",
        "  2 | b,c   | 12345678901234.25",
        "  3 | NULL  |              NULL",
    ]
    assert "Traceback" not in out
    leave(child)


def test_tab_completes_a_column_and_ctrl_r_finds_it_again(shell, tmp_path):
    child = shell()
    child.send("select count(*) as n from items where unit_pr")
    child.send("\t")
    child.expect("ice", timeout=10)                  # the completion is drawn
    out = run(child, " > 2;", r"1 row")
    assert re.search(r"^\s+1$", out, re.M), out
    run(child, "select 5 as other;", r"1 row")
    child.sendcontrol("r")                           # search the history
    child.expect("I-search backward", timeout=10)
    child.send("unit_price >")
    child.expect("unit_price", timeout=10)
    child.send("\r")                                 # take the match into the buffer
    out = run(child, "", r"1 row")                   # and run it
    assert re.search(r"^ n\s*$", out, re.M) and "other" not in out, out
    leave(child)
    history = (tmp_path / "history").read_text()
    assert "where unit_price > 2;" in history        # persisted to $QUIVER_HISTORY


def test_ctrl_c_cancels_a_long_query_and_the_next_one_runs(shell):
    child = shell()
    child.send("select count(*) from big a cross join big b where a.g + b.g > 3;\r")
    child.expect(r"(running|tasks \d+/\d+) · ", timeout=20)   # the live progress line
    child.sendintr()
    child.expect("QueryCancelled", timeout=20)
    child.expect(NEXT_PROMPT, timeout=10)
    out = run(child, "select 40 + 2 as answer;", r"1 row")
    assert re.search(r"^\s+42$", out, re.M), out
    assert "Traceback" not in out
    leave(child)


def test_mistyped_column_shows_a_caret_under_it(shell):
    child = shell()
    child.send("select id,\r")
    child.expect(r"\.\.\.>", timeout=10)
    out = run(child, "  nmae from items;", r"\^+")
    lines = out.splitlines()
    err = next(ln for ln in lines if ln.startswith("BindError"))
    assert "nmae" in err and "line 2, column 3" in err
    src = next(ln for ln in lines if ln.startswith("LINE 2:"))
    caret = lines[lines.index(src) + 1]
    assert caret.index("^") == src.index("nmae")
    assert caret.strip() == "^" * len("nmae")
    out = run(child, "select 1 / 0;", r"Error")
    assert "DataError" in out and "Traceback" not in out
    out = run(child, "select id from items where id = 2;", r"1 row")   # still usable
    leave(child)


def test_meta_commands(shell, tmp_path):
    child = shell()
    out = run(child, "\\d", r"rows? \(")
    names = set(re.findall(r"^ (\w+)\s*$", out, re.M))
    assert {"items", "nums", "big"} <= names and "not_a_table" not in names
    out = run(child, "\\d items", r"rows? \(")
    assert re.search(r"unit_price\s+\| DECIMAL\(20,\s*2\)", out), out
    run(child, "\\x on", "Expanded display is on")
    out = run(child, "select id, name from items where id = 1;", r"1 row")
    assert "-[ RECORD 1 ]" in out and re.search(r"^name \| apple$", out, re.M)
    run(child, "\\x auto", "Expanded display is auto")
    run(child, "\\timing", "Timing is off")
    run(child, "\\format csv", "Output format is csv")
    out = run(child, "select id, name from items order by id;", r'3,\s*\n')
    assert '"id","name"' in out and '2,"b,c"' in out
    run(child, "\\format table", "Output format is table")
    script = tmp_path / "script.sql"
    script.write_text("select sum(x) as total\nfrom nums;\n")
    out = run(child, f"\\i {script}", r"1 row\s")
    assert re.search(r"^\s+190$", out, re.M) and "1 row (" not in out   # timing is off
    result_file = tmp_path / "out.txt"
    run(child, f"\\o {result_file}", r"\\o")
    run(child, "select 7 as seven;", "seven;")
    run(child, "\\o", r"\\o")
    assert " seven" in result_file.read_text() and "7" in result_file.read_text()
    out = run(child, "\\nope", "unknown command")
    assert "unknown command \\nope" in out
    run(child, "\\?", "Ctrl-R")
    child.send("\\q\r")
    child.expect(pexpect.EOF, timeout=20)


def test_wide_results_go_vertical_and_long_ones_through_the_pager(shell):
    child = shell({"PAGER": "sed s/^/PAGED:/"}, rows=12, cols=40)
    out = run(child, "select * from items where id = 2;", r"1 row")
    assert "-[ RECORD 1 ]" in out
    assert re.search(r"^unit_price \| 12345678901234\.25$", out, re.M), out
    out = run(child, "select x from nums order by x;", r"PAGED:20 rows")
    assert "PAGED: 19" in out and "PAGED:  0" in out
    out = run(child, "select name from items where id = 1;", r"1 row")
    assert "PAGED" not in out                          # short results are not paged
    leave(child)
