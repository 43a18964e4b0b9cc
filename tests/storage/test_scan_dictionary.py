"""Low-cardinality strings read as dictionaries; the scan filters conjunct by
conjunct (executor/scan_filter.py) and hands out plain string columns."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from quiver.errors import DataError
from quiver.executor.context import ExecContext
from quiver.executor.operators.scan import parquet_scan
from quiver.executor.scan_filter import ScanFilter
from quiver import datatypes as dt
from quiver.planner.expr import Call, Column, InList, Literal
from quiver.planner.logical import Field
from quiver.planner.physical import ParquetScanExec
from quiver.storage.dataset import open_dataset
from quiver.storage.parquet import dictionary_columns, read_split

MODES = ["AIR", "RAIL", None, "SHIP", "TRUCK", "MAIL"]


def _table(n=2000):
    return pa.table({
        "k": pa.array(range(n), pa.int64()),
        "mode": pa.array([MODES[i % 6] for i in range(n)], pa.string()),
        "comment": pa.array([f"unique comment number {i} padded out" for i in range(n)]),
        "d": pa.array([i % 5 for i in range(n)], pa.int64()),
    })


@pytest.fixture
def ds(tmp_path):
    pq.write_table(_table(), tmp_path / "f.parquet", row_group_size=300)
    return open_dataset(str(tmp_path))


def _node(ds, columns, filters=()):
    fields = tuple(Field(f"{c}#{i}", ds.schema.field(c).type) for i, c in enumerate(columns))
    return ParquetScanExec("t", fields, tuple(columns), (tuple(ds.splits()),), tuple(filters),
                           ds.protocol, tuple(ds.storage_options.items()))


def _scan(node, batch_size=None):
    ctx = ExecContext()
    if batch_size:
        ctx.batch_size = batch_size
    batches = list(parquet_scan(node, 0, ctx))
    out_types = [f.dtype for f in node.fields]
    for b in batches:
        assert b.schema.types == out_types
    if not batches:
        return pa.table({f.name: pa.array([], f.dtype) for f in node.fields})
    return pa.Table.from_batches(batches)


def test_only_low_cardinality_dictionary_columns_are_chosen(ds):
    meta = pq.read_metadata(ds.splits()[0].path)
    groups = list(range(meta.num_row_groups))
    assert dictionary_columns(meta, groups, ["mode", "comment"]) == ["mode"]


def test_read_split_keeps_or_decodes_dictionaries(ds):
    split = ds.splits()[0]
    plain = pa.Table.from_batches(list(read_split(split, ["mode", "k"], ds.schema)))
    assert plain.schema.field("mode").type == pa.string()
    assert plain.equals(_table().select(["mode", "k"]))
    kept = list(read_split(split, ["mode", "k"], ds.schema, keep_dictionary=True))
    assert pa.types.is_dictionary(kept[0].schema.field("mode").type)
    # row groups of 300 rows are joined into batches of at least half a batch
    assert len(kept) == 1
    decoded = pa.chunked_array([b.column(0) for b in kept]).cast(pa.string())
    assert decoded.equals(_table().column("mode"))


def test_scan_filters_dictionary_and_plain_conjuncts(ds):
    mode = Column("mode#0", dt.STRING)
    k = Column("k#1", dt.INT64)
    filters = [Call("gt", (k, Literal(100, dt.INT64)), dt.BOOL),
               InList(mode, (Literal("AIR", dt.STRING), Literal("MAIL", dt.STRING)), False),
               Call("ne", (mode, Literal("MAIL", dt.STRING)), dt.BOOL)]
    got = _scan(_node(ds, ["mode", "k"], filters), batch_size=512)
    t = _table()
    want = t.filter(pc.and_(pc.greater(t["k"], 100), pc.equal(t["mode"], "AIR")))
    assert got.column(0).to_numpy(zero_copy_only=False).tolist() == want["mode"].to_numpy(
        zero_copy_only=False).tolist()
    assert got.column(1).equals(want["k"])


def test_dictionary_conjunct_true_on_null_rows(ds):
    mode = Column("mode#0", dt.STRING)
    filters = [Call("is_null", (mode,), dt.BOOL)]
    got = _scan(_node(ds, ["mode", "k"], filters))
    t = _table()
    assert got.column(1).equals(t.filter(pc.is_null(t["mode"]))["k"])
    assert got.column(0).null_count == got.num_rows > 0


def test_conjunct_that_may_raise_sees_only_rows_kept_before_it():
    # d <> 0 AND 10 / d > 2: the division must never see d = 0
    batch = pa.RecordBatch.from_arrays([pa.array([0, 1, 2, 5, 0, 4], pa.int64()),
                                        pa.array(["a", "b", "a", "a", "b", "a"]).dictionary_encode()],
                                       names=["d", "s"])
    d = Column("d", dt.INT64)
    s = Column("s", dt.STRING)
    nonzero = Call("ne", (d, Literal(0, dt.INT64)), dt.BOOL)
    div = Call("gt", (Call("intdiv", (Literal(10, dt.INT64), d), dt.INT64),
                      Literal(2, dt.INT64)), dt.BOOL)
    is_a = Call("eq", (s, Literal("a", dt.STRING)), dt.BOOL)
    out = ScanFilter([nonzero, div, is_a]).apply(batch)
    assert out.column(0).to_pylist() == [2]
    with pytest.raises(DataError):
        ScanFilter([div, nonzero]).apply(batch)


def test_sql_over_dictionary_strings_matches_pyarrow(tmp_path):
    import quiver
    pq.write_table(_table(), tmp_path / "f.parquet", row_group_size=300)
    con = quiver.connect()
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{tmp_path}'")
    rows = con.execute("SELECT mode, count(*), sum(k) FROM t WHERE mode LIKE '%A%' AND d < 3 "
                       "GROUP BY mode ORDER BY mode").fetchall()
    t = _table()
    t = t.filter(pc.and_(pc.match_like(t["mode"], "%A%"), pc.less(t["d"], 3)))
    want = t.group_by("mode").aggregate([("k", "count"), ("k", "sum")]).sort_by("mode")
    expected = list(zip(want["mode"].to_pylist(), want["k_count"].to_pylist(),
                        want["k_sum"].to_pylist()))
    assert [tuple(r) for r in rows] == expected and len(expected) == 3


@pytest.mark.parametrize("seed", range(4))
def test_anded_and_narrowed_masks_keep_the_rows_all_conjuncts_keep(seed):
    # conjuncts keeping ~90%, ~40% and ~10% of rows, with NULLs, in every
    # order: the result is the rows where every conjunct is TRUE
    import itertools
    import random
    rng = random.Random(seed)
    n = 5000
    x = [None if rng.random() < 0.05 else rng.randrange(100) for _ in range(n)]
    y = [rng.randrange(100) for _ in range(n)]
    batch = pa.RecordBatch.from_arrays([pa.array(x, pa.int64()), pa.array(y, pa.int64())],
                                       names=["x", "y"])
    cx, cy = Column("x", dt.INT64), Column("y", dt.INT64)
    conj = [Call("ge", (cx, Literal(10, dt.INT64)), dt.BOOL),
            Call("lt", (cy, Literal(40, dt.INT64)), dt.BOOL),
            Call("lt", (cx, Literal(20, dt.INT64)), dt.BOOL)]
    want = [(a, b) for a, b in zip(x, y) if a is not None and 10 <= a < 20 and b < 40]
    for order in itertools.permutations(conj):
        out = ScanFilter(list(order)).apply(batch)
        assert list(zip(out.column(0).to_pylist(), out.column(1).to_pylist())) == want


@pytest.mark.parametrize("index_type", [pa.int8(), pa.int32(), pa.int64()])
def test_dictionary_conjuncts_of_several_columns_are_anded(index_type):
    # two dictionary columns without NULLs (one pass each into one mask) and
    # one with NULLs (its own path); dictionaries in different orders
    import random
    rng = random.Random(7)
    n = 3000
    a = [rng.choice("pqrs") for _ in range(n)]
    b = [rng.choice(["x", "yy", "zzz"]) for _ in range(n)]
    c = [None if rng.random() < 0.1 else rng.choice("uv") for _ in range(n)]

    def as_dict(values, order):
        dictionary = pa.array(order)
        indices = pa.array([None if v is None else order.index(v) for v in values], index_type)
        return pa.DictionaryArray.from_arrays(indices, dictionary)

    batch = pa.RecordBatch.from_arrays(
        [as_dict(a, list("srqp")), as_dict(b, ["zzz", "x", "yy"]), as_dict(c, list("vu")),
         pa.array(range(n), pa.int64())], names=["a", "b", "c", "k"])
    ca, cb, cc = (Column(x, dt.STRING) for x in "abc")
    conj = [InList(ca, (Literal("p", dt.STRING), Literal("r", dt.STRING)), False),
            Call("ne", (cb, Literal("yy", dt.STRING)), dt.BOOL),
            Call("eq", (cc, Literal("u", dt.STRING)), dt.BOOL)]
    want = [i for i in range(n) if a[i] in "pr" and b[i] != "yy" and c[i] == "u"]
    assert ScanFilter(conj).apply(batch).column(3).to_pylist() == want
    want_ab = [i for i in range(n) if a[i] in "pr" and b[i] != "yy"]
    assert ScanFilter(conj[:2]).apply(batch).column(3).to_pylist() == want_ab


def test_filtered_row_groups_are_joined_after_filtering(ds):
    """Row groups read as dictionaries come one batch each; with filters the
    scan filters each and joins the rows kept into batches of at least half
    the batch size (only kept rows are copied), in file order."""
    node = _node(ds, ["k", "mode"])
    k, mode = Column(node.fields[0].name, dt.INT64), Column(node.fields[1].name, dt.STRING)
    filters = [InList(mode, (Literal("AIR", dt.STRING), Literal("SHIP", dt.STRING)), False),
               Call("lt", (k, Literal(1900, dt.INT64)), dt.BOOL)]
    ctx = ExecContext()
    ctx.batch_size = 1200        # row groups of 300 rows, a third of them kept
    batches = list(parquet_scan(_node(ds, ["k", "mode"], filters), 0, ctx))
    # joined before filtering, two groups (600 rows) would keep 200 each
    assert [b.num_rows >= 600 for b in batches[:-1]] == [True] * (len(batches) - 1)
    assert len(batches) == 2
    got = pa.Table.from_batches(batches)
    t = _table()
    want = t.filter(pc.and_(pc.is_in(t["mode"], pa.array(["AIR", "SHIP"])),
                            pc.less(t["k"], 1900)))
    assert got.column(0).to_pylist() == want["k"].to_pylist()
    assert got.column(1).to_pylist() == want["mode"].to_pylist()
