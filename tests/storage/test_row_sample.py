"""storage/row_sample.py: rows for estimates, spread over a table's files."""

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from quiver.storage.dataset import open_dataset
from quiver.storage.memory import MemoryTable
from quiver.storage.row_sample import sample_rows


def _write(path, start, n, group):
    t = pa.table({"i": pa.array(range(start, start + n), pa.int64()),
                  "s": pa.array([f"v{x % 3}" for x in range(start, start + n)])})
    pq.write_table(t, path, row_group_size=group, use_dictionary=["s"])


def test_parquet_sample_spreads_over_files_and_groups(tmp_path):
    for k in range(3):
        _write(tmp_path / f"part{k}.parquet", k * 30_000, 30_000, 5_000)
    ds = open_dataset(str(tmp_path))
    schema = pa.schema([("i", pa.int64()), ("s", pa.string())])
    got = sample_rows(ds, ["i", "s"], schema, rows=400, groups=4)
    assert got.schema == schema                       # plain strings, not dictionaries
    assert got.num_rows == 400
    values = got.column("i").to_pylist()
    # from four row groups spread over all three files, each its first rows
    starts = sorted({v - v % 5_000 for v in values})
    assert len(starts) == 4 and starts[0] < 30_000 and starts[-1] >= 60_000
    assert all(v % 5_000 < 100 for v in values)
    assert got.column("s").to_pylist() == [f"v{v % 3}" for v in values]


def test_parquet_sample_of_a_small_table_is_all_of_it(tmp_path):
    _write(tmp_path / "t.parquet", 0, 25, 100)
    ds = open_dataset(str(tmp_path))
    got = sample_rows(ds, ["i"], pa.schema([("i", pa.int64())]))
    assert got.column("i").to_pylist() == list(range(25))


def test_empty_parquet_table_has_no_sample(tmp_path):
    pq.write_table(pa.table({"i": pa.array([], pa.int64())}), tmp_path / "t.parquet")
    ds = open_dataset(str(tmp_path))
    assert sample_rows(ds, ["i"], pa.schema([("i", pa.int64())])) is None


def test_memory_table_sample():
    t = pa.table({"i": pa.array(range(100_000), pa.int64()), "j": pa.array(range(100_000))})
    got = sample_rows(MemoryTable("t", t), ["i"], pa.schema([("i", pa.int64())]),
                      rows=1000, groups=4)
    values = got.column("i").to_pylist()
    assert got.num_columns == 1 and len(values) == 1000
    assert min(values) < 25_000 and max(values) >= 75_000
    assert sample_rows(MemoryTable("e", t.slice(0, 0)), ["i"],
                       pa.schema([("i", pa.int64())])) is None


def test_text_files_are_not_sampled(tmp_path):
    pcsv.write_csv(pa.table({"i": [1, 2]}), tmp_path / "t.csv")
    ds = open_dataset(str(tmp_path), file_format="csv")
    assert sample_rows(ds, ["i"], pa.schema([("i", pa.int64())])) is None


def test_remote_files_are_not_sampled(tmp_path):
    """Each sampled row group of a remote file is a request at planning
    time (to files partition pruning may skip): no sample."""
    import fsspec
    fs = fsspec.filesystem("memory")
    with fs.open("/sample-test/t.parquet", "wb") as f:
        pq.write_table(pa.table({"i": pa.array(range(10), pa.int64())}), f)
    try:
        ds = open_dataset("memory://sample-test")
        assert ds.num_rows == 10
        assert sample_rows(ds, ["i"], pa.schema([("i", pa.int64())])) is None
    finally:
        fs.rm("/sample-test", recursive=True)


def test_groups_are_chosen_from_counts_not_walked():
    """Choosing the sampled row groups reads one row group's metadata per
    chosen group, however many files and groups the table has; empty files
    are never chosen."""
    from quiver.storage.row_sample import _groups_spread
    opened = []

    class Meta:
        def __init__(self, name):
            self.name = name

        def row_group(self, g):
            opened.append((self.name, g))
            return type("RG", (), {"num_rows": 10})()

    class File:
        def __init__(self, i, groups):
            self.num_row_groups, self.num_rows = groups, 10 * groups
            self.metadata = Meta(i)

    files = [File(i, 0 if i % 3 == 0 else 5) for i in range(30_000)]
    chosen = _groups_spread(files, 4)
    assert len(chosen) == 4 and len(opened) == 4
    names = [f.metadata.name for f, _ in chosen]
    assert all(n % 3 for n in names)                      # no empty file
    assert names[0] < 7_500 and names[-1] > 22_500         # spread over the table
