"""The interactive shell: `quiver` / `quiver shell [--connect T] [--data DIR]`.

    quiver> SELECT l_returnflag, count(*) AS n
       ...> FROM lineitem GROUP BY 1;
     l_returnflag | n
    --------------+------
     A            | 1478
    2 rows (12.3 ms)

Input (prompt-toolkit) spans lines until a `;` ends it; SQL is highlighted
with pygments; Tab completes (complete.py); history persists in
~/.quiver_history (or $QUIVER_HISTORY) and Ctrl-R searches it; backslash
commands are in meta.py. Each statement runs through run.py (a
worker thread, a progress line, Ctrl-C cancels) and its result is laid out
by render.py, or export.py for \\format csv|json; results taller
than the terminal go through $PAGER (default `less -SRX`). Errors print
their class and message, with a caret under the offending text; never a
traceback. With stdin not a terminal the shell runs what it reads.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from typing import TextIO

from .. import errors
from .common import format_error, is_complete, open_connection, split_commands
from .export import write_csv, write_json
from .render import footer, format_seconds, is_explain, render
from .run import Abandoned, QueryRunner

DEFAULT_PAGER = "less -SRX"
_QUERY_WORDS = ("select", "with", "values", "show", "describe", "explain", "from", "(")


class Shell:
    """Runs text (statements and meta-commands) and shows what it gives."""

    def __init__(self, connection, stdout: TextIO | None = None,
                 stderr: TextIO | None = None):
        self.connection = connection
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        from .complete import SchemaCache     # prompt-toolkit: not for `quiver sql`
        self.schema = SchemaCache(connection)
        self.timing = True
        self.expanded = "auto"
        self.format = "table"
        self.output: TextIO | None = None     # \o FILE
        self.quit = False
        progress = self.stderr if _isatty(self.stderr) else None
        self.runner = QueryRunner(connection, progress_stream=progress)

    # -- running --------------------------------------------------------------
    def run_text(self, text: str, final: bool = False) -> bool:
        """Run every command in `text`; stop at the first failure."""
        if text.strip().lower().rstrip(";") in ("exit", "quit"):
            self.quit = True
            return True
        commands, _rest = split_commands(text, meta=True, final=final)
        for cmd in commands:
            if cmd.kind == "meta":
                from . import meta as shell_meta
                ok = shell_meta.run(self, cmd.text)
            else:
                ok = self.run_sql(cmd.padded_sql, source=text, statement=cmd.text)
            if not ok or self.quit:
                return ok
        return True

    def run_sql(self, sql: str, source: str | None = None,
                statement: str | None = None) -> bool:
        outcome = self.runner.run(sql)
        first = (statement or sql).lstrip().split(None, 1)
        if not first or first[0].lower() not in _QUERY_WORDS:
            self.schema.invalidate()          # DDL may have changed the catalog
        if outcome.error is not None:
            self.error(format_error(outcome.error, source if source is not None else sql))
            return False
        seconds = outcome.seconds if self.timing else None
        for message in outcome.messages:
            self.emit(message)
        if outcome.table is None:
            done = [f"{outcome.rowcount} row" + ("" if outcome.rowcount == 1 else "s")
                    ] if outcome.rowcount >= 0 else []
            if seconds is not None:
                done.append(format_seconds(seconds))
            self.emit("OK" + (f" ({', '.join(done)})" if done else ""))
        else:
            self.show(outcome.table, seconds)
        return True

    # -- output ---------------------------------------------------------------
    def show(self, table, seconds: float | None) -> None:
        if self.format in ("csv", "json"):
            buf = io.StringIO()
            (write_csv if self.format == "csv" else write_json)(table, buf)
            self.emit(buf.getvalue().rstrip("\n"))
            return
        to_terminal = self.output is None and _isatty(self.stdout)
        width = shutil.get_terminal_size().columns if to_terminal else None
        text = render(table, width=width, expanded=self.expanded)
        if is_explain(table):       # the plans, not a table of 3 "rows"
            tail = f"\n({format_seconds(seconds)})" if seconds is not None else ""
            self.emit(text + tail, page=True)
            return
        self.emit(text + "\n" + footer(table.num_rows, seconds), page=True)

    def emit(self, text: str, page: bool = False) -> None:
        if self.output is not None:
            self.output.write(text + "\n")
            self.output.flush()
            return
        if page and _isatty(self.stdout):
            rows = shutil.get_terminal_size().lines
            if text.count("\n") + 1 >= rows - 1 and self._page(text):
                return
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _page(self, text: str) -> bool:
        pager = os.environ.get("PAGER", DEFAULT_PAGER)
        if not pager.strip():
            return False
        try:
            proc = subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE)
        except OSError:
            return False
        try:
            proc.communicate((text + "\n").encode("utf-8", "replace"))
        except (BrokenPipeError, KeyboardInterrupt):
            pass
        while True:
            try:
                proc.wait()
                break
            except KeyboardInterrupt:
                continue                       # the pager handles Ctrl-C itself
        return proc.returncode != 127          # 127: the shell found no pager

    def say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def error(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def set_output(self, path: str | None) -> None:
        if self.output is not None:
            self.output.close()
            self.output = None
        if path:
            self.output = open(path, "w", encoding="utf-8")

    def close(self) -> None:
        self.set_output(None)
        self.connection.close()


# -- the prompt -----------------------------------------------------------------

def history_path() -> str:
    return os.environ.get("QUIVER_HISTORY") or os.path.expanduser("~/.quiver_history")


def make_prompt(shell: Shell):
    """A prompt-toolkit PromptSession wired for SQL."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.enums import DEFAULT_BUFFER
    from prompt_toolkit.filters import has_focus
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from . import meta as shell_meta
    from .complete import SqlCompleter

    kb = KeyBindings()
    editing = has_focus(DEFAULT_BUFFER)      # not while Ctrl-R searching

    @kb.add("enter", filter=editing)
    def _enter(event):
        buf = event.current_buffer
        state = buf.complete_state
        if state is not None and state.current_completion is not None:
            buf.apply_completion(state.current_completion)
            return
        buf.cancel_completion()
        if is_complete(buf.text) or shell_meta.hint_for(buf.text) is not None:
            buf.validate_and_handle()
        else:
            buf.insert_text("\n")

    @kb.add("escape", "enter", filter=editing)
    def _run_now(event):
        event.current_buffer.validate_and_handle()

    try:
        path = history_path()
        with open(path, "a", encoding="utf-8"):
            pass
        history = FileHistory(path)
    except OSError:
        history = InMemoryHistory()
    lexer = None
    try:
        from prompt_toolkit.lexers import PygmentsLexer
        from pygments.lexers.sql import SqlLexer
        lexer = PygmentsLexer(SqlLexer)
    except ImportError:
        pass
    return PromptSession(
        message="quiver> ", multiline=True, key_bindings=kb, history=history,
        lexer=lexer, completer=SqlCompleter(shell.schema),
        complete_while_typing=False, enable_history_search=False,
        prompt_continuation=lambda width, line, wrap: "...> ".rjust(width),
    )


