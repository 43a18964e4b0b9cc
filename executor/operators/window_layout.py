"""The shape of one window specification over a partition's rows: the sort
order (PARTITION BY keys, then ORDER BY keys), where each window partition
and each peer group (rows tied on the ORDER BY keys) begins and ends, and
the frame [start, end) of every row.

Everything is computed once per (PARTITION BY, ORDER BY) with numpy over the
sorted rows; positions are *window order* positions (row i of the sorted
rows), `perm[i]` is the input row at window position i and `inv` the reverse.
Used by window.py (the operator) and the function modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import NotSupportedError
from ...planner.expr import SortKey, WindowCall
from ..kernels.sort_order import sort_indices
from ..kernels.window_frames import range_lower, range_upper
from .window_range import key_as_float, range_targets


@dataclass
class Layout:
    n: int
    perm: np.ndarray             # window position -> input row
    inv: np.ndarray              # input row -> window position
    identity: bool               # perm is 0..n-1 (input already in order)
    part_start: np.ndarray       # bool: first row of a window partition
    peer_start: np.ndarray       # bool: first row of a peer group
    pb: np.ndarray               # int64 partition [pb, pe) of each row
    pe: np.ndarray
    peer_b: np.ndarray           # int64 peer group [peer_b, peer_e) of each row
    peer_e: np.ndarray
    order_keys: tuple[SortKey, ...]
    order_sorted: list           # ORDER BY key arrays in window order

    def take(self, arr: pa.Array) -> pa.Array:
        """An input-order array in window order."""
        return arr if self.identity else arr.take(pa.array(self.perm))

    def untake(self, arr: pa.Array) -> pa.Array:
        """A window-order array back in input order."""
        return arr if self.identity else arr.take(pa.array(self.inv))


def _plain(arr):
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    return arr


def change_flags(arr: pa.Array) -> np.ndarray:
    """bool per row: True where the value differs from the previous row's
    (NULL equals NULL, NaN equals NaN); row 0 is True."""
    arr = _plain(arr)
    n = len(arr)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    out[0] = True
    if n == 1 or pa.types.is_null(arr.type):
        return out
    a, b = arr.slice(1), arr.slice(0, n - 1)
    differ = pc.fill_null(pc.not_equal(a, b), False)
    if arr.null_count:
        differ = pc.or_(differ, pc.xor(pc.is_null(a), pc.is_null(b)))
    if pa.types.is_floating(arr.type):
        both_nan = pc.and_(pc.fill_null(pc.is_nan(a), False), pc.fill_null(pc.is_nan(b), False))
        differ = pc.and_(differ, pc.invert(both_nan))
    out[1:] = differ.to_numpy(zero_copy_only=False)
    return out


def _spans(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[begin, end) of the run each row belongs to, from run-start flags."""
    n = len(starts)
    first = np.flatnonzero(starts)
    run = np.cumsum(starts) - 1
    ends = np.append(first[1:], n)
    return first[run].astype(np.int64), ends[run].astype(np.int64)


def build_layout(part_arrays: list, order_arrays: list,
                 order_keys: tuple[SortKey, ...], n: int) -> Layout:
    part_arrays = [_plain(a) for a in part_arrays]
    order_arrays = [_plain(a) for a in order_arrays]
    keys = [SortKey(None, True, False)] * len(part_arrays) + list(order_keys)
    if part_arrays or order_arrays:
        perm = sort_indices(part_arrays + order_arrays, keys)
    else:
        perm = np.arange(n, dtype=np.int64)
    identity = bool(np.array_equal(perm, np.arange(n)))
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n, dtype=np.int64)
    pidx = None if identity else pa.array(perm)
    part_sorted = [a if identity else a.take(pidx) for a in part_arrays]
    order_sorted = [a if identity else a.take(pidx) for a in order_arrays]
    part_start = np.zeros(n, dtype=bool)
    if n:
        part_start[0] = True
    for a in part_sorted:
        part_start |= change_flags(a)
    peer_start = part_start.copy()
    for a in order_sorted:
        peer_start |= change_flags(a)
    pb, pe = _spans(part_start)
    peer_b, peer_e = _spans(peer_start)
    return Layout(n, perm, inv, identity, part_start, peer_start, pb, pe,
                  peer_b, peer_e, tuple(order_keys), order_sorted)


def frame_bounds(layout: Layout, call: WindowCall) -> tuple[np.ndarray, np.ndarray]:
    """Frame [fs, fe) of every row (window positions), never fs > fe."""
    frame = call.frame
    lay = layout
    if frame is None:
        fe = lay.peer_e if call.order_by else lay.pe
        return lay.pb, fe
    i = np.arange(lay.n, dtype=np.int64)
    if frame.mode == "rows":
        fs = lay.pb if frame.start is None else np.clip(i + frame.start, lay.pb, lay.pe)
        fe = lay.pe if frame.end is None else np.clip(i + frame.end + 1, lay.pb, lay.pe)
    elif frame.mode == "range":
        fs = _range_bound(lay, frame.start, lower=True)
        fe = _range_bound(lay, frame.end, lower=False)
    else:
        raise NotSupportedError(f"window frame mode {frame.mode!r}")
    return fs, np.maximum(fe, fs)


def _range_bound(lay: Layout, offset, lower: bool) -> np.ndarray:
    if offset is None:
        return lay.pb if lower else lay.pe
    if offset == 0:
        return lay.peer_b if lower else lay.peer_e
    if len(lay.order_sorted) != 1:
        raise NotSupportedError("RANGE with an offset needs exactly one ORDER BY key")
    key = lay.order_keys[0]
    arr = lay.order_sorted[0]
    w = key_as_float(arr)
    if not key.ascending:
        w = -w
    target = range_targets(arr, w, offset, key.ascending)
    isnull = np.zeros(lay.n, dtype=bool) if not arr.null_count else \
        arr.is_null().to_numpy(zero_copy_only=False)
    nulls_before = np.concatenate(([0], np.cumsum(isnull)))
    nn = nulls_before[lay.pe] - nulls_before[lay.pb]
    lo, hi = (lay.pb + nn, lay.pe) if key.nulls_first else (lay.pb, lay.pe - nn)
    bound = range_lower(w, lo, hi, target) if lower else range_upper(w, lo, hi, target)
    if arr.null_count:           # a NULL key's frame is its peer group (the NULLs)
        bound = np.where(isnull, lay.peer_b if lower else lay.peer_e, bound)
    return bound


def _spec_key(call) -> tuple:
    key = (call.partition_by, call.order_by)
    try:
        hash(key)
    except TypeError:             # an unhashable literal: give it its own sort
        return (id(call),)
    return key


def group_calls(exprs) -> dict:
    """{(PARTITION BY, ORDER BY): [positions of the calls with it]}: the
    calls that one sort serves."""
    groups: dict = {}
    for j, call in enumerate(exprs):
        groups.setdefault(_spec_key(call), []).append(j)
    return groups
