"""Spill folders of a process that was killed do not stay in the temp folder:
by default a process spills under one folder named with its PID, and the
next process to spill removes those whose process is gone."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from quiver.executor.context import ExecContext
from quiver.executor.spill_root import PREFIX, default_spill_dir, sweep_stale

# spills a sort under a tiny limit, then waits to be killed
SPILLER = textwrap.dedent("""
    import sys, quiver
    con = quiver.connect(memory_limit="64KB", batch_size=256)
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{sys.argv[1]}'")
    cur = con.execute("SELECT x FROM t ORDER BY x DESC")
    cur.fetchmany(10)               # the sort has spilled, the query is open
    from quiver.executor.spill_root import default_spill_dir
    print(default_spill_dir(), flush=True)
    sys.stdin.read()
""")


def _numbers(tmp_path, n: int) -> str:
    path = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"x": np.arange(n, dtype=np.int64)}), path)
    return str(path)


def test_a_context_spills_under_this_processes_folder():
    ctx = ExecContext()
    assert ctx.spill_dir == default_spill_dir()
    assert os.path.basename(ctx.spill_dir).startswith(f"{PREFIX}{os.getpid()}-")
    ctx.close()


def test_a_killed_processes_spill_folder_is_swept(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", SPILLER, _numbers(tmp_path, 200_000)],
                            stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env, text=True)
    try:
        folder = proc.stdout.readline().strip()
        assert folder.startswith(str(tmp_path)) and os.listdir(folder)   # it spilled there
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert os.path.isdir(folder)                         # killed: nothing removed it
    # alive processes' folders stay; the dead one's goes
    mine = tmp_path / f"{PREFIX}{os.getpid()}-x"
    mine.mkdir()
    assert sweep_stale(str(tmp_path)) == [os.path.basename(folder)]
    assert not os.path.exists(folder) and mine.is_dir()


def test_a_process_that_ends_removes_its_folder(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    code = ("import sys, quiver; con = quiver.connect(memory_limit='64KB', batch_size=256); "
            "con.execute(f\"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{sys.argv[1]}'\"); "
            "con.execute('SELECT x FROM t ORDER BY x DESC').fetchall()")
    subprocess.run([sys.executable, "-c", code, _numbers(tmp_path, 100_000)], env=env,
                   check=True, timeout=120)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(PREFIX)] == []