def interact(shell: Shell) -> int:
    session = make_prompt(shell)
    shell.say("Quiver shell. End statements with ';'. \\? for help, \\q or Ctrl-D to leave.")
    while not shell.quit:
        try:
            text = session.prompt()
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        _run_guarded(shell, text)
    return 0


def _run_guarded(shell: Shell, text: str, final: bool = False) -> bool:
    from . import meta as shell_meta
    hint = shell_meta.hint_for(text)
    if hint is not None:
        shell.say(hint)
        return True
    try:
        return shell.run_text(text, final=final)
    except Abandoned:
        shell.error("stopped waiting for the cancelled query (it may still be stopping)")
    except KeyboardInterrupt:
        shell.error("interrupted")
    except errors.Error as exc:
        shell.error(format_error(exc, text))
    except Exception as exc:              # noqa: BLE001 - never a traceback
        shell.error(f"InternalError: {type(exc).__name__}: {exc}")
    return False


def run_shell(args) -> int:
    con = open_connection(getattr(args, "connect", None), getattr(args, "data", None),
                          getattr(args, "database", None))
    shell = Shell(con)
    try:
        if not sys.stdin.isatty():
            return 0 if _run_guarded(shell, sys.stdin.read(), final=True) else 1
        if _runs_queries_here(con):
            # numba gets ready while the person types the first statement
            from ..executor.kernels.warm_up import warm_up_in_background
            warm_up_in_background()
        return interact(shell)
    finally:
        shell.close()


def _runs_queries_here(con) -> bool:
    """Whether the connection's queries run in this process (the embedded
    engine, a database folder), not on a cluster's workers."""
    from ..session import Session
    return isinstance(con.session, Session)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "shell", help="interactive SQL shell (the default command)",
        description="An interactive SQL shell: statements end with ';', Tab completes, "
                    "Ctrl-R searches the history, \\? lists the backslash commands, "
                    "Ctrl-C cancels a running query, Ctrl-D quits.")
    p.add_argument("database", nargs="?", default=None, metavar="DATABASE",
                   help="a database folder (e.g. analytics.quiver) to keep tables and "
                        "views in, created if missing (default: in memory)")
    p.add_argument("--connect", metavar="TARGET", default=None,
                   help="local[N] or quiver://host:port (default: $QUIVER_CONNECT, "
                        "else the embedded engine)")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="register every Parquet file or folder under DIR as a table "
                        "named after it (default: none)")
    p.set_defaults(func=run_shell)
