"""HashSpillFiles: rows with equal keys land in the same file, every row comes
back once, spilled bytes reach the reservation, kept parts are handed back
instead of written, and another salt splits one part's rows again."""

import pyarrow as pa
import pyarrow.compute as pc

from quiver.executor.hash_spill_files import FANOUT, HashSpillFiles


class _Res:
    def __init__(self):
        self.spilled = 0

    def record_spill(self, n):
        self.spilled += n


def _batch(n, offset=0):
    k = pa.array([(i * 7) % 50 for i in range(offset, offset + n)], pa.int64())
    return pa.record_batch({"k": k, "v": pa.array(range(offset, offset + n), pa.int64())})


def test_equal_keys_share_a_file_and_every_row_comes_back(tmp_path):
    res = _Res()
    schema = _batch(1).schema
    files = HashSpillFiles(str(tmp_path), "rows", schema, res)
    for i in range(3):
        b = _batch(1000, i * 1000)
        files.write(b, [b.column("k")], salt=11)
    files.finish()
    parts = files.written()
    assert 1 < len(parts) <= FANOUT
    seen_keys, values = {}, []
    for p in parts:
        t = pa.Table.from_batches(list(files.read(p)), schema=schema)
        assert t.num_rows == files.rows[p]
        for k in pc.unique(t.column("k")).to_pylist():
            assert seen_keys.setdefault(k, p) == p         # a key lives in one file
        values += t.column("v").to_pylist()
    assert sorted(values) == list(range(3000))
    assert res.spilled == files.bytes_written > 0
    assert list(files.read(next(p for p in range(FANOUT) if p not in parts))) == []


def test_kept_parts_come_back_instead_of_being_written(tmp_path):
    res = _Res()
    b = _batch(2000)
    files = HashSpillFiles(str(tmp_path), "rows", b.schema, res)
    kept = files.write(b, [b.column("k")], salt=3, keep={0, 1, 2, 3})
    files.finish()
    assert {p for p, _ in kept} <= {0, 1, 2, 3} and kept
    assert not set(files.written()) & {0, 1, 2, 3}
    assert sum(r.num_rows for _, r in kept) + sum(files.rows) == 2000


def test_a_batch_takes_the_files_names_and_empty_batches_write_nothing(tmp_path):
    schema = pa.schema([("a", pa.int64()), ("b", pa.int64())])
    files = HashSpillFiles(str(tmp_path), "rows", schema, _Res())
    b = _batch(10)
    assert files.write(b.slice(0, 0), [b.column("k").slice(0, 0)], salt=1) == []
    assert files.written() == []
    files.write(b, [b.column("k")], salt=1)
    files.finish()
    out = [x for p in files.written() for x in files.read(p)]
    assert all(x.schema.names == ["a", "b"] for x in out)


def test_another_salt_splits_one_part_again(tmp_path):
    b = _batch(5000)
    first = HashSpillFiles(str(tmp_path), "one", b.schema, _Res())
    first.write(b, [b.column("k")], salt=100)
    first.finish()
    p = max(first.written(), key=lambda q: first.rows[q])
    rows = pa.Table.from_batches(list(first.read(p))).to_batches()[0]
    second = HashSpillFiles(str(tmp_path), "two", b.schema, _Res())
    second.write(rows, [rows.column("k")], salt=200)
    second.finish()
    assert len(second.written()) > 1 or pc.count_distinct(rows.column("k")).as_py() == 1
