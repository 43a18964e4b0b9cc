"""Scan splits come in equal runs and whole waves of one task per core: a
scan stage's tasks run one per core at a time, so a short last split (or a
task count that is not a multiple of the cores) leaves a core idle."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from quiver.planner.physical_planner import group_splits
from quiver.storage.dataset import open_dataset
from quiver.storage.splits import Split, _balanced_runs


def _file(tmp_path, groups=53):
    t = pa.table({"a": pa.array(range(groups * 100), pa.int64())})
    pq.write_table(t, tmp_path / "f.parquet", row_group_size=100)
    return open_dataset(str(tmp_path / "f.parquet"))


def test_a_file_is_cut_into_runs_of_equal_size(tmp_path):
    ds = _file(tmp_path)
    sizes = ds.files[0].row_group_bytes
    # greedy filling to 15 groups' bytes gave 15, 15, 15, 8
    cut = ds.splits(target_bytes=sum(sizes[:15]))
    counts = [len(s.row_groups) for s in cut]
    assert len(cut) == 4 and max(counts) - min(counts) <= 1
    assert [g for s in cut for g in s.row_groups] == list(range(53))
    assert sum(s.rows for s in cut) == 5300


def test_runs_follow_bytes_not_group_counts():
    assert _balanced_runs([100, 1, 1, 1, 1, 100], 3) == [[0], [1, 2, 3, 4], [5]]
    assert _balanced_runs([1, 1, 1, 1, 100], 3) == [[0, 1, 2], [3], [4]]
    assert _balanced_runs([5, 5], 2) == [[0], [1]]


def test_tasks_come_in_whole_waves_of_the_cores():
    splits = [Split(f"f{i}", None, 10) for i in range(7)]
    # five groups' worth of bytes on two cores: six tasks, not five
    assert len(group_splits(splits, 14, 2)) == 6
    # never more tasks than splits
    assert len(group_splits(splits[:3], 1, 2)) == 3
    assert len(group_splits(splits[:1], 1, 2)) == 1
