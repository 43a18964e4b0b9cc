"""Read the benchmark's data files once before anything is timed.

Engines run query by query in turn (Quiver first), so without this the
first engine to touch a table after the OS dropped it from its page cache
pays for the disk reads and the engines after it do not. Reading every file
once up front gives all engines the same warm cache. Data larger than half
the memory the OS has available would not stay cached, so it is left alone
(every engine then reads from disk alike, more or less).
"""
from __future__ import annotations

import os
from pathlib import Path

CHUNK = 16 << 20


def data_files(tables: dict[str, str]) -> list[Path]:
    """The Parquet files of `tables` (name -> folder or single file)."""
    files: list[Path] = []
    for location in tables.values():
        path = Path(location)
        files.extend(sorted(path.glob("*.parquet")) if path.is_dir() else [path])
    return files


def available_memory() -> int | None:
    """Bytes the OS reports as available (Linux), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def warm(tables: dict[str, str], share: float = 0.5) -> int:
    """Read the files of `tables` once, if together they take at most
    `share` of the available memory; returns the bytes read (0 if skipped)."""
    files = data_files(tables)
    total = sum(f.stat().st_size for f in files)
    room = available_memory()
    if room is None or total > room * share:
        return 0
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    done = 0
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            while n := os.readv(fd, [view]):
                done += n
        finally:
            os.close(fd)
    return done
