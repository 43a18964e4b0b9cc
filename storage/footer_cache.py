"""Parsed Parquet footers of local files, kept between reads.

A scan task opens each of its splits' files, and pyarrow parses the footer
on every open: a TPC-H SF10 lineitem footer (524 row groups) is 1 MB of
Thrift, parsed again for each of the ~40 splits of every query reading it
(4.5% of TPC-H Q6's time). Footers are kept by (path, size, mtime), so a
rewritten file is read afresh; remote files are not cached (a same-size
rewrite could not be told apart). Few are kept: a footer can hold megabytes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import pyarrow.parquet as pq

_MAX_FOOTERS = 32

_lock = threading.Lock()
_footers: OrderedDict[tuple, pq.FileMetaData] = OrderedDict()


def local_footer(path: str) -> pq.FileMetaData:
    """The footer of the local Parquet file at `path` (parsed at most once
    while the file is unchanged and recently used)."""
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    with _lock:
        meta = _footers.get(key)
        if meta is not None:
            _footers.move_to_end(key)
            return meta
    meta = pq.read_metadata(path)
    with _lock:
        _footers[key] = meta
        while len(_footers) > _MAX_FOOTERS:
            _footers.popitem(last=False)
    return meta


def clear() -> None:
    with _lock:
        _footers.clear()
