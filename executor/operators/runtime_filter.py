"""RuntimeFilterExec: keep the rows whose key is among a finished stage's
keys (planner/runtime_filters.py says where and why). A filter that keeps
nearly every row it tries stops filtering (TRIAL_ROWS, USELESS).

The build keys are read once per query in each process and shared by its
tasks (ctx.builds, like a broadcast join's build side): for an integer key
column, a bitmap over its range when the range is dense (a superset of the
key tuples: the join checks the rest), else a hash set (KeyEncoder,
reserved from the pool before its tables grow). Past max_build_rows
rows, or refused by the pool, the filter gives up and every row passes;
the join above the shuffle still gives the answer, so giving up costs time,
never rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ...planner.physical import RuntimeFilterExec
from .. import registry
from ..registry import implements
from ..kernels.arrow_buffers import key_words, mask_array, validity
from ..kernels.hash_tables import Int64Table
from ..kernels.key_filter import KeyFilter
from .join_build import key_arrays


class _GiveUp(Exception):
    """The build side is too large for a filter to pay, or the pool said no."""


# after this many probe rows, a filter that kept more than USELESS of them
# stops filtering (for every task of the query in this process): each row
# costs a hash lookup, and the join above would do the same work anyway
TRIAL_ROWS = 200_000
USELESS = 0.9


class _KeyFilter:
    """A set of build keys, and how well it filtered so far (tallies shared
    by the query's tasks; a lost update between threads only delays a
    verdict). `match(keys)` -> bool per row: True where the row may match."""

    def __init__(self, match) -> None:
        self.match = match
        self.seen = 0
        self.kept = 0
        self.useless = False

    def keep(self, keys: list) -> np.ndarray:
        mask = self.match(keys)
        self.seen += len(mask)
        self.kept += int(np.count_nonzero(mask))
        if self.seen >= TRIAL_ROWS and self.kept > USELESS * self.seen:
            self.useless = True
        return mask


class _Bitmap:
    """Integer keys of one column as a bitmap over their range: a superset
    of the build's key tuples (the join checks the rest), probed by a numba
    kernel in one pass (TPC-H Q4 at SF10: 573K order keys over a 60M range,
    7.5 MB of bits, for 38M lineitem rows; a hash set took ~29 ns a row)."""

    def __init__(self, column: int, keys: KeyFilter) -> None:
        self.column, self.keys = column, keys

    def __call__(self, keys: list) -> np.ndarray:
        arr = keys[self.column]
        return self.keys.contains(key_words(arr), validity(arr))


def _int_column(types) -> int | None:
    """The first key column whose values are integers (ints, dates)."""
    for i, t in enumerate(types):
        if pa.types.is_integer(t) or pa.types.is_date32(t):
            return i
    return None


# a bitmap may span at most this many values per build key (at least 2^20,
# at most BITMAP_MAX_BITS: 64 MiB)
BITMAP_BITS_PER_KEY = 1024
BITMAP_MAX_BITS = 1 << 29


@implements(RuntimeFilterExec)
def runtime_filter(node: RuntimeFilterExec, partition: int, ctx):
    keys = ctx.builds.get(ctx.query_key, ctx.build_key(node),
                          lambda: _build(node, ctx), ctx.cancelled)
    types = [k.dtype for k in node.right_keys]
    for batch in registry.execute(node.left, partition, ctx):
        if keys is None or keys.useless or batch.num_rows == 0:
            yield batch
            continue
        keep = keys.keep(key_arrays(node.left_keys, batch, types))
        if keep.all():
            yield batch
        elif keep.any():
            yield batch.filter(mask_array(keep))


def _build(node: RuntimeFilterExec, ctx):
    """(a _KeyFilter of the build keys, or None to pass every row; its release)."""
    res = ctx.reserve_shared("RuntimeFilter", node)
    types = [k.dtype for k in node.right_keys]
    column = _int_column(types)
    try:
        match = (_hash_match(node, ctx, res, types) if column is None
                 else _int_match(node, ctx, res, column))
    except _GiveUp:
        match = None
        res.resize(0)
    except BaseException:
        res.free()
        raise
    return (None if match is None else _KeyFilter(match)), res.free


def _build_batches(node: RuntimeFilterExec, ctx):
    rows = 0
    for batch in registry.execute(node.right, 0, ctx):
        ctx.check_cancelled()
        rows += batch.num_rows
        if rows > node.max_build_rows:
            raise _GiveUp()
        yield batch


def _int_match(node: RuntimeFilterExec, ctx, res, column: int):
    """A bitmap over one integer key column when its range is dense enough,
    else a hash set (Int64Table) of that column's values."""
    expr, parts, held = node.right_keys[column], [], 0
    for batch in _build_batches(node, ctx):
        arr = key_arrays([expr], batch, [expr.dtype])[0]
        words, valid = key_words(arr), validity(arr)
        words = words[valid] if valid is not None else words.copy()
        held += words.nbytes
        if not res.try_resize(held):
            raise _GiveUp()
        parts.append(words)
    values = np.concatenate(parts) if parts else np.empty(0, np.int64)
    del parts
    bits = min(BITMAP_MAX_BITS, max(1 << 20, BITMAP_BITS_PER_KEY * len(values)))
    if not res.try_resize(held + bits // 8):
        raise _GiveUp()
    found = KeyFilter.of_values(values, bits)
    if found is not None:
        res.resize(found.nbytes)
        return _Bitmap(column, found)
    table = Int64Table()
    table.grow_guard = _reserve_or_give_up(res)
    table.insert(values, nulls_as_key=False)
    del values
    if not res.try_resize(table.nbytes):
        raise _GiveUp()

    def match(keys: list) -> np.ndarray:
        arr = keys[column]
        return table.lookup(key_words(arr), validity(arr), nulls_as_key=False) >= 0
    return match


def _hash_match(node: RuntimeFilterExec, ctx, res, types):
    """A hash set of the build's key tuples (no integer key column)."""
    from ..kernels.key_encoder import KeyEncoder
    encoder = KeyEncoder(types, null_equals_null=False, grow_guard=_reserve_or_give_up(res))
    for batch in _build_batches(node, ctx):
        encoder.encode(key_arrays(node.right_keys, batch, types))
        # growth was reserved before it happened; what it replaced is gone
        if not res.try_resize(encoder.nbytes):
            raise _GiveUp()
    return lambda keys: np.asarray(encoder.lookup(keys)) >= 0


def _reserve_or_give_up(res):
    """A hash table's grow guard: reserve its next size, or give the filter up."""
    def reserve_growth(nbytes: int) -> None:
        if not res.try_grow(nbytes):
            raise _GiveUp()
    return reserve_growth
