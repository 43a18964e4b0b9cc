"""Cutting a dataset's files into scan splits.

Owns: `make_splits(files, target_bytes, max_splits)`. The rule is simple on
purpose: a file whose compressed size is at most `target_bytes` (or that has
a single row group) is one Split covering the whole file (`row_groups=None`);
a bigger file is cut into ceil(size / target_bytes) runs of consecutive row
groups of about equal bytes (a row group is never cut). Small files are *not*
grouped together here: the physical planner bins splits into tasks.

`max_splits` only coarsens the cutting of big files (the target grows until
the count fits, or until every file is one split); it never merges files.
"""

from __future__ import annotations

from dataclasses import dataclass

from .parquet import ParquetFileInfo

DEFAULT_TARGET_BYTES = 128 << 20


@dataclass(frozen=True, slots=True)
class Split:
    """One unit of scan work: a Parquet file (or some of its row groups).
    `partition_values` holds Hive partition column values for this file, as
    (name, wire type, value as str or None) triples."""
    path: str
    row_groups: tuple[int, ...] | None = None      # None: the whole file
    size: int = 0
    rows: int = 0
    partition_values: tuple[tuple[str, str, str | None], ...] = ()
    host: str | None = None                         # a local root holding it


def _file_splits(f: ParquetFileInfo, target_bytes: int) -> list[Split]:
    if f.num_row_groups <= 1 or f.size <= target_bytes:
        return [Split(f.path, None, f.size, f.num_rows, f.partition_values)]
    sizes, rows = f.row_group_bytes, f.row_group_rows
    total = sum(sizes)
    count = min(len(sizes), max(1, -(-total // target_bytes)))
    if count == 1:
        return [Split(f.path, None, f.size, f.num_rows, f.partition_values)]
    return [Split(f.path, tuple(run), sum(sizes[g] for g in run), sum(rows[g] for g in run),
                  f.partition_values)
            for run in _balanced_runs(sizes, count)]


def _balanced_runs(sizes: list[int], count: int) -> list[list[int]]:
    """Row groups 0..n-1 cut into `count` runs of consecutive groups with
    about equal bytes. Equal runs matter: a scan's tasks run in waves of one
    task per core, so a run of 15 groups next to one of 8 leaves a core idle
    for half a task (greedy filling to the target did that)."""
    total = sum(sizes)
    runs: list[list[int]] = []
    run: list[int] = []
    done = 0
    for g, b in enumerate(sizes):
        left_groups = len(sizes) - g
        left_runs = count - len(runs)
        # close the run at the group boundary nearest its share of the bytes,
        # keeping one group for every run still to come
        share = total * (len(runs) + 1) / count
        if run and (left_groups < left_runs
                    or (left_runs > 1 and abs(done + b - share) > abs(done - share))):
            runs.append(run)
            run = []
        run.append(g)
        done += b
    runs.append(run)
    return runs


def make_splits(files: list[ParquetFileInfo], target_bytes: int = DEFAULT_TARGET_BYTES,
                max_splits: int | None = None) -> list[Split]:
    """One or more Splits per file, in file order (see the module docstring)."""
    target = max(1, int(target_bytes))
    while True:
        out = [s for f in files for s in _file_splits(f, target)]
        if max_splits is None or len(out) <= max(max_splits, len(files)):
            return out
        target *= 2
