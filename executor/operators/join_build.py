"""The build side of the hash join: read the right input, encode its join
keys to dense ids and index them (CSR, executor/kernels/join_index.py).

Also owns what both join sides share: evaluating and casting key
expressions to one common type per key. The per-query cache that lets the
tasks of a broadcast join (threads of one process) build the table once is
in join_broadcast_build.py.

Memory: the build rows and their index are reserved from the memory pool
(`ctx.reserve`, one reservation per build, held until the probe ends).
Refused, a join that can spill gets a BuildOverBudget back; one that cannot
(a keyless nested loop, NOT IN with a residual condition) MemoryLimitExceeded.

Not here: probing and the join kinds (hash_join.py), spilling a build side
the pool refuses (join_spill.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ...errors import DataError, NotSupportedError
from ... import datatypes as dt
from ..eval import evaluate
from ..functions.cast import cast_array
from ..kernels import join_index as ji
from ..kernels.grouped_agg import new_id_mask
from ..kernels.arrow_buffers import mask_array, validity

# --- expressions ---------------------------------------------------------------

def key_types(node) -> list[pa.DataType]:
    """The type each key pair is compared in (both sides cast to it)."""
    out = []
    for lk, rk in zip(node.left_keys, node.right_keys):
        t = dt.common_supertype(dt.normalize(lk.dtype), dt.normalize(rk.dtype))
        if t is None:
            raise NotSupportedError(
                f"cannot join {dt.sql_name(lk.dtype)} with {dt.sql_name(rk.dtype)} keys")
        out.append(dt.normalize(t))
    return out


def key_arrays(exprs, batch: pa.RecordBatch, types) -> list[pa.Array]:
    out = []
    for e, t in zip(exprs, types):
        arr = evaluate(e, batch)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if arr.type != t:
            # cast_array, not pc.cast: Arrow's decimal rescale can wrap around
            arr = cast_array(arr, t)
        out.append(arr)
    return out


def null_key_mask(arrays: list[pa.Array], n: int) -> np.ndarray:
    """bool per row: is any key column NULL?"""
    mask = np.zeros(n, dtype=np.bool_)
    for a in arrays:
        if a.null_count:
            mask |= ~validity(a)
    return mask


def arrow_schema(fields) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.dtype) for f in fields])


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` under the node's schema names and types (row count kept, also
    for a batch without columns)."""
    if batch.num_columns == 0 or batch.schema.equals(schema):
        return batch
    return pa.RecordBatch.from_arrays(batch.columns, schema=schema)


# --- the built table -------------------------------------------------------------

@dataclass
class BuildSide:
    batch: pa.RecordBatch          # every build row, one chunk, right schema
    ids: np.ndarray                # int64 key id per build row (-1: never matches)
    offsets: np.ndarray            # CSR over ids (join_index.build_csr)
    rows: np.ndarray
    encoder: object | None         # KeyEncoder; None for a keyless (nested-loop) join
    types: list = field(default_factory=list)
    null_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    nbytes: int = 0

    @property
    def num_rows(self) -> int:
        return self.batch.num_rows

    @property
    def num_keys(self) -> int:
        return self.offsets.shape[0] - 1


class _GrowthRefused(Exception):
    """The pool refused a key table's next size (raised from its grow guard)."""

    def __init__(self, nbytes: int):
        super().__init__(nbytes)
        self.nbytes = nbytes


@dataclass
class BuildOverBudget:
    """What build_side returns when the pool refused the build side while it
    was read: `held` are the batches read so far, `rest` the rest of the same
    input (a spilling join writes both out, see join_spill.py), `nbytes`
    what was asked for. Returned, not raised: a raised exception's traceback
    keeps build_side's frame (its key tables and id arrays, ~1 GB for TPC-H
    Q9 at SF30 under 1GB) alive, unreserved, for as long as the caller holds
    it: memray showed them alive through a whole grace join."""
    held: list
    rest: object
    nbytes: int


def stored_rows(node, partition: int, ctx) -> int | None:
    """The rows a join input will yield when it reads a stage output whose
    store counts them (the embedded engine's: MemoryShuffleStore); None
    otherwise (a pipeline, a worker's Flight store)."""
    from ...planner.physical import ShuffleReadExec
    rows = getattr(ctx.shuffle, "partition_rows", None)
    if rows is None or not isinstance(node, ShuffleReadExec):
        return None
    return rows(node.stage_id, None if node.mode == "all" else partition)


