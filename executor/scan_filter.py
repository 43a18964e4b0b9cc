"""ScanFilter: a scan's filter conjuncts applied one at a time, cheapest first.

    ScanFilter([c1, c2, c3]).apply(batch) -> the rows where all are TRUE

A conjunct is evaluated on the rows the earlier ones kept once they dropped
half of them (before that, masks are ANDed and the batch filtered once), so
a selective conjunct makes the others cheap. Order: conjuncts of one
dictionary-encoded column first (the storage layer hands low-cardinality strings over as
dictionary arrays; such a conjunct is evaluated once per distinct value and
spread to the rows through the indices), then the others in their given
order. A conjunct that may raise on a row's value (division, CAST) is never
moved ahead of one that came before it, and sees no row an earlier
conjunct removed.

The batch may hold dictionary columns; the result keeps them (the caller
decodes after filtering). Conjuncts must only read the batch's columns.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..planner.expr import Expr, columns_of, conjuncts as split_conjuncts
from .eval import evaluate, may_raise
from .functions.registry import as_array
from .kernels.dictionary_indices import and_lookup


class _Conjunct:
    __slots__ = ("expr", "column", "raises")

    def __init__(self, expr: Expr):
        self.expr = expr
        self.raises = may_raise(expr)
        cols = columns_of(expr)
        self.column = next(iter(cols)) if len(cols) == 1 and not self.raises else None


class ScanFilter:
    """The conjuncts of a scan's filters, applied in a cheap order."""

    def __init__(self, filters) -> None:
        parts: list[Expr] = []
        for f in filters:
            parts.extend(split_conjuncts(f))
        self.conjuncts = [_Conjunct(e) for e in parts]

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        names = batch.schema.names
        on_dict = [c for c in self.conjuncts if c.column is not None and c.column in names
                   and pa.types.is_dictionary(batch.column(names.index(c.column)).type)]
        mask = _dictionary_masks(on_dict, batch) if on_dict else None
        rest = [c for c in self.conjuncts if c not in on_dict]
        for c in rest:
            if mask is not None and (c.raises or _worth_narrowing(mask)):
                batch, mask = _keep(batch, mask), None
            if batch.num_rows == 0:
                return batch
            m = _plain_mask(c.expr, batch)
            mask = m if mask is None else pc.and_(mask, m)
        return batch if mask is None else _keep(batch, mask)


# Masks are ANDed while they keep most rows and applied (one filter of
# every column) once they drop enough that later conjuncts get cheaper:
# filtering the batch after each conjunct cost TPC-H Q6 five filters of
# four columns where one or two do.
_NARROW_BELOW = 0.5


def _worth_narrowing(mask: pa.Array) -> bool:
    return mask.true_count < _NARROW_BELOW * len(mask)


def _plain_mask(expr: Expr, batch: pa.RecordBatch) -> pa.Array:
    """`expr` over a batch whose dictionary columns it reads are decoded."""
    cols = columns_of(expr)
    names = batch.schema.names
    if any(n in cols and pa.types.is_dictionary(t) for n, t in zip(names, batch.schema.types)):
        arrays = [a.dictionary_decode() if n in cols and pa.types.is_dictionary(a.type) else a
                  for n, a in zip(names, batch.columns)]
        batch = pa.RecordBatch.from_arrays(arrays, names=names)
    return evaluate(expr, batch)


def _dictionary_masks(on_dict: list[_Conjunct], batch: pa.RecordBatch) -> pa.Array:
    """The AND of conjuncts each of one dictionary column: each evaluated
    per distinct value, and the rows' values looked up in one pass per
    column into one mask (columns with NULLs take the per-column path)."""
    names = batch.schema.names
    rows = None
    mask = None
    for c in on_dict:
        column = batch.column(names.index(c.column))
        if column.null_count:
            m = _dictionary_mask(c.expr, column, c.column)
            mask = m if mask is None else pc.and_(mask, m)
            continue
        if rows is None:
            rows = np.ones(len(column), dtype=np.bool_)
        and_lookup(column.indices.to_numpy(zero_copy_only=False), _per_value(c, column), rows)
    if rows is not None:
        m = pa.array(rows)
        mask = m if mask is None else pc.and_(mask, m)
    return mask


def _per_value(c: _Conjunct, column: pa.DictionaryArray) -> np.ndarray:
    """The conjunct's value (NULL as FALSE) for each dictionary value."""
    values = pa.RecordBatch.from_arrays([column.dictionary], names=[c.column])
    out = pc.fill_null(as_array(evaluate(c.expr, values), len(column.dictionary)), False)
    return out.to_numpy(zero_copy_only=False)


def _dictionary_mask(expr: Expr, column: pa.DictionaryArray, name: str) -> pa.Array:
    """`expr` (of the one column `name`) per distinct value, then per row."""
    values = pa.RecordBatch.from_arrays([column.dictionary], names=[name])
    per_value = pc.fill_null(evaluate(expr, values), False)
    if column.null_count:
        # a NULL row: evaluate the expression on NULL itself
        null_batch = pa.RecordBatch.from_arrays([pa.nulls(1, column.type.value_type)], names=[name])
        at_null = evaluate(expr, null_batch)[0].as_py() is True
        return pc.fill_null(per_value.take(column.indices), at_null)
    return per_value.take(column.indices)


def _keep(batch: pa.RecordBatch, mask: pa.Array) -> pa.RecordBatch:
    if mask.null_count:
        mask = pc.fill_null(mask, False)
    kept = mask.true_count
    if kept == batch.num_rows:
        return batch
    if kept == 0:
        return batch.slice(0, 0)
    return batch.filter(mask)
