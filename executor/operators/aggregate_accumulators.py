"""Per-aggregate state for the hash aggregate operator (aggregate.py).

One accumulator per AggCall holds growable numpy state indexed by dense
group id and knows four things:

- `update(ids, n, arg, mask)`: fold raw input rows (modes single/partial);
  `arg` is the evaluated argument (None for count_star), `mask` the FILTER
  result as bools (None: every row);
- `merge(ids, n, states)`: fold partial state columns (mode final);
- `state(n)`: the partial state columns, laid out as
  planner/aggregate_state.py says;
- `result(n)`: the final values, of the AggCall's dtype.

The folding itself is done by the numba kernels of
executor/kernels/grouped_agg.py; types numba cannot order (strings,
binaries) fall back to pyarrow's grouped min/max. SQL semantics: NULLs are
ignored, count of nothing is 0, everything else of nothing is NULL.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import DataError, NotSupportedError
from ... import datatypes as dt
from ...planner.aggregate_state import VARIANCE_FNS, sum_state_type
from ...planner.expr import AggCall, Literal
from ...planner.functions_agg import COLLECTED
from ..functions.cast import cast_array
from ..kernels import grouped_agg as K
from ..kernels.grouped_variance import batch_moments
from ..kernels.arrow_buffers import (bitmap_buffer, decimal_from_words, decimal_words,
                                     decode, key_words, mask_array, validity)
from ..kernels.key_encoder import KeyEncoder

_EMPTY = np.zeros(0, dtype=np.bool_)


def _grown(arr: np.ndarray, n: int, fill) -> np.ndarray:
    if len(arr) >= n:
        return arr
    new = np.full(max(n, 2 * len(arr), 16), fill, dtype=arr.dtype)
    new[:len(arr)] = arr
    return new


def _valid(arr: pa.Array | None, mask: np.ndarray | None) -> np.ndarray:
    v = validity(arr) if arr is not None else None
    if mask is not None:
        v = mask if v is None else (v & mask)
    return _EMPTY if v is None else v


def _kind(t: pa.DataType) -> str:
    if dt.is_decimal(t):
        if not pa.types.is_decimal128(t):
            raise NotSupportedError(f"aggregates over {t} are not supported")
        return "decimal"
    if dt.is_floating(t):
        return "float"
    if pa.types.is_unsigned_integer(t):
        return "uint"
    if (dt.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_date(t)
            or pa.types.is_timestamp(t) or pa.types.is_time(t) or pa.types.is_duration(t)):
        return "int"
    return "generic"


def _words_to_arrow(words: np.ndarray, valid: np.ndarray | None, t: pa.DataType) -> pa.Array:
    mask = None if valid is None or valid.all() else ~valid
    if pa.types.is_boolean(t):
        return pa.array(words != 0, type=t, mask=mask)
    if dt.is_floating(t):
        return pa.array(words.astype(f"float{t.bit_width}"), type=t, mask=mask)
    np_t = f"uint{t.bit_width}" if pa.types.is_unsigned_integer(t) else f"int{t.bit_width}"
    vals = np.ascontiguousarray(words.astype(np_t))
    nulls = 0 if mask is None else int(mask.sum())
    return pa.Array.from_buffers(t, len(vals), [bitmap_buffer(valid), pa.py_buffer(vals)],
                                 null_count=nulls)


def _numeric_values(arr: pa.Array, kind: str) -> np.ndarray:
    if kind == "float":
        return np.asarray(decode(arr).cast(pa.float64()).to_numpy(zero_copy_only=False),
                          dtype=np.float64)
    words = key_words(arr)
    return words.view(np.uint64) if kind == "uint" else words


def _take_or_null(values: pa.Array, idx: np.ndarray) -> pa.Array:
    """values.take(idx) with NULL where idx < 0."""
    mask = idx < 0
    return values.take(pa.array(np.where(mask, 0, idx), mask=mask if mask.any() else None)) \
        if len(values) else pa.nulls(len(idx), values.type)


class Accumulator:
    def update(self, ids, n, arg, mask):
        raise NotImplementedError

    def merge(self, ids, n, states):
        self.update(ids, n, states[0], None)

    def state(self, n) -> list[pa.Array]:
        return [self.result(n)]

    def result(self, n) -> pa.Array:
        raise NotImplementedError


class Count(Accumulator):
    def __init__(self):
        self.counts = np.zeros(0, dtype=np.int64)

    def update(self, ids, n, arg, mask):
        self.counts = _grown(self.counts, n, 0)
        K.count_rows(ids, _valid(arg, mask), self.counts)

    def merge(self, ids, n, states):
        self.counts = _grown(self.counts, n, 0)
        K.add_counts(ids, key_words(states[0]), _valid(states[0], None), self.counts)

    def result(self, n):
        return pa.array(_grown(self.counts, n, 0)[:n], type=pa.int64())


class Sum(Accumulator):
    """Sums in the state type: int64, float64, or 128-bit decimal words."""

    def __init__(self, arg_type: pa.DataType):
        self.state_type = sum_state_type(arg_type)
        self.kind = "decimal" if dt.is_decimal(self.state_type) else (
            "int" if self.state_type == dt.INT64 else "float")
        zero_t = np.float64 if self.kind == "float" else np.int64
        self.sums = np.zeros(0, dtype=zero_t)
        self.lo = np.zeros(0, dtype=np.uint64)
        self.seen = np.zeros(0, dtype=np.bool_)

    def update(self, ids, n, arg, mask):
        self.seen = _grown(self.seen, n, False)
        valid = _valid(arg, mask)
        if self.kind == "decimal":
            self.sums = _grown(self.sums, n, 0)
            self.lo = _grown(self.lo, n, 0)
            lo, hi = decimal_words(arg)
            if K.sum_decimal128(ids, lo, hi, valid, self.lo, self.sums, self.seen):
                raise DataError("sum of DECIMAL values is out of range")
        elif self.kind == "int":
            self.sums = _grown(self.sums, n, 0)
            if K.sum_int64(ids, key_words(arg), valid, self.sums, self.seen):
                raise DataError("sum out of range for BIGINT")
        else:
            self.sums = _grown(self.sums, n, 0.0)
            K.sum_float64(ids, _numeric_values(arg, "float"), valid, self.sums, self.seen)

    def result(self, n):
        seen = _grown(self.seen, n, False)[:n]
        if self.kind == "decimal":
            return decimal_from_words(_grown(self.lo, n, 0)[:n], _grown(self.sums, n, 0)[:n],
                                      seen, self.state_type)
        return _words_to_arrow(_grown(self.sums, n, 0)[:n], seen, self.state_type)


class Avg(Accumulator):
    def __init__(self, arg_type: pa.DataType):
        self.sum = Sum(arg_type)
        self.count = Count()
        self.owns_sum = True

    def share_sum(self, other: Sum) -> None:
        """Read the sums of a sum() over the same values (make_accumulators)
        instead of adding them up a second time."""
        self.sum, self.owns_sum = other, False

    def update(self, ids, n, arg, mask):
        if self.owns_sum:
            self.sum.update(ids, n, arg, mask)
        self.count.update(ids, n, arg, mask)

    def merge(self, ids, n, states):
        if self.owns_sum:
            self.sum.update(ids, n, states[0], None)
        self.count.merge(ids, n, states[1:])

    def state(self, n):
        return [self.sum.result(n), self.count.result(n)]

    def result(self, n):
        # a decimal sum is exact; it is rounded to float64 once, then divided
        total = cast_array(self.sum.result(n), pa.float64()).to_numpy(zero_copy_only=False)
        count = _grown(self.count.counts, n, 0)[:n]
        empty = count == 0
        out = total / np.where(empty, 1, count)
        return pa.array(out, type=pa.float64(), mask=empty if empty.any() else None)


class MinMax(Accumulator):
    """min, max (and bool_and = min, bool_or = max over booleans)."""

    def __init__(self, arg_type: pa.DataType, is_max: bool):
        self.type = arg_type
        self.is_max = is_max
        self.kind = _kind(arg_type)
        self.seen = np.zeros(0, dtype=np.bool_)
        self.acc = np.zeros(0, dtype={"float": np.float64, "uint": np.uint64}.get(self.kind, np.int64))
        self.lo = np.zeros(0, dtype=np.uint64)
        self.chunks: list[tuple[np.ndarray, pa.Array]] = []    # generic kind
        self.chunk_rows = 0

    def update(self, ids, n, arg, mask):
        valid = _valid(arg, mask)
        if self.kind == "generic":
            return self._update_generic(ids, n, arg, valid)
        self.seen = _grown(self.seen, n, False)
        self.acc = _grown(self.acc, n, 0)
        if self.kind == "decimal":
            self.lo = _grown(self.lo, n, 0)
            lo, hi = decimal_words(arg)
            K.min_max_decimal128(ids, lo, hi, valid, self.lo, self.acc, self.seen, self.is_max)
        elif self.kind == "float":
            K.min_max_float(ids, _numeric_values(arg, "float"), valid, self.acc, self.seen,
                            self.is_max)
        else:
            K.min_max(ids, _numeric_values(arg, self.kind), valid, self.acc, self.seen,
                      self.is_max)

    def _update_generic(self, ids, n, arg, valid):
        arg = decode(arg)
        if len(valid):
            keep = pa.array(valid)
            ids, arg = ids[valid], arg.filter(keep)
        if len(ids) == 0:
            return
        self.chunks.append(self._reduce(ids, arg))
        self.chunk_rows += len(self.chunks[-1][0])
        if len(self.chunks) > 8 and self.chunk_rows > 4 * n:
            self.chunks = [self._reduce(*self._concat())]
            self.chunk_rows = len(self.chunks[0][0])

    def _concat(self):
        ids = np.concatenate([c[0] for c in self.chunks])
        return ids, pa.concat_arrays([c[1] for c in self.chunks])

    def _reduce(self, ids, values):
        fn = "max" if self.is_max else "min"
        t = pa.table({"g": ids, "v": values}).group_by("g", use_threads=False) \
            .aggregate([("v", fn)])
        return (t.column("g").to_numpy(), t.column(f"v_{fn}").combine_chunks())

    def result(self, n):
        if self.kind == "generic":
            idx = np.full(n, -1, dtype=np.int64)
            if not self.chunks:
                return pa.nulls(n, self.type)
            groups, values = self._reduce(*self._concat()) if len(self.chunks) > 1 \
                else self.chunks[0]
            idx[groups] = np.arange(len(groups))
            return _take_or_null(values, idx).cast(self.type)
        seen = _grown(self.seen, n, False)[:n]
        acc = _grown(self.acc, n, 0)[:n]
        if self.kind == "decimal":
            return decimal_from_words(_grown(self.lo, n, 0)[:n], acc, seen, self.type)
        return _words_to_arrow(acc, seen, self.type)


class First(Accumulator):
    """The first non-NULL value met (any_value); works for every type."""

    def __init__(self, arg_type: pa.DataType):
        self.type = arg_type
        self.seen = np.zeros(0, dtype=np.bool_)
        self.groups: list[np.ndarray] = []
        self.values: list[pa.Array] = []

    def update(self, ids, n, arg, mask):
        self.seen = _grown(self.seen, n, False)
        rows, groups = K.first_rows(ids, _valid(arg, mask), self.seen)
        if len(rows):
            self.groups.append(groups)
            self.values.append(decode(arg).take(pa.array(rows)))

    def result(self, n):
        if not self.groups:
            return pa.nulls(n, self.type)
        idx = np.full(n, -1, dtype=np.int64)
        groups = np.concatenate(self.groups)
        idx[groups] = np.arange(len(groups))
        return _take_or_null(pa.concat_arrays(self.values), idx).cast(self.type)


class Variance(Accumulator):
    """stddev_* / var_*: per group the count, the mean and M2 (the sum of
    squared deviations from the mean), combined with Chan's formula as
    DuckDB does, so nothing cancels catastrophically: the stddev of a
    constant is exactly 0 in any partitioning (partial state columns `count`,
    `mean` and `m2`: planner/aggregate_state.py)."""

    def __init__(self, fn: str):
        self.fn = fn
        self.c = np.zeros(0, dtype=np.float64)
        self.mean = np.zeros(0, dtype=np.float64)
        self.m2 = np.zeros(0, dtype=np.float64)

    def _add(self, ids, n, c, mean, m2):
        """Fold rows (group id, count, mean, M2) into the groups."""
        keep = c > 0
        ids, c, mean, m2 = ids[keep], c[keep], mean[keep], m2[keep]
        ref = np.zeros(n, dtype=np.float64)
        ref[ids] = mean                      # some row's mean per group: a shift
        d = mean - ref[ids]                  # exactly 0 for a constant group
        cg = np.bincount(ids, weights=c, minlength=n)[:n]
        with np.errstate(divide="ignore", invalid="ignore"):
            dm = np.bincount(ids, weights=c * d, minlength=n)[:n] / np.where(cg > 0, cg, 1)
        m2g = np.bincount(ids, weights=m2 + c * (d - dm[ids]) ** 2, minlength=n)[:n]
        mg = ref + dm
        self.c, self.mean, self.m2 = (_grown(a, n, 0.0) for a in (self.c, self.mean, self.m2))
        ca, ma = self.c[:n], self.mean[:n]
        tot = ca + cg
        delta = mg - ma
        with np.errstate(divide="ignore", invalid="ignore"):
            both = (ca > 0) & (cg > 0)
            frac = np.where(tot > 0, cg / np.where(tot > 0, tot, 1), 0.0)
            self.m2[:n] += m2g + np.where(both, delta * delta * ca * frac, 0.0)
        self.mean[:n] = np.where(ca > 0, np.where(both, ma + delta * frac, ma), mg)
        self.c[:n] = tot

    def update(self, ids, n, arg, mask):
        x = cast_array(decode(arg), pa.float64()).to_numpy(zero_copy_only=False)
        valid = _valid(arg, mask)
        ids = np.asarray(ids, dtype=np.int64)
        c, mean, m2 = batch_moments(ids, x, valid, n)      # one state per group
        self._add(np.arange(n, dtype=np.int64), n, c, mean, m2)

    def merge(self, ids, n, states):
        def col(a):
            return a.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        self._add(np.asarray(ids, dtype=np.int64), n, col(states[0]), col(states[1]),
                  col(states[2]))

    def state(self, n):
        c, mean, m2 = (_grown(a, n, 0.0)[:n] for a in (self.c, self.mean, self.m2))
        return [pa.array(c.astype(np.int64), type=pa.int64()),
                pa.array(mean, type=pa.float64()), pa.array(m2, type=pa.float64())]

    def result(self, n):
        c, m2 = _grown(self.c, n, 0.0)[:n], _grown(self.m2, n, 0.0)[:n]
        denom = c if self.fn.endswith("_pop") else c - 1
        ok = denom > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.maximum(m2 / np.where(ok, denom, 1), 0.0)
        out = np.sqrt(var) if self.fn.startswith("stddev") else var
        return pa.array(out, type=pa.float64(), mask=~ok if not ok.all() else None)


class StringAgg(Accumulator):
    """string_agg(x, sep) in input order (single mode only)."""

    def __init__(self, separator: str):
        self.sep = separator
        self.groups: list[np.ndarray] = []
        self.values: list[pa.Array] = []

    def update(self, ids, n, arg, mask):
        valid = _valid(arg, mask)
        arg = decode(arg)
        if len(valid):
            ids, arg = ids[valid], arg.filter(pa.array(valid))
        self.groups.append(ids)
        self.values.append(arg)

    def merge(self, ids, n, states):
        raise NotSupportedError("string_agg has no partial form")

    def result(self, n):
        groups = np.concatenate(self.groups) if self.groups else np.zeros(0, np.int64)
        values = pa.concat_arrays(self.values) if self.values else pa.array([], pa.string())
        order = np.argsort(groups, kind="stable")
        counts = np.bincount(groups, minlength=n)[:n]
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        lists = pa.ListArray.from_arrays(pa.array(offsets), values.take(pa.array(order)),
                                         mask=pa.array(counts == 0))
        return pc.binary_join(lists, self.sep)


class Quantile(Accumulator):
    """quantile_cont / quantile_disc (single mode only): the non-NULL values
    of each group, sorted once with the group ids at the end; cont
    interpolates between the two values around q * (n - 1), disc takes the
    value at ceil(q * n) - 1 (the SQL PERCENTILE_DISC rule), both counted in
    the WITHIN GROUP order."""

    def __init__(self, q: float, desc: bool, cont: bool, out_type: pa.DataType):
        self.q, self.desc, self.cont, self.out_type = q, desc, cont, out_type
        self.groups: list[np.ndarray] = []
        self.values: list[pa.Array] = []

    def update(self, ids, n, arg, mask):
        valid = _valid(arg, mask)
        arg = decode(arg)
        if len(valid):
            ids, arg = ids[valid], arg.filter(pa.array(valid))
        self.groups.append(np.asarray(ids, dtype=np.int64))
        self.values.append(arg)

    def merge(self, ids, n, states):
        raise NotSupportedError("percentile_cont/percentile_disc have no partial form")

    def result(self, n):
        if not self.groups or not sum(len(g) for g in self.groups):
            return pa.nulls(n, self.out_type)
        groups = np.concatenate(self.groups)
        values = pa.concat_arrays(self.values)
        order = pc.sort_indices(pa.table({"g": groups, "v": values}), sort_keys=[
            ("g", "ascending"), ("v", "descending" if self.desc else "ascending")])
        ordered = values.take(order)
        counts = np.bincount(groups, minlength=n)[:n]
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        empty = counts == 0
        if not self.cont:
            k = np.maximum(np.ceil(self.q * counts - 1e-9).astype(np.int64) - 1, 0)
            idx = pa.array(np.where(empty, 0, starts + k), mask=empty)
            return ordered.take(idx)
        pos = self.q * np.maximum(counts - 1, 0)
        lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)
        frac = pos - lo
        if dt.is_decimal(self.out_type):
            # in unscaled integers, truncated toward zero (as DuckDB does)
            def unscaled(j):
                words, _ = decimal_words(ordered.take(pa.array(np.where(empty, 0, starts + j))))
                return words.view(np.int64).astype(np.float64)
            ulo, uhi = unscaled(lo), unscaled(hi)
            out = np.trunc(ulo + frac * (uhi - ulo)).astype(np.int64)
            return decimal_from_words(out.view(np.uint64), out >> 63, ~empty, self.out_type)

        def at(j):
            return pc.cast(ordered.take(pa.array(np.where(empty, 0, starts + j))),
                           pa.float64()).to_numpy(zero_copy_only=False)
        vlo, vhi = at(lo), at(hi)
        return pa.array(vlo + frac * (vhi - vlo), pa.float64(), mask=empty)


class Distinct(Accumulator):
    """agg(DISTINCT x): only the first row of each (group, x) pair reaches
    the inner accumulator. NULL x never counts."""

    def __init__(self, inner: Accumulator, arg_type: pa.DataType):
        self.inner = inner
        self.pairs = KeyEncoder([pa.int64(), arg_type], null_equals_null=False)

    def update(self, ids, n, arg, mask):
        if mask is not None:
            keep = mask_array(mask)
            ids, arg = ids[mask], arg.filter(keep)
        before = self.pairs.num_keys
        pair_ids = self.pairs.encode([pa.array(ids, pa.int64()), arg])
        fresh = K.new_id_mask(pair_ids, before)
        self.inner.update(ids[fresh], n, arg.filter(pa.array(fresh)), None)

    def merge(self, ids, n, states):
        raise NotSupportedError("DISTINCT aggregates have no partial form")

    def state(self, n):
        raise NotSupportedError("DISTINCT aggregates have no partial form")

    def result(self, n):
        return self.inner.result(n)


def make_accumulators(aggs) -> list[Accumulator]:
    """One accumulator per aggregate, where an avg() shares the Sum of a
    sum() over the same argument and filter (TPC-H Q1 sums l_quantity and
    l_extendedprice twice otherwise)."""
    accs = [make_accumulator(a) for a in aggs]
    sums: dict = {}
    for agg, acc in zip(aggs, accs):
        if type(acc) is Sum:
            sums.setdefault((agg.args, agg.filter), acc)
    for agg, acc in zip(aggs, accs):
        if type(acc) is Avg:
            shared = sums.get((agg.args, agg.filter))
            if shared is not None and shared.state_type == acc.sum.state_type:
                acc.share_sum(shared)
    return accs


def make_accumulator(agg: AggCall) -> Accumulator:
    fn = agg.fn
    arg_type = agg.args[0].dtype if agg.args else None
    if fn in ("count", "count_star"):
        acc: Accumulator = Count()
    elif fn == "sum":
        acc = Sum(arg_type)
    elif fn == "avg":
        acc = Avg(arg_type)
    elif fn in ("min", "max"):
        acc = MinMax(arg_type, fn == "max")
    elif fn in ("bool_and", "bool_or"):
        acc = MinMax(arg_type, fn == "bool_or")
    elif fn == "first":
        acc = First(arg_type)
    elif fn in VARIANCE_FNS:
        acc = Variance(fn)
    elif fn in COLLECTED:
        if agg.distinct:
            raise NotSupportedError(f"{fn}(DISTINCT ...) is not supported")
        from .aggregate_collect import Collect
        return Collect(agg)
    elif fn == "string_agg":
        sep = agg.args[1] if len(agg.args) > 1 else Literal(",", dt.STRING)
        if not isinstance(sep, Literal):
            raise NotSupportedError("string_agg separator must be a constant")
        acc = StringAgg("" if sep.value is None else str(sep.value))
    elif fn in ("quantile_cont", "quantile_disc", "median"):
        q, desc = agg.args[1], agg.args[2]
        if not (isinstance(q, Literal) and isinstance(desc, Literal)):
            raise NotSupportedError(f"{fn} with a fraction that is not a constant")
        acc = Quantile(float(q.value), bool(desc.value), fn != "quantile_disc", agg.dtype)
    else:
        raise NotSupportedError(f"aggregate function {fn} is not supported")
    if agg.distinct and fn != "count_star":
        acc = Distinct(acc, arg_type)
    return acc
