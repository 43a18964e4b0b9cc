"""`quiver sql` starts light and stops when asked:

- `quiver sql -c "SELECT 1"` imports neither pandas, numba nor
  prompt-toolkit (they cost most of a second at start-up; start-up time
  itself is measured by hand, never asserted);
- on a terminal a long statement shows a live progress line, and Ctrl-C
  cancels it and exits with status 130 and no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest


def cli_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "QUIVER_CONNECT")}
    env.update(TERM="xterm", QUIVER_HISTORY=str(tmp_path / "history"))
    return env


def interruptible() -> None:
    """Ctrl-C reaches the pty child even when this run inherited SIGINT
    ignored (started with `&`; see conftest.interruptible)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


PROBE = textwrap.dedent("""
    import sys
    from quiver.cli import main
    status = main(["sql", "-c", "SELECT 1 AS one"])
    heavy = sorted(m for m in ("pandas", "numba", "prompt_toolkit", "fsspec") if m in sys.modules)
    print("HEAVY", ",".join(heavy), "STATUS", status)
""")


def test_select_1_imports_no_heavy_module(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=cli_env(tmp_path), cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    assert " one" in out.stdout and "1 row" in out.stdout
    last = out.stdout.strip().splitlines()[-1]
    assert last == "HEAVY  STATUS 0", last


def test_pandas_still_works_after_the_cli_skipped_its_probe(tmp_path):
    probe = PROBE + textwrap.dedent("""
        import pyarrow as pa
        df = pa.table({"a": [1, 2]}).to_pandas()
        print(type(df).__name__, pa.table(df).num_rows, pa.Table.from_pandas(df).num_rows)
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=cli_env(tmp_path), cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "DataFrame 2 2"


def test_progress_line_and_ctrl_c_on_a_terminal(tmp_path, data_dir):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "quiver.cli", "sql", "--data", str(data_dir), "-c",
         "select count(*) from big a cross join big b where a.g + b.g > 3"],
        env=cli_env(tmp_path), cwd=str(tmp_path), dimensions=(40, 120), encoding="utf-8",
        timeout=30, preexec_fn=interruptible)
    try:
        child.expect(r"(running|tasks \d+/\d+) · ", timeout=30)   # the live progress line
        child.sendintr()
        child.expect("QueryCancelled", timeout=30)
        child.expect(pexpect.EOF, timeout=30)
        child.close()
        assert child.exitstatus == 130
        assert "Traceback" not in child.before
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close(force=True)


def test_ctrl_c_in_the_shell_spares_its_local_cluster(tmp_path, data_dir):
    """Ctrl-C at the terminal cancels the query; the local cluster's
    processes (in a session of their own) keep running for the next one."""
    pexpect = pytest.importorskip("pexpect")
    env = cli_env(tmp_path)
    env.update(PROMPT_TOOLKIT_NO_CPR="1", PAGER="")
    child = pexpect.spawn(sys.executable, ["-m", "quiver.cli", "shell", "--connect", "local[1]",
                                           "--data", str(data_dir)],
                          env=env, cwd=str(tmp_path), dimensions=(40, 120), encoding="utf-8",
                          timeout=90, preexec_fn=interruptible)
    prompt = r"\x1b\[\?2004h[^\n]*?quiver>"
    try:
        child.expect(prompt, timeout=90)
        child.send("select count(*) from big a cross join big b where a.g + b.g > 3;\r")
        child.expect(r"tasks \d+/\d+ · ", timeout=60)       # progress from the cluster
        child.sendintr()
        child.expect("QueryCancelled", timeout=60)
        child.expect(prompt, timeout=30)
        child.send("select 40 + 2 as answer;\r")
        child.expect(r"1 row", timeout=60)
        assert "42" in child.before
        child.expect(prompt, timeout=30)
        child.sendcontrol("d")
        child.expect(pexpect.EOF, timeout=60)
        child.close()
        assert child.exitstatus == 0
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close(force=True)
