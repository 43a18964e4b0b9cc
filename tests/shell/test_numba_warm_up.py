"""The interactive shell makes numba ready in the background while the
person types (its first kernel call costs ~0.5 s); one thread per process,
and only where queries run in this process."""

import subprocess
import sys
import textwrap
import types

import quiver
from quiver.shell import _runs_queries_here

PROBE = textwrap.dedent("""
    import sys
    from quiver.executor.kernels import jit, warm_up
    assert "numba" not in sys.modules
    t = warm_up.warm_up_in_background()
    assert warm_up.warm_up_in_background() is t   # once per process
    t.join(120)
    assert not t.is_alive() and jit._numba_ready and "numba" in sys.modules
    print("READY", flush=True)
""")


def test_warm_up_loads_numba_once_in_a_daemon_thread():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr
    assert "READY" in out.stdout


def test_only_connections_that_run_queries_here_warm_up():
    con = quiver.connect()
    try:
        assert _runs_queries_here(con)
    finally:
        con.close()
    assert not _runs_queries_here(types.SimpleNamespace(session=object()))
