"""Aggregates computed from all of a group's rows at once (single mode only,
no partial form; planner/functions_agg.COLLECTED):

    arg_min(x, y) / arg_max(x, y)    x of the row with the least / greatest y
                                     (rows with a NULL x or y are skipped; ties:
                                     the first row met)
    string_agg_ordered(x, sep, keys) string_agg(x, sep ORDER BY ...)
    first_ordered(x, keys)           first(x ORDER BY ...): NULL when the
                                     first row's x is NULL

`keys` is (key, descending?, nulls first?) per ORDER BY term. The operator
keeps each batch's group ids and argument columns (accounted like any
aggregate state), then one Arrow sort per aggregate orders every group's
rows; the answer per group is read from group boundaries with numpy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import NotSupportedError
from ..functions.cast import cast_array
from ..kernels.arrow_buffers import decode, mask_array, mask_values


class Collect:
    """Accumulator for one COLLECTED aggregate (see the module docstring)."""

    wants_all_args = True

    def __init__(self, agg):
        self.fn = agg.fn
        self.agg = agg
        self.ids: list[np.ndarray] = []
        self.args: list[list[pa.Array]] = []

    def update(self, ids, n, args, mask):
        args = [decode(a) if isinstance(a, pa.Array) else a for a in args]
        if mask is not None:
            keep = mask_array(mask)
            ids = ids[mask]
            args = [a.filter(keep) for a in args]
        self.ids.append(np.asarray(ids, dtype=np.int64))
        self.args.append(args)

    def merge(self, ids, n, states):
        raise NotSupportedError(f"{self.fn} has no partial form")

    def state(self, n):
        raise NotSupportedError(f"{self.fn} has no partial form")

    # -- the answer ------------------------------------------------------------
    def _columns(self):
        ids = np.concatenate(self.ids) if self.ids else np.zeros(0, np.int64)
        width = len(self.agg.args)
        cols = []
        for j in range(width):
            parts = [a[j] for a in self.args]
            if parts:
                cols.append(pa.concat_arrays([p.combine_chunks() if isinstance(
                    p, pa.ChunkedArray) else p for p in parts]))
            else:
                cols.append(pa.array([], self.agg.args[j].dtype))
        return ids, cols

    def result(self, n) -> pa.Array:
        ids, cols = self._columns()
        if self.fn in ("arg_min", "arg_max"):
            return self._arg_extreme(n, ids, cols)
        return self._ordered(n, ids, cols)

    @staticmethod
    def _sorted(ids: np.ndarray, keys: list[tuple[pa.Array, bool, bool]],
                keep: np.ndarray) -> np.ndarray:
        """Row positions with keep, ordered by group, then the keys, then input
        order (so ties go to the first row met)."""
        rows = np.flatnonzero(keep)
        data = {"g": pa.array(ids[rows])}
        order = [("g", "ascending")]
        for i, (key, desc, nulls_first) in enumerate(keys):
            key = key.take(pa.array(rows))
            data[f"n{i}"] = pc.is_null(key)
            order.append((f"n{i}", "descending" if nulls_first else "ascending"))
            data[f"k{i}"] = key
            order.append((f"k{i}", "descending" if desc else "ascending"))
        data["pos"] = pa.array(np.arange(len(rows)))
        order.append(("pos", "ascending"))
        idx = pc.sort_indices(pa.table(data), sort_keys=order)
        return rows[idx.to_numpy(zero_copy_only=False)]

    @staticmethod
    def _bounds(sorted_ids: np.ndarray, n: int):
        """(first position, count) of each group 0..n-1 in a group-sorted array."""
        counts = np.bincount(sorted_ids, minlength=n)[:n]
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if n else np.zeros(0, np.int64)
        return starts.astype(np.int64), counts

    def _pick(self, n, ids, order, values: pa.Array) -> pa.Array:
        starts, counts = self._bounds(ids[order], n)
        has = counts > 0
        take = np.where(has, order[np.minimum(starts, max(len(order) - 1, 0))], 0)
        if not len(order):
            return pa.nulls(n, self.agg.dtype)
        out = values.take(pa.array(take))
        return pc.if_else(pa.array(has), out, pa.scalar(None, out.type))

    def _arg_extreme(self, n, ids, cols) -> pa.Array:
        x, y = cols
        keep = mask_values(pc.and_(x.is_valid(), y.is_valid()))
        order = self._sorted(ids, [(y, self.fn == "arg_max", False)], keep)
        return self._pick(n, ids, order, x).cast(self.agg.dtype)

    def _ordered(self, n, ids, cols) -> pa.Array:
        first_key = 2 if self.fn == "string_agg_ordered" else 1
        specs = self.agg.args[first_key:]
        keys = [(cols[first_key + i], bool(specs[i + 1].value), bool(specs[i + 2].value))
                for i in range(0, len(specs), 3)]
        x = cols[0]
        if self.fn == "first_ordered":
            order = self._sorted(ids, keys, np.ones(len(ids), dtype=bool))
            return self._pick(n, ids, order, x)
        keep = mask_values(x.is_valid())
        order = self._sorted(ids, keys, keep)
        starts, counts = self._bounds(ids[order], n)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        sep = self.agg.args[1].value
        lists = pa.ListArray.from_arrays(pa.array(offsets), x.take(pa.array(order)),
                                         mask=pa.array(counts == 0))
        return pc.binary_join(lists, "" if sep is None else str(sep))
