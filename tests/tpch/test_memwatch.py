"""tpch.memwatch: peak RSS of a process tree, from /proc."""

import subprocess
import sys

import pytest

from quiver.tpch import memwatch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

MiB = 1 << 20


def test_peak_counts_a_short_spike_in_this_process():
    # in a fresh process: a process that ran the whole suite may hold an old
    # high-water mark above the spike, on a kernel that refuses to reset it
    code = """
import mmap, os
from quiver.tpch import memwatch
MiB = 1 << 20
base = memwatch.tree_rss(os.getpid())
with memwatch.PeakRSS(interval=5.0) as peak:      # no sample lands during the spike
    block = mmap.mmap(-1, 200 * MiB)               # fresh pages, never reused ones
    block[::4096] = b"x" * len(block[::4096])      # touch every page
    block.close()
print(peak.bytes - base)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert int(out.split()[-1]) >= 150 * MiB


def test_peak_counts_child_processes():
    code = ("import time; b = bytearray(300 << 20); b[::4096] = b'x' * len(b[::4096]); "
            "print('up', flush=True); time.sleep(0.5)")
    with memwatch.PeakRSS(interval=0.02) as peak:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "up"
            assert child.pid in memwatch.process_tree(memwatch.os.getpid())
        finally:
            child.wait(10)
    assert peak.bytes >= 250 * MiB


def test_cpu_seconds_count_live_children():
    code = ("import time; t = time.process_time()\n"
            "while time.process_time() - t < 0.4: pass\n"
            "print('done', flush=True); time.sleep(5)")
    before = memwatch.tree_cpu_seconds(memwatch.os.getpid())
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "done"
        after = memwatch.tree_cpu_seconds(memwatch.os.getpid())
    finally:
        child.kill()
        child.wait(10)
    assert after - before >= 0.3


def test_largest_is_one_process_not_the_tree():
    code = ("import time; b = bytearray({mib} << 20); b[::4096] = b'x' * len(b[::4096]); "
            "print('up', flush=True); time.sleep(1)")
    with memwatch.PeakRSS(interval=0.02) as peak:
        children = [subprocess.Popen([sys.executable, "-c", code.format(mib=mib)],
                                     stdout=subprocess.PIPE, text=True) for mib in (300, 100)]
        try:
            for child in children:
                assert child.stdout.readline().strip() == "up"
        finally:
            for child in children:
                child.wait(10)
    assert peak.bytes >= 400 * MiB                   # both children at once
    assert 280 * MiB <= peak.largest < peak.bytes - 80 * MiB
