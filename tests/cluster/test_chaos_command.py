"""`quiver chaos` arms a fault at a coordinator started with --chaos, and a
coordinator without it refuses (failure injection is off unless asked for)."""

import subprocess
import sys

from quiver.cluster.coordinator import Coordinator


def _chaos(address, *args):
    return subprocess.run([sys.executable, "-m", "quiver.cli", "chaos", "--coordinator", address,
                           *args], capture_output=True, text=True, timeout=60)


def test_chaos_command_arms_or_is_refused(tmp_path):
    on = Coordinator(port=0, state_dir=str(tmp_path / "on"), chaos=True)
    off = Coordinator(port=0, state_dir=str(tmp_path / "off"))
    on.start()
    off.start()
    try:
        r = _chaos(on.address, "corrupt-shuffle", "--stage", "leaf", "--seed", "7")
        assert r.returncode == 0 and "armed corrupt-shuffle at the leaf stage" in r.stdout, r
        r = _chaos(on.address, "random", "--seed", "42")
        assert r.returncode == 0 and r.stdout.startswith("armed "), r
        assert [f.kind for f in on.armory.armed][0] == "corrupt-shuffle"
        assert len(on.armory.armed) == 2
        r = _chaos(off.address, "kill")
        assert r.returncode != 0 and "start it with --chaos" in r.stderr + r.stdout, r
        assert off.armory is None
    finally:
        on.stop()
        off.stop()
