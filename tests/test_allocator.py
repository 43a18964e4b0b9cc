"""Importing quiver makes the allocators keep freed pages for reuse: a
numpy array allocated and freed again and again faults its pages in once,
not every time (TPC-H Q1 repeated spent a fifth of its CPU in page faults)."""

import os
import subprocess
import sys

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
