"""Filesystems and file discovery: turning a location into Parquet file paths.

Owns: resolving a location (local path, `file://`, `memory://`, `s3://`, ...)
to a cached fsspec filesystem, and listing the Parquet files a location names
(a file, a folder searched recursively, a glob, or a list of those), each with
the root folder below which Hive `key=value` folders are looked for.

Relative local paths are resolved against `base_directory(...)` when one is
set (a coordinator sets its client's folder), else the working directory.

Does not own: reading file contents (parquet.py) or Hive parsing (hive.py).

Rules for folders: hidden entries (`.x`), entries starting with `_`
(`_SUCCESS`, `_metadata`, `_temporary`) and `*.crc` files are skipped at every
level below the root. Files ending in `.parquet`, `.parq` or `.pq` are taken;
a folder holding none of those but other files (Hive writes `000000_0`) takes
those other files. A location naming a file directly is always taken.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:                       # fsspec is imported when a location is first
    import fsspec                       # opened: `SELECT 1` does not need it

from ..errors import ProgrammingError

PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
_GLOB_CHARS = ("*", "?", "[")

_fs_cache: dict[tuple[str, str], fsspec.AbstractFileSystem] = {}
_fs_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class FoundFile:
    path: str     # filesystem path (no protocol)
    size: int
    root: str     # folder below which Hive key=value folders are parsed


def protocol_of(fs: fsspec.AbstractFileSystem) -> str:
    proto = fs.protocol
    return proto[0] if isinstance(proto, (tuple, list)) else proto


def _options_key(storage_options: dict | None) -> str:
    return json.dumps(storage_options or {}, sort_keys=True, default=str)


def get_filesystem(protocol: str, storage_options: dict | None = None) -> fsspec.AbstractFileSystem:
    """A filesystem for `protocol`, cached per (protocol, options)."""
    key = (protocol, _options_key(storage_options))
    with _fs_lock:
        fs = _fs_cache.get(key)
        if fs is None:
            import fsspec
            fs = fsspec.filesystem(protocol, **(storage_options or {}))
            _fs_cache[key] = fs
        return fs


_base_dir: ContextVar[str | None] = ContextVar("quiver_base_dir", default=None)


@contextlib.contextmanager
def base_directory(folder: str | None):
    """Resolve relative local paths against `folder` (not this process's
    working directory) inside the block: a coordinator runs each client's
    statement against the client's folder. None changes nothing."""
    token = _base_dir.set(folder) if folder else None
    try:
        yield
    finally:
        if token is not None:
            _base_dir.reset(token)


def absolute(location: str) -> str:
    """A relative local path made absolute (against `base_directory`, else
    the working directory); URIs and absolute paths unchanged."""
    if "://" in location or os.path.isabs(location):
        return location
    base = _base_dir.get()
    return os.path.normpath(os.path.join(base, location)) if base else os.path.abspath(location)


def resolve(location: str, storage_options: dict | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """(filesystem, path without protocol) for one location string."""
    from fsspec.core import url_to_fs
    location = absolute(location)
    try:
        fs, path = url_to_fs(location, **(storage_options or {}))
    except (ValueError, ImportError) as e:
        raise ProgrammingError(f"cannot open location {location!r}: {e}") from None
    cached = get_filesystem(protocol_of(fs), storage_options)
    return cached, path


def has_glob(path: str) -> bool:
    return any(c in path for c in _GLOB_CHARS)


def _skipped(relpath: str) -> bool:
    for part in relpath.split("/"):
        if part.startswith(".") or part.startswith("_"):
            return True
    return relpath.endswith(".crc")


def _pick_parquet(files: dict[str, int]) -> dict[str, int]:
    parquet = {p: s for p, s in files.items() if p.lower().endswith(PARQUET_SUFFIXES)}
    return parquet if parquet else files


def _list_folder(fs, folder: str) -> list[FoundFile]:
    folder = folder.rstrip("/") or "/"
    found = fs.find(folder, withdirs=False, detail=True)
    files: dict[str, int] = {}
    for name, info in found.items():
        if info.get("type", "file") != "file":
            continue
        rel = posixpath.relpath(name, folder)
        if _skipped(rel):
            continue
        files[name] = int(info.get("size") or 0)
    return [FoundFile(p, s, folder) for p, s in sorted(_pick_parquet(files).items())]


def _glob_root(path: str) -> str:
    parts = path.split("/")
    for i, part in enumerate(parts):
        if has_glob(part):
            return "/".join(parts[:i]) or "/"
    return posixpath.dirname(path)


def _list_glob(fs, pattern: str) -> list[FoundFile]:
    root = _glob_root(pattern).rstrip("/") or "/"
    matches = fs.glob(pattern, detail=True)
    out: list[FoundFile] = []
    loose: dict[str, int] = {}
    for name, info in sorted(matches.items()):
        rel = posixpath.relpath(name, root)
        if _skipped(rel):
            continue
        if info.get("type") == "directory":
            out.extend(FoundFile(f.path, f.size, root) for f in _list_folder(fs, name))
        else:
            loose[name] = int(info.get("size") or 0)
    out.extend(FoundFile(p, s, root) for p, s in sorted(loose.items()))
    return out


def list_location(fs, path: str) -> list[FoundFile]:
    """Parquet files named by one location path on `fs` (maybe empty)."""
    if has_glob(path):
        return _list_glob(fs, path)
    if not fs.exists(path):
        return []
    if fs.isdir(path):
        return _list_folder(fs, path)
    info: dict[str, Any] = fs.info(path)
    return [FoundFile(info.get("name", path), int(info.get("size") or 0),
                      posixpath.dirname(path.rstrip("/")))]


def discover(locations: list[str], storage_options: dict | None = None
             ) -> tuple[fsspec.AbstractFileSystem, str, list[FoundFile]]:
    """Resolve every location (all on one filesystem) and list their files,
    without duplicates, in a stable order. Raises ProgrammingError naming the
    location when nothing is found."""
    if not locations:
        raise ProgrammingError("no location given")
    fs = protocol = None
    seen: dict[str, FoundFile] = {}
    for loc in locations:
        loc_fs, path = resolve(loc, storage_options)
        loc_proto = protocol_of(loc_fs)
        if fs is None:
            fs, protocol = loc_fs, loc_proto
        elif loc_proto != protocol:
            raise ProgrammingError(
                f"locations mix filesystems: {protocol!r} and {loc_proto!r} ({loc!r})")
        for f in list_location(fs, path):
            seen.setdefault(f.path, f)
    if not seen:
        shown = locations[0] if len(locations) == 1 else locations
        raise ProgrammingError(f"no Parquet files found at {shown!r}")
    return fs, protocol, list(seen.values())
