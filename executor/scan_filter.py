"""ScanFilter: a scan's filter conjuncts applied one at a time, cheapest first.

    ScanFilter([c1, c2, c3]).apply(batch) -> the rows where all are TRUE

A conjunct is evaluated on the rows the earlier ones kept once they dropped
half of them (before that, masks are ANDed and the batch filtered once), so
a selective conjunct makes the others cheap. Order: conjuncts of one
dictionary-encoded column first (the storage layer hands low-cardinality strings over as
dictionary arrays; such a conjunct is evaluated once per distinct value and
spread to the rows through the indices), then comparisons of a fixed-width
column with constants, then the others in their given order. Comparisons
never narrow the batch between them: one costs less per row than filtering
the batch's columns (SF10 TPC-H Q14: `l_shipdate >= d` keeps 40% of the
rows, and filtering four columns to them cost more than evaluating
`l_shipdate < d2` on every row). A conjunct that may raise on a row's value (division, CAST) is never
moved ahead of one that came before it, and sees no row an earlier
conjunct removed.

The batch may hold dictionary columns; the result keeps them (the caller
decodes after filtering). Conjuncts must only read the batch's columns.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..planner.expr import Call, Column, Expr, InList, Literal, columns_of, conjuncts as split_conjuncts
from .eval import evaluate, may_raise
from .functions.registry import as_array
from .kernels.dictionary_indices import and_lookup


class _Conjunct:
    __slots__ = ("expr", "column", "raises", "cost", "last_dictionary")

    def __init__(self, expr: Expr):
        self.expr = expr
        self.raises = may_raise(expr)
        cols = columns_of(expr)
        self.column = next(iter(cols)) if len(cols) == 1 and not self.raises else None
        self.cost = _cost_per_row(expr) if not self.raises else _OTHER_COST
        self.last_dictionary: tuple[pa.Array, np.ndarray] | None = None


# Rough costs, nanoseconds per row, measured with pyarrow on SF1 lineitem:
# a date or integer compared with a constant 0.4, a DECIMAL 2.1; filtering a
# batch costs each column about 0.4 plus 1 per kept row. Anything else (LIKE,
# arithmetic, functions) is taken as expensive.
_CHEAP_COST, _DECIMAL_COST, _OTHER_COST = 0.5, 2.0, 10.0
_FILTER_COST, _FILTER_KEPT_COST = 0.4, 1.0


def _cost_per_row(expr: Expr) -> float:
    column = _compared_column(expr)
    if column is None or not _fixed_width(column.dtype):
        return _OTHER_COST
    return _DECIMAL_COST if pa.types.is_decimal(column.dtype) else _CHEAP_COST


_COMPARISONS = frozenset(("eq", "ne", "lt", "le", "gt", "ge"))


def _compared_column(expr: Expr) -> Column | None:
    """The column of a comparison with literals (`c < 5`, `5 >= c`,
    `c IN (1, 2)`, `c IS NULL`), or None."""
    if isinstance(expr, Call) and expr.fn in _COMPARISONS and len(expr.args) == 2:
        a, b = expr.args
        column = a if isinstance(b, Literal) else b if isinstance(a, Literal) else None
    elif isinstance(expr, InList):
        column = expr.arg if all(isinstance(v, Literal) for v in expr.values) else None
    elif isinstance(expr, Call) and expr.fn in ("is_null", "is_not_null") and len(expr.args) == 1:
        column = expr.args[0]
    else:
        return None
    return column if isinstance(column, Column) else None


def _fixed_width(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_temporal(t) or pa.types.is_boolean(t))


class ScanFilter:
    """The conjuncts of a scan's filters, applied in a cheap order."""

    def __init__(self, filters) -> None:
        parts: list[Expr] = []
        for f in filters:
            parts.extend(split_conjuncts(f))
        self.conjuncts = [_Conjunct(e) for e in parts]
        self.ordered = _cheap_first(self.conjuncts)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        batch, mask = self.apply_deferred(batch)
        return batch if mask is None else _keep(batch, mask)

    def apply_deferred(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.Array | None]:
        """The batch (perhaps narrowed by early conjuncts) and the mask of
        its rows that pass (no NULLs; None: every row), for a caller that
        joins several batches' kept rows in one copy (executor/kept_rows.py)."""
        names = batch.schema.names
        on_dict = [c for c in self.conjuncts if c.column is not None and c.column in names
                   and pa.types.is_dictionary(batch.column(names.index(c.column)).type)]
        mask = _dictionary_masks(on_dict, batch) if on_dict else None
        rest = [c for c in self.ordered if c not in on_dict]
        for i, c in enumerate(rest):
            if mask is not None and (c.raises or _worth_narrowing(mask, batch.num_columns,
                                                                  rest[i:])):
                batch, mask = _keep(batch, mask), None
            if batch.num_rows == 0:
                return batch, None
            m = _plain_mask(c.expr, batch)
            mask = m if mask is None else pc.and_(mask, m)
        if mask is None:
            return batch, None
        if mask.null_count:
            mask = pc.fill_null(mask, False)
        return (batch, None) if mask.true_count == batch.num_rows else (batch, mask)


