"""Hash-join index kernels: a CSR index over build-side key ids, probing it,
and the flag bookkeeping outer, semi and anti joins need.

Key ids come from `KeyEncoder` (dense int64 ids, -1 = this row never
matches, e.g. a NULL key). The index groups build rows by id:

    build ids   [2, 0, 2, -1, 0]        num_keys = 3
    offsets     [0, 2, 2, 4]            (id k owns rows[offsets[k]:offsets[k+1]])
    rows        [1, 4, 0, 2]            (row order kept inside each id)

Probing is two-pass: `match_counts` gives each probe row's number of build
matches; its running sum `pair_starts` (length n+1) numbers every candidate
pair, and `fill_pairs` writes any slice [start, stop) of that numbering, so an
operator can emit the candidate pairs in chunks of bounded size even when one
probe row matches millions of build rows.

`remix` re-hashes key hashes for the sub-partitions of a spilling join.

This module owns only numpy-in, numpy-out numba kernels; it knows nothing
of Arrow, expressions or join kinds (executor/operators/hash_join.py does).
"""

from __future__ import annotations

import numpy as np
from .jit import njit

from .hashing import fmix64


@njit(cache=True, nogil=True)
def build_csr(ids, num_keys):
    """(offsets int64[num_keys+1], rows int64[m]) for build-side `ids`; rows
    whose id is -1 (or out of range) are left out."""
    n = ids.shape[0]
    counts = np.zeros(num_keys + 1, dtype=np.int64)
    for i in range(n):
        k = ids[i]
        if 0 <= k < num_keys:
            counts[k + 1] += 1
    offsets = np.empty(num_keys + 1, dtype=np.int64)
    offsets[0] = 0
    for k in range(num_keys):
        offsets[k + 1] = offsets[k] + counts[k + 1]
    cursor = offsets[:num_keys].copy()
    rows = np.empty(offsets[num_keys], dtype=np.int64)
    for i in range(n):
        k = ids[i]
        if 0 <= k < num_keys:
            rows[cursor[k]] = i
            cursor[k] += 1
    return offsets, rows


@njit(cache=True, nogil=True)
def unique_pairs(probe_ids, rows):
    """(probe_idx, build_idx) of every match when each key has exactly one
    build row (`rows` of a CSR whose offsets are 0..num_keys): one pass
    instead of match_counts, pair_starts and fill_pairs. Probe order."""
    n = probe_ids.shape[0]
    num_keys = rows.shape[0]
    probe_idx = np.empty(n, dtype=np.int64)
    build_idx = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        k = probe_ids[i]
        if 0 <= k < num_keys:
            probe_idx[m] = i
            build_idx[m] = rows[k]
            m += 1
    return probe_idx[:m], build_idx[:m]


@njit(cache=True, nogil=True)
def match_counts(probe_ids, offsets):
    """int64 number of build rows each probe row matches."""
    n = probe_ids.shape[0]
    num_keys = offsets.shape[0] - 1
    out = np.zeros(n, dtype=np.int64)
    for i in range(n):
        k = probe_ids[i]
        if 0 <= k < num_keys:
            out[i] = offsets[k + 1] - offsets[k]
    return out


@njit(cache=True, nogil=True)
def pair_starts(counts):
    """int64[n+1]: pair_starts[i] is the number of candidate pairs before
    probe row i; the last entry is the total."""
    n = counts.shape[0]
    out = np.empty(n + 1, dtype=np.int64)
    out[0] = 0
    for i in range(n):
        out[i + 1] = out[i] + counts[i]
    return out


@njit(cache=True, nogil=True)
def fill_pairs(probe_ids, offsets, rows, starts, start, stop):
    """Candidate pairs numbered [start, stop) as (probe_idx, build_idx) int64
    arrays; `starts` is `pair_starts(match_counts(probe_ids, offsets))`."""
    total = starts[starts.shape[0] - 1]
    if stop > total:
        stop = total
    if start >= stop:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    m = stop - start
    probe_idx = np.empty(m, dtype=np.int64)
    build_idx = np.empty(m, dtype=np.int64)
    i = np.searchsorted(starts, start, side="right") - 1
    pos = start
    out = 0
    while out < m:
        k = probe_ids[i]
        first = starts[i]
        cnt = starts[i + 1] - first
        if cnt > 0:
            base = offsets[k]
            j = pos - first
            while j < cnt and out < m:
                probe_idx[out] = i
                build_idx[out] = rows[base + j]
                out += 1
                j += 1
            pos = first + j
        i += 1
    return probe_idx, build_idx


@njit(cache=True, nogil=True)
def probe_has_match(probe_ids, offsets):
    """bool per probe row: does it match at least one build row?"""
    n = probe_ids.shape[0]
    num_keys = offsets.shape[0] - 1
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        k = probe_ids[i]
        if 0 <= k < num_keys and offsets[k + 1] > offsets[k]:
            out[i] = True
    return out


@njit(cache=True, nogil=True)
def mark_ids(probe_ids, seen):
    """seen[k] = True for every id k >= 0 in `probe_ids` (in place)."""
    n = seen.shape[0]
    for i in range(probe_ids.shape[0]):
        k = probe_ids[i]
        if 0 <= k < n:
            seen[k] = True


@njit(cache=True, nogil=True)
def build_rows_matched(build_ids, seen):
    """bool per build row: was its id seen by the probe side?"""
    n = build_ids.shape[0]
    m = seen.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        k = build_ids[i]
        if 0 <= k < m and seen[k]:
            out[i] = True
    return out


@njit(cache=True, nogil=True)
def mark_where(idx, mask, flags):
    """flags[idx[p]] = True for every candidate pair p whose mask is True (in
    place): which probe rows (idx = probe_idx) or build rows (idx =
    build_idx) have at least one pair surviving the residual condition."""
    for p in range(idx.shape[0]):
        if mask[p]:
            flags[idx[p]] = True


@njit(cache=True, nogil=True)
def mark_all(idx, flags):
    """flags[idx[p]] = True for every p (in place)."""
    for p in range(idx.shape[0]):
        flags[idx[p]] = True


@njit(cache=True, nogil=True)
def remix(hashes, salt):
    """uint64 hashes re-mixed with `salt`, so rows that share a shuffle
    partition (the high bits of their hash) spread again when a spilling
    join splits them into sub-partitions with `partition_rows`."""
    out = np.empty(hashes.shape[0], dtype=np.uint64)
    s = np.uint64(salt)
    for i in range(hashes.shape[0]):
        out[i] = fmix64(hashes[i] ^ s)
    return out


__all__ = [
    "build_csr", "match_counts", "pair_starts", "fill_pairs", "probe_has_match",
    "mark_ids", "build_rows_matched", "mark_where", "mark_all", "remix",
]
