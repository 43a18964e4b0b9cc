"""A few thousand rows of a table, spread over its files, for estimates.

The planner guesses how many rows a filter keeps to order joins and to
choose broadcast joins. A fixed guess for `p_type = 'ECONOMY ANODIZED
STEEL'` (0.1; it keeps 1 row in 150) or `p_name LIKE '%green%'` (0.25; it
keeps 1 in 20) picks the wrong side to build on; evaluating the filter on a
sample gives the share directly. The sample is the first rows of up to
SAMPLE_GROUPS row groups taken evenly over the dataset's row groups, so a
sample of a 100 GB table still reads a few pages of each wanted column.
Only local files are sampled: on object storage each sampled row group is
a request at planning time, to files that partition pruning may skip.

    sample_rows(dataset, ["p_type"], pa.schema([("p_type", pa.string())]))
        -> pa.RecordBatch of up to SAMPLE_ROWS rows, or None
"""

from __future__ import annotations

import pyarrow as pa

SAMPLE_ROWS = 4096
SAMPLE_GROUPS = 4


def sample_rows(source, columns: list[str], schema: pa.Schema,
                rows: int = SAMPLE_ROWS, groups: int = SAMPLE_GROUPS) -> pa.RecordBatch | None:
    """Up to `rows` rows of `columns` (typed by `schema`, plain, not
    dictionary-encoded) of a local Parquet dataset or an in-memory table;
    None for other sources and empty tables."""
    from .parquet import LOCAL_PROTOCOLS
    kind = getattr(source, "kind", None)
    if kind == "memory":
        return _sample_table(source.table, columns, schema, rows, groups)
    if (kind == "dataset" and getattr(source, "file_format", None) == "parquet"
            and source.protocol in LOCAL_PROTOCOLS):
        return _sample_parquet(source, columns, schema, rows, groups)
    return None


def _spread(count: int, k: int) -> list[int]:
    """k indices spread evenly over range(count) (all of them if k >= count)."""
    if count <= k:
        return list(range(count))
    return sorted({(2 * i + 1) * count // (2 * k) for i in range(k)})


def _sample_table(table: pa.Table, columns, schema, rows: int, groups: int):
    if not table.num_rows:
        return None
    per = max(1, rows // groups)
    starts = [i * per for i in _spread(max(1, table.num_rows // per), groups)]
    part = pa.concat_tables([table.slice(s, per) for s in starts]).select(columns)
    part = part.cast(pa.schema([schema.field(c) for c in columns]))
    return part.combine_chunks().to_batches()[0] if part.num_rows else None


def _sample_parquet(dataset, columns, schema, rows: int, groups: int):
    from .parquet import read_split
    from .splits import Split
    chosen = _groups_spread(dataset.files, groups)
    if not chosen:
        return None
    per = max(1, rows // len(chosen))
    by_file: dict = {}
    for f, g in chosen:                 # one open of each file, its groups together
        by_file.setdefault(f.path, (f, []))[1].append(g)
    batches = []
    for f, groups_of_file in by_file.values():
        split = Split(f.path, tuple(groups_of_file), 0, 0, f.partition_values)
        batches.extend(read_split(split, columns, schema, dataset.protocol,
                                  dataset.storage_options, per, first_rows_only=True))
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return None
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _groups_spread(files, k: int) -> list:
    """Up to k (file, row group) pairs spread evenly over all the row groups
    of `files`, found from each file's group count (a table of 100,000
    files is not walked group by group at planning time); empty groups
    are skipped."""
    counts = [f.num_row_groups if f.num_rows else 0 for f in files]
    total = sum(counts)
    chosen, at, file_index = [], 0, 0
    for i in _spread(total, k):
        while at + counts[file_index] <= i:
            at += counts[file_index]
            file_index += 1
        f = files[file_index]
        g = i - at
        if f.metadata.row_group(g).num_rows:
            chosen.append((f, g))
    return chosen
