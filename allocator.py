"""How the process's allocators keep freed memory: set once, at import.

Both allocators that hold Quiver's data hand freed pages back to the system
eagerly by default, so each stage and query faults its memory in again.
Memory stays governed by the pool's reservations; the process keeps freed
pages for reuse, and executor.memory.release_unused_memory hands them back
between stages past half the limit and when the process is idle (which
Arrow's allocator must honour: jemalloc, not mimalloc, does).
"""

import ctypes
import functools
import os
import platform
import sys

# Arrow's allocator: jemalloc where pyarrow's wheels build it in (Linux
# x86-64). It keeps freed pages about a second and hands them all back when
# release_unused_memory asks; mimalloc, told to keep them (below), keeps
# them for good, so a process sat at the sum of its largest stages: TPC-H
# SF30 under a 4 GB limit peaked at 4725 MiB of RSS with mimalloc, 3557 MiB
# with jemalloc, the run 6% faster (SF10 Q7, Q9, Q1, Q10, Q18, Q13 under
# 2 GB: 1.4 GiB peak, 300 MiB resident once idle, was 1.7 and 1.2 GiB).
# Read when pyarrow loads; a pool the user named is kept.
if sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64"):
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

# Where Arrow's allocator is mimalloc, it hands freed pages back 10 ms after
# they are freed: over TPC-H SF10 Q7, Q9 and Q1, 246K page faults and 4.0 s of kernel
# time in 20 s of CPU (-1, never: 53K faults, 1.6 s, 15% less wall time).
# Read when pyarrow loads, so this module is imported before pyarrow; a
# value the user set is kept.
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "-1")

# glibc's M_TRIM_THRESHOLD and M_MMAP_THRESHOLD (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.cache
def libc_function(name: str):
    """A glibc function by name, or None where there is none (musl, macOS)."""
    try:
        return getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def keep_malloc_pages_for_reuse() -> None:
    """Fix glibc's mmap threshold at 32 MiB and its trim threshold at 64 MiB,
    the values its own dynamic tuning reaches once a large block has been
    freed. Until then every numpy array over 128 KiB is a fresh mmap whose
    pages are faulted in and handed back at free, and a heap's free top over
    twice the threshold is trimmed: TPC-H SF1 Q1 run five times in one
    process took 387K page faults and 0.9 s of kernel time in 3.3 s of CPU
    (fixed: 50 faults, 0.1 s). Values the user set through glibc's
    MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ are kept."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return
    mallopt = libc_function("mallopt")
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        mallopt(_M_TRIM_THRESHOLD, 64 << 20)


keep_malloc_pages_for_reuse()
