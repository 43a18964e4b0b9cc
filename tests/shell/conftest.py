"""Fixtures for the shell tests: a small data folder and a way to drive the
real shell through a pseudo-terminal (pexpect), every wait bounded."""

from __future__ import annotations

import datetime
import decimal
import os
import signal
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("shell-data")
    pq.write_table(pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": ["apple", "b,c", None],
        "unit_price": pa.array([decimal.Decimal("1.50"), decimal.Decimal("12345678901234.25"),
                                None], pa.decimal128(20, 2)),
        "sold_on": [datetime.date(2024, 1, 31), datetime.date(2024, 2, 29), None],
        "ratio": [0.5, None, 2.25],
    }), d / "items.parquet")
    (d / "nums").mkdir()
    pq.write_table(pa.table({"x": pa.array(range(10), pa.int64())}), d / "nums" / "part-0.parquet")
    pq.write_table(pa.table({"x": pa.array(range(10, 20), pa.int64())}), d / "nums" / "part-1.parquet")
    # the Ctrl-C tests cross-join it (1e10 pairs, minutes): cancelled or not, it cannot
    # finish before the Ctrl-C lands, however slow the machine
    pq.write_table(pa.table({"g": pa.array(range(100_000), pa.int64())}), d / "big.parquet")
    (d / "not_a_table").mkdir()
    (d / "notes.txt").write_text("ignored")
    return d


def interruptible() -> None:
    """preexec_fn for a child driven through a pty: Ctrl-C must reach it as
    at a terminal. A process started in the background by a non-interactive
    shell (`cmd &`, as a CI script or a loaded-run loop does) inherits SIGINT
    ignored, and Python then never raises KeyboardInterrupt, so the child
    would not see Ctrl-C however it handles it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli_env(tmp_path) -> dict:
    env = dict(os.environ)
    for key in ("COLUMNS", "LINES", "QUIVER_CONNECT"):
        env.pop(key, None)
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", PAGER="",
               QUIVER_HISTORY=str(tmp_path / "history"))
    return env


@pytest.fixture
def shell(tmp_path, data_dir):
    """Start `python -m quiver.cli shell --data DIR` in a 40x120 pty."""
    pexpect = pytest.importorskip("pexpect")
    started = []

    def start(env_extra: dict | None = None, rows: int = 40, cols: int = 120):
        env = cli_env(tmp_path)
        env.update(env_extra or {})
        child = pexpect.spawn(sys.executable, ["-m", "quiver.cli", "shell", "--data", str(data_dir)],
                              env=env, cwd=str(tmp_path), dimensions=(rows, cols),
                              encoding="utf-8", timeout=20, preexec_fn=interruptible)
        child.logfile_read = open(tmp_path / f"pty-{len(started)}.log", "w")
        started.append(child)
        child.expect("quiver>")
        return child

    yield start
    for i, child in enumerate(started):      # shown by pytest when the test failed
        child.logfile_read.close()
        print(f"--- what shell {i} wrote ---")
        print((tmp_path / f"pty-{i}.log").read_text(errors="replace"))
        if child.isalive():
            child.terminate(force=True)
        child.close(force=True)