def build_side(node, batches, ctx, res, spillable: bool = False,
               expected_rows: int | None = None) -> BuildSide | BuildOverBudget:
    """Read the right input (`batches`, an iterator) whole and index it,
    holding it in the reservation `res`. Refused: a BuildOverBudget is
    returned if `spillable`, else MemoryLimitExceeded is raised.
    `expected_rows` (the rows coming, when the input's store knows) sizes
    the key table once, if the pool grants it, instead of doubling."""
    schema = arrow_schema(node.right.schema)
    keyed = bool(node.right_keys)
    types = key_types(node) if keyed else []
    held_batches, id_parts, null_parts = [], [], []
    held, base, table_bytes = 0, 0, 0

    def reserve_growth(nbytes: int) -> None:
        """A key table is about to allocate `nbytes` more (its old arrays
        are freed after the insert: see the reconciliation below)."""
        nonlocal held, table_bytes
        if not res.try_grow(nbytes):
            if spillable:
                raise _GrowthRefused(nbytes)
            res.grow(nbytes)              # cannot spill: MemoryLimitExceeded
        held += nbytes
        table_bytes += nbytes

    encoder = None
    if keyed:
        from ..kernels.key_encoder import KeyEncoder
        nen = node.null_equals_null and node.kind != "null_aware_anti"
        encoder = KeyEncoder(types, null_equals_null=nen, grow_guard=reserve_growth)
        # an empty table's fixed capacity is not reserved (as in aggregate_groups)
        table_bytes = encoder.nbytes
        need = encoder.presize_bytes(expected_rows) if expected_rows else 0
        if need and res.try_grow(need):
            encoder.presize(expected_rows)
            res.shrink(need - (encoder.nbytes - table_bytes))   # the old arrays are gone
            held += encoder.nbytes - table_bytes
            table_bytes = encoder.nbytes
    # semi/anti joins without a condition only ask whether a key exists:
    # keep one build row per key (and one NULL-key row), so a skewed key costs one row
    distinct_only = keyed and node.condition is None and node.kind in (
        "semi", "anti", "null_aware_anti")
    it = iter(batches)
    for b in it:
        ctx.check_cancelled()
        if b.num_rows == 0:
            continue
        b = conform(b, schema)
        kept_ids = None
        if distinct_only:
            try:
                b, kept_ids = _new_keys_only(node, b, types, encoder,
                                             any(part.size for part in null_parts))
            except _GrowthRefused as e:
                return BuildOverBudget(held_batches + [b], it, held + e.nbytes)
            if b.num_rows == 0:
                continue
        need = b.nbytes + 8 * b.num_rows
        if not res.try_grow(need):
            if spillable:
                return BuildOverBudget(held_batches + [b], it, held + need)
            res.grow(need)                # cannot spill: MemoryLimitExceeded
        held_batches.append(b)
        held += need
        if keyed:
            keys = key_arrays(node.right_keys, b, types)
            refused = 0
            try:
                id_parts.append(kept_ids if kept_ids is not None
                                else np.asarray(encoder.encode(keys), dtype=np.int64))
            except _GrowthRefused as e:
                refused = e.nbytes
            if refused:
                return BuildOverBudget(held_batches, it, held + refused)
            if node.kind == "null_aware_anti":
                null_parts.append(np.flatnonzero(null_key_mask(keys, b.num_rows)) + base)
            # the key hash tables are held too (at 15M build rows, ~256 MB):
            # growth was reserved before it happened; the arrays it replaced
            # are gone now (a negative change), small growths are counted here
            grown = encoder.nbytes - table_bytes
            if grown < 0:
                res.shrink(-grown)
            elif grown > 0 and not res.try_grow(grown):
                if spillable:
                    return BuildOverBudget(held_batches, it, held + grown)
                res.grow(grown)
            table_bytes += grown
            held += grown
        base += b.num_rows
    n = base
    num_keys = int(encoder.num_keys) if keyed else (1 if n else 0)
    # one chunk of rows, one id array and the CSR index are made next, while
    # the parts they come from are still held: reserve the copies first
    copies = (sum(b.nbytes for b in held_batches) if len(held_batches) > 1 else 0)
    # the CSR index, and the probe's key filters (hash_tables.Int64Table makes
    # one per table on the first lookups, at most 64 bits per key: the key
    # encoder has a table per column and one per column after the first)
    filters = 8 * num_keys * (2 * len(types) - 1) if keyed else 0
    index = 8 * (num_keys + 1) + 8 * n + filters
    extra = copies + (8 * n if len(id_parts) > 1 else 0)
    if not res.try_grow(index + extra):
        if spillable:
            return BuildOverBudget(held_batches, iter(()), held + index + extra)
        res.grow(index + extra)
    if held_batches:
        batch = (held_batches[0] if len(held_batches) == 1
                 else pa.concat_batches(held_batches))
    else:
        batch = pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
    del held_batches
    if keyed:
        ids = np.concatenate(id_parts) if id_parts else np.empty(0, np.int64)
    else:
        ids = np.zeros(n, dtype=np.int64)
    del id_parts
    res.shrink(extra)                     # the parts are gone; their copies remain
    offsets, rows = ji.build_csr(ids, num_keys)
    null_rows = np.concatenate(null_parts) if null_parts else np.empty(0, np.int64)
    held += index
    return BuildSide(batch, ids, offsets, rows, encoder, types, null_rows, held)


def _new_keys_only(node, b: pa.RecordBatch, types, encoder, seen_null: bool):
    """The rows of `b` whose key the encoder had not seen (the first one per
    key), plus its first NULL-key row when none was kept before, and their
    key ids. Encodes the batch: new keys get ids in row order, so a row is
    the first of a new key when its id passes every id before it (one pass,
    kernels.grouped_agg.new_id_mask; a second table per batch and a sort to
    find first rows cost 90 ms of a 150 ms NOT IN over 360K keys)."""
    keys = key_arrays(node.right_keys, b, types)
    before = int(encoder.num_keys)
    ids = np.asarray(encoder.encode(keys), dtype=np.int64)
    keep = new_id_mask(ids, before)
    if node.kind == "null_aware_anti" and not seen_null:
        nulls = null_key_mask(keys, b.num_rows)
        if nulls.any():
            keep[int(np.flatnonzero(nulls)[0])] = True
    if keep.all():
        return b, ids
    return b.filter(mask_array(keep)), ids[keep]
