"""A local cluster never outlives the program that started it: a Python
program that opens `local[2]` and ends without close(), or is SIGKILLed,
and `quiver local` killed with SIGKILL, leave no coordinator, worker or
reaper process running and no temp folder behind.

Each case runs the owner as a real process and waits (bounded) for every
PID it reported to be gone and for its folder to be removed."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from cluster_fixtures import wait_for
from quiver.cluster.lifeline import alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="checks processes through /proc")

OWNER = textwrap.dedent("""
    import json, sys, time, quiver
    con = quiver.connect("local[2]", worker_slots=1)
    assert con.execute("SELECT 41 + 1").fetchall() == [(42,)]
    c = con.session.owned
    print(json.dumps({"pids": c.pids + [c.reaper.popen.pid], "root": c.root}), flush=True)
    if sys.argv[1] == "sleep":
        time.sleep(600)
    # else: the program ends here without con.close()
""")


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("QUIVER_CONNECT", "QUIVER_TOKEN")}
    return env


def _start_owner(mode):
    return subprocess.Popen([sys.executable, "-c", OWNER, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env(),
                            text=True)


def _assert_all_gone(pids, root):
    try:
        wait_for(lambda: not any(alive(p) for p in pids), 40,
                 f"processes {pids} of the local cluster to exit")
        wait_for(lambda: not os.path.exists(root), 20, f"{root} to be removed")
    finally:
        for p in pids:                       # never leave one behind, even on failure
            if alive(p):
                os.kill(p, signal.SIGKILL)


def _read_info(owner):
    line = owner.stdout.readline()
    if not line:
        owner.wait(30)
        pytest.fail(f"the owner program failed: {owner.stderr.read()[-2000:]}")
    return json.loads(line)


def test_program_ending_without_close_stops_its_cluster():
    owner = _start_owner("exit")
    try:
        info = _read_info(owner)
        assert len(info["pids"]) == 4 and os.path.isdir(info["root"])
        owner.wait(60)
        assert owner.returncode == 0, owner.stderr.read()[-2000:]
        # atexit stopped the cluster before the interpreter went away
        assert not any(alive(p) for p in info["pids"])
        assert not os.path.exists(info["root"])
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)


def test_sigkilled_program_leaves_no_process_or_folder():
    owner = _start_owner("sleep")
    try:
        info = _read_info(owner)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        _assert_all_gone(info["pids"], info["root"])
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)


def _children_naming(root):
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if root.encode() in f.read():
                        pids.append(int(name))
            except OSError:
                pass
    return pids


def test_kill_9_of_quiver_local_stops_its_workers():
    owner = subprocess.Popen([sys.executable, "-m", "quiver.cli", "local", "--workers", "2",
                              "--slots", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=_env(), text=True)
    try:
        line = owner.stdout.readline()
        assert "quiver://" in line, owner.stderr.read()[-2000:] if not line else line
        root = line.split("files in ", 1)[1].split()[0].rstrip(")")
        pids = [p for p in _children_naming(root) if p != owner.pid]
        assert len(pids) == 4                # coordinator, 2 workers, reaper
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        _assert_all_gone(pids, root)
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)


def test_a_worker_without_a_folder_removes_its_temp_folder(tmp_path, monkeypatch):
    """A worker's data folder is scratch; the coordinator's state folder is
    not (it keeps the catalog and query journal across restarts: $QUIVER_HOME,
    else ~/.quiver) and stays."""
    from quiver.cluster.coordinator import Coordinator
    from quiver.cluster.worker import Worker
    monkeypatch.setenv("QUIVER_HOME", str(tmp_path / "home"))
    coord = Coordinator(port=0)
    coord.start()
    worker = Worker(coord.address, slots=1)
    try:
        worker.start()
        assert os.path.isdir(worker.data_dir)
        assert coord.state_dir == str(tmp_path / "home")
    finally:
        worker.stop()
        coord.stop()
    assert not os.path.exists(worker.data_dir)
    assert os.path.isdir(coord.state_dir)