def _cheap_first(conjuncts: list[_Conjunct]) -> list[_Conjunct]:
    """Conjuncts ordered by cost, cheapest first (ties keep their order),
    within each run between conjuncts that may raise (which keep their
    place)."""
    out: list[_Conjunct] = []
    segment: list[_Conjunct] = []
    for c in conjuncts:
        if c.raises:
            out += sorted(segment, key=lambda x: x.cost) + [c]
            segment = []
        else:
            segment.append(c)
    return out + sorted(segment, key=lambda x: x.cost)


def _worth_narrowing(mask: pa.Array, columns: int, remaining: list[_Conjunct]) -> bool:
    """Whether filtering the batch to `mask` now costs less than what it
    saves the `remaining` conjuncts. Masks are otherwise ANDed and the batch
    filtered once: filtering after each conjunct cost TPC-H Q6 five filters
    of four columns where one does."""
    kept = mask.true_count / max(1, len(mask))
    saved = sum(c.cost for c in remaining) * (1.0 - kept)
    return saved > columns * (_FILTER_COST + _FILTER_KEPT_COST * kept)


def _plain_mask(expr: Expr, batch: pa.RecordBatch) -> pa.Array:
    """`expr` over a batch whose dictionary columns it reads are decoded."""
    cols = columns_of(expr)
    names = batch.schema.names
    if any(n in cols and pa.types.is_dictionary(t) for n, t in zip(names, batch.schema.types)):
        arrays = [a.dictionary_decode() if n in cols and pa.types.is_dictionary(a.type) else a
                  for n, a in zip(names, batch.columns)]
        batch = pa.RecordBatch.from_arrays(arrays, names=names)
    return evaluate(expr, batch)


def _dictionary_masks(on_dict: list[_Conjunct], batch: pa.RecordBatch) -> pa.Array | None:
    """The AND of conjuncts each of one dictionary column: each evaluated
    per distinct value, and the rows' values looked up in one pass per
    column into one mask (columns with NULLs take the per-column path).
    A conjunct true for exactly one value is an integer compare of the
    indices (0.4 ns a row, the lookup 1.5). None: every row passes."""
    names = batch.schema.names
    rows = None
    mask = None
    for c in on_dict:
        column = batch.column(names.index(c.column))
        if column.null_count:
            m = _dictionary_mask(c.expr, column, c.column)
        else:
            per_value = _per_value(c, column)
            true = np.flatnonzero(per_value)
            if len(true) == len(per_value):
                continue
            if len(true) > 1:
                if rows is None:
                    rows = np.ones(len(column), dtype=np.bool_)
                and_lookup(column.indices.to_numpy(zero_copy_only=False), per_value, rows)
                continue
            if len(true) == 0:
                return pa.repeat(pa.scalar(False), len(column))
            m = pc.equal(column.indices, pa.scalar(int(true[0]), column.indices.type))
        mask = m if mask is None else pc.and_(mask, m)
    if rows is not None:
        m = pa.array(rows)
        mask = m if mask is None else pc.and_(mask, m)
    return mask


def _per_value(c: _Conjunct, column: pa.DictionaryArray) -> np.ndarray:
    """The conjunct's value (NULL as FALSE) for each dictionary value. Row
    groups of one file usually share their dictionary's values, so the last
    answer is kept and reused when the values are equal."""
    known = c.last_dictionary
    if known is not None and known[0].equals(column.dictionary):
        return known[1]
    values = pa.RecordBatch.from_arrays([column.dictionary], names=[c.column])
    out = pc.fill_null(as_array(evaluate(c.expr, values), len(column.dictionary)), False)
    per_value = out.to_numpy(zero_copy_only=False)
    if len(column.dictionary) <= _REMEMBERED_DICTIONARY:
        c.last_dictionary = (column.dictionary, per_value)
    return per_value


# dictionaries up to this size are remembered with their answers (comparing a
# larger one could cost about what evaluating the conjunct on it does)
_REMEMBERED_DICTIONARY = 4096


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
