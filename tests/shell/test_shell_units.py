"""The shell's parts without a terminal: splitting, errors, layout,
completion, and the query runner (with small fake connections)."""

from __future__ import annotations

import _thread
import signal
import threading

import pyarrow as pa
import pytest
from prompt_toolkit.document import Document

from quiver import errors
from quiver.shell.common import format_error, is_complete, open_connection, split_commands
from quiver.shell.complete import SchemaCache, SqlCompleter
from quiver.shell.render import render, text_width
from quiver.shell.run import QueryRunner

# -- splitting --------------------------------------------------------------------


def test_split_statements_and_meta_lines():
    text = "select 'a;''b' as x; -- c;\n\\d items\nselect \"q;\" /* ; */ from t;\n  select 3"
    commands, rest = split_commands(text, meta=True)
    assert [(c.kind, c.text) for c in commands] == [
        ("sql", "select 'a;''b' as x"), ("meta", "\\d items"),
        ("sql", 'select "q;" /* ; */ from t')]
    assert rest.strip() == "select 3"
    third = commands[2]
    assert (third.line, third.col) == (2, 0)
    assert third.padded_sql.splitlines()[2] == third.text
    commands, rest = split_commands(text, meta=True, final=True)
    assert commands[-1].text == "select 3" and (commands[-1].line, commands[-1].col) == (3, 2)
    assert rest == ""


def test_is_complete_decides_when_enter_runs():
    assert is_complete("select 1;")
    assert is_complete("select 1;  -- done")
    assert not is_complete("select 1")
    assert not is_complete("select ';")
    assert not is_complete("select 1; select")
    assert is_complete("\\d items")
    assert is_complete("   ")
    assert is_complete("quit")


# -- errors ---------------------------------------------------------------------


def test_format_error_puts_carets_under_the_offending_text():
    sql = "select a,\n\tnmae from t"
    exc = errors.BindError("column 'nmae' not found", sql, 2, 2)
    lines = format_error(exc, sql).splitlines()
    assert lines[0] == "BindError: column 'nmae' not found at line 2, column 2"
    assert lines[1] == "LINE 2: \tnmae from t"
    assert lines[2] == " " * len("LINE 2: ") + "\t^^^^"
    assert format_error(errors.DataError("division by zero")) == "DataError: division by zero"
    assert format_error(ValueError("boom")) == "InternalError: ValueError: boom"


# -- layout ---------------------------------------------------------------------


def test_tables_fit_the_width_and_cut_text_with_an_ellipsis():
    table = pa.table({"id": [1, 123456789], "note": ["short", "x" * 200],
                      "price": pa.array([1, 2], pa.int32()).cast(pa.decimal128(12, 2))})
    text = render(table, width=50)
    lines = text.splitlines()
    assert all(text_width(line) <= 49 for line in lines)
    assert lines[0].split("|")[0].strip() == "id"
    assert "123456789" in lines[3] and "…" in lines[3] and "2.00" in lines[3]
    wide = render(table, width=None)
    assert "x" * 200 in wide and "…" not in wide


def test_too_wide_results_switch_to_vertical_and_numbers_are_never_cut():
    table = pa.table({f"column_{i}": [10 ** 12 + i] for i in range(8)})
    text = render(table, width=60)
    assert text.splitlines()[0].startswith("-[ RECORD 1 ]")
    assert "column_7 | 1000000000007" in text
    assert render(table, width=60, expanded="off").splitlines()[0].startswith(" column_0")
    assert render(pa.table({"a": [1]}), width=60, expanded="on").splitlines()[1] == "a | 1"


def test_nulls_alignment_and_row_cap():
    table = pa.table({"n": [1, None, 300], "s": ["a", None, "tab\there"]})
    assert render(table).splitlines()[2:] == ["    1 | a", " NULL | NULL", "  300 | tab\\there"]
    capped = render(pa.table({"x": list(range(30))}), max_rows=10)
    assert capped.endswith("(showing the first 10 of 30 rows)")


# -- completion -------------------------------------------------------------------


@pytest.fixture(scope="module")
def completer(data_dir):
    con = open_connection(None, str(data_dir))
    yield SqlCompleter(SchemaCache(con))
    con.close()


def complete(completer, text: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(text), None)]


def test_completes_columns_of_the_tables_in_the_query(completer):
    assert complete(completer, "select count(*) from items where unit_p") == ["unit_price"]
    assert complete(completer, "select i.so") == []                    # no alias yet
    assert complete(completer, "select x from nums n, items i where i.so") == ["sold_on"]
    assert complete(completer, "select nums.") == ["x"]
    got = complete(completer, "select x from nums where ")
    assert got[0] == "x" and "unit_price" not in got     # only the query's tables' columns


def test_completes_tables_keywords_and_functions(completer):
    assert complete(completer, "select * from it") == ["items"]
    assert complete(completer, "select * from nums join b") == ["big"]
    assert "select" in complete(completer, "sel") and "SELECT" in complete(completer, "SEL")
    assert "coalesce" in complete(completer, "select coal")
    assert "count" in complete(completer, "select cou")


# -- running ----------------------------------------------------------------------


class FakeSession:
    def __init__(self):
        self.on_progress = None


class FakeScheduler:
    rows = 1200

    def progress(self):
        return (1, 3, 4, 9)


class FakeCursor:
    def __init__(self, con):
        self.con = con
        self.description = None
        self.rowcount = -1

    def execute(self, sql):
        return self.con.behave(self, sql)

    def fetch_arrow_table(self):
        return pa.table({"a": [1]})

    def close(self):
        pass


class FakeConnection:
    def __init__(self, behave):
        self.session = FakeSession()
        self.behave = behave
        self.cancelled = threading.Event()

    def cursor(self):
        return FakeCursor(self)

    def cancel(self):
        self.cancelled.set()


def test_runner_reports_results_and_hides_python_errors():
    def ok(cur, sql):
        cur.con.session.on_progress(FakeScheduler())
        cur.description = [("a", pa.int64(), None, None, None, None, True)]
        return cur
    con = FakeConnection(ok)
    out = QueryRunner(con).run("select 1")
    assert out.error is None and out.table.num_rows == 1 and out.rowcount == 1
    assert con.session.on_progress is None                  # unhooked afterwards

    def broken(cur, sql):
        raise KeyError("oops")
    out = QueryRunner(FakeConnection(broken)).run("select 1")
    assert isinstance(out.error, errors.InternalError) and "KeyError" in str(out.error)


def test_ctrl_c_cancels_the_running_query():
    def slow(cur, sql):
        cur.con.session.on_progress(FakeScheduler())
        if not cur.con.cancelled.wait(20):
            raise AssertionError("never cancelled")
        raise errors.QueryCancelled("query cancelled")

    class Screen:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    screen = Screen()
    # A run started with `&` by a non-interactive shell inherits SIGINT
    # ignored, and interrupt_main then does nothing: handle it as a terminal would.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.6, _thread.interrupt_main)    # Ctrl-C, as the terminal sends it
    timer.start()
    try:
        out = QueryRunner(FakeConnection(slow), progress_stream=screen).run("select slow")
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert isinstance(out.error, errors.QueryCancelled)
    assert "stage 1/3 · tasks 4/9 · 1,200 rows · " in screen.text
    assert screen.text.endswith("\r\x1b[2K")               # the progress line is gone
