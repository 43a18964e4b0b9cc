"""Scan pruning: which files of a dataset a scan's filters can skip.

Owns: `prune_files(dataset, filters, column_of_field) -> files`. Two tests,
both safe (a file is dropped only when no row of it can make the filters
TRUE):

1. Hive partitions. The conjuncts that read only partition columns are
   evaluated with `evaluate` (the executor's expression evaluator, which the
   session hands to the physical planner: the planner imports nothing of the
   executor) over a small Arrow table holding one row per file (its
   partition values); a file whose row is not TRUE is dropped. With no
   evaluator this step keeps every file.
2. File statistics. A conjunct of a simple form (Column cmp Literal, IN list,
   IS [NOT] NULL, AND/OR of those; see planner/refute.py) that the
   file-level min/max/null counts refute drops the file.

Row groups inside the files kept here are pruned again at run time by the
scan operator, with the same `refuted` test.

`filters` refer to field names; `column_of_field` maps each field name to
its source column (a file column or a partition column) in the dataset.
`evaluate(expr, batch) -> pa.Array` is executor.eval.evaluate's signature.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .expr import Expr, columns_of, conjuncts
from .refute import refuted


def _partition_table(dataset, fields: dict[str, str]) -> pa.RecordBatch:
    """One row per file: a column per partition field, typed as the dataset says."""
    types = dict(dataset.partition_fields)
    arrays, names = [], []
    for field_name, col in fields.items():
        values = [f.partition_dict[col][1] for f in dataset.files]   # one per file
        arrays.append(pa.array(values, pa.string()).cast(types[col]))
        names.append(field_name)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _partition_mask(dataset, filters: list[Expr], column_of_field: dict[str, str],
                    evaluate) -> np.ndarray | None:
    partition_cols = set(dataset.partition_columns)
    part_fields = {f: c for f, c in column_of_field.items() if c in partition_cols}
    usable = [c for f in filters for c in conjuncts(f)
              if columns_of(c) and columns_of(c) <= set(part_fields)]
    if not usable or not dataset.files or evaluate is None:
        return None
    used = set().union(*(columns_of(c) for c in usable))
    batch = _partition_table(dataset, {f: part_fields[f] for f in sorted(used)})
    keep = np.ones(batch.num_rows, dtype=bool)
    for c in usable:
        result = evaluate(c, batch)
        if isinstance(result, pa.ChunkedArray):
            result = result.combine_chunks()
        keep &= result.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    return keep


def prune_files(dataset, filters: list[Expr], column_of_field: dict[str, str],
                evaluate=None) -> list:
    """The dataset's files that the filters may still match, in dataset order."""
    files = list(dataset.files)
    if not filters or not files:
        return files
    mask = _partition_mask(dataset, filters, column_of_field, evaluate)
    if mask is not None:
        files = [f for f, k in zip(files, mask) if k]
    out = []
    for f in files:                       # a loop over files, not rows
        def stats_of(name, f=f):
            col = column_of_field.get(name)
            return None if col is None else f.file_stats(col)
        if not any(refuted(c, stats_of) for c in filters):
            out.append(f)
    return out
