"""Importing quiver makes the allocators keep freed pages for reuse: a
numpy array allocated and freed again and again faults its pages in once,
not every time (TPC-H Q1 repeated spent a fifth of its CPU in page faults)."""

import os
import platform
import subprocess
import sys

import pytest

_PROBE = """
import quiver, numpy, resource, os
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    a = numpy.ones(1 << 18)      # 2 MiB: over glibc's initial mmap threshold
    del a
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before,
      os.environ.get("MIMALLOC_PURGE_DELAY"))
"""


def _probe(**env) -> tuple[int, str]:
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("MALLOC_", "MIMALLOC_"))}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", _PROBE], env=full, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    return int(out[0]), out[1]


def test_freed_pages_are_reused():
    faults, purge = _probe()
    assert faults < 2000            # 200 fresh 2 MiB maps would be ~100K
    assert purge == "-1"


def test_the_users_settings_are_kept():
    faults, purge = _probe(MALLOC_MMAP_THRESHOLD_="131072", MIMALLOC_PURGE_DELAY="10")
    assert faults > 20000           # every array is a fresh map, as the user asked
    assert purge == "10"


_ARROW_PROBE = """
import quiver, pyarrow as pa
from quiver.executor.memory import release_unused_memory, resident_bytes
base = resident_bytes()
bufs = [pa.allocate_buffer(8 << 20) for _ in range(40)]     # 320 MiB of Arrow memory
for b in bufs:
    memoryview(b).cast("B")[::4096] = bytes(len(b) // 4096)   # touch every page
held = resident_bytes()
del bufs, b
release_unused_memory()
print(pa.default_memory_pool().backend_name, (held - base) >> 20, (resident_bytes() - base) >> 20)
"""


def _arrow_probe(**env) -> tuple[str, int, int]:
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("MALLOC_", "MIMALLOC_", "ARROW_DEFAULT_MEMORY_POOL"))}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", _ARROW_PROBE], env=full, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    return out[0], int(out[1]), int(out[2])


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() == "x86_64"),
                    reason="pyarrow's wheels have jemalloc on Linux x86-64")
def test_arrow_memory_freed_goes_back_to_the_system():
    pool, held, after = _arrow_probe()
    assert pool == "jemalloc"
    assert held >= 300 and after < 64      # mimalloc kept all 320 MiB resident


def test_the_users_arrow_pool_is_kept():
    pool, _, _ = _arrow_probe(ARROW_DEFAULT_MEMORY_POOL="system")
    assert pool == "system"
