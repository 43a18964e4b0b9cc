"""ParquetScanExec and MemoryScanExec operators; statistics refutation."""

from __future__ import annotations

import datetime
import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from quiver.executor.context import ExecContext
from quiver.executor.operators.memory_scan import memory_scan
from quiver.executor.operators.scan import parquet_scan
from quiver.planner.refute import refuted
from quiver import datatypes as dt
from quiver.planner.expr import Call, Cast, Column, InList, Literal
from quiver.planner.logical import Field
from quiver.planner.physical import MemoryScanExec, ParquetScanExec
from quiver.storage.dataset import open_dataset
from quiver.storage.parquet import ColumnStats, ReadCounters


def _col(name, t=dt.INT64):
    return Column(name, t)


def _cmp(fn, a, b):
    return Call(fn, (a, b), dt.BOOL)


@pytest.fixture
def lineitem(tmp_path):
    """Two Hive partitions, each file with 4 row groups of 25 rows."""
    for flag in ("A", "B"):
        base = 0 if flag == "A" else 100
        t = pa.table({"k": pa.array(range(base, base + 100), pa.int64()),
                      "q": pa.array([float(i % 10) for i in range(100)]),
                      "s": pa.array([f"x{i % 3}" for i in range(100)], pa.large_string())})
        (tmp_path / f"flag={flag}").mkdir()
        pq.write_table(t, tmp_path / f"flag={flag}" / "f.parquet", row_group_size=25)
    return open_dataset(str(tmp_path))


def _scan_node(ds, columns, filters=(), split_groups=None):
    fields = tuple(Field(f"{c}#{i}", ds.schema.field(c).type) for i, c in enumerate(columns))
    splits = ds.splits()
    groups = split_groups or (tuple(splits),)
    return ParquetScanExec("t", fields, tuple(columns), tuple(groups), tuple(filters),
                           ds.protocol, tuple(ds.storage_options.items()))


def _run(node, ctx=None, partitions=None):
    ctx = ctx or ExecContext()
    n = partitions if partitions is not None else max(1, len(getattr(node, "splits", ())) or 1)
    batches = [b for p in range(n) for b in (parquet_scan if isinstance(node, ParquetScanExec)
                                               else memory_scan)(node, p, ctx)]
    return batches


def test_scan_renames_and_types(lineitem):
    node = _scan_node(lineitem, ["s", "k", "flag", "k"])
    batches = _run(node)
    assert all(b.schema.names == ["s#0", "k#1", "flag#2", "k#3"] for b in batches)
    assert all(b.schema.types == [pa.string(), pa.int64(), pa.string(), pa.int64()] for b in batches)
    t = pa.Table.from_batches(batches)
    assert sorted(t.column("k#1").to_pylist()) == list(range(200))
    assert t.column("k#1").equals(t.column("k#3"))
    flags = pc.if_else(pc.less(t.column("k#1"), 100), "A", "B")
    assert t.column("flag#2").equals(flags)


def test_scan_partitions_read_their_splits(lineitem):
    splits = lineitem.splits()
    node = _scan_node(lineitem, ["k"], split_groups=((splits[0],), (splits[1],)))
    ctx = ExecContext()
    p0 = pa.Table.from_batches(list(parquet_scan(node, 0, ctx)))
    p1 = pa.Table.from_batches(list(parquet_scan(node, 1, ctx)))
    assert sorted(p0.column(0).to_pylist() + p1.column(0).to_pylist()) == list(range(200))
    assert p0.num_rows == p1.num_rows == 100


def test_count_star_scan_has_rows(lineitem):
    node = _scan_node(lineitem, [])
    batches = _run(node)
    assert all(b.num_columns == 0 for b in batches)
    assert sum(b.num_rows for b in batches) == 200


def test_filters_applied_and_row_groups_skipped(lineitem, evaluator):
    k = Column("k#0", dt.INT64)
    pred = Call("and", (_cmp("ge", k, Literal(30, dt.INT64)),
                        _cmp("lt", Literal(60, dt.INT64), Column("k#0", dt.INT64))), dt.BOOL)
    # 30 <= k and k > 60  -> rows 61..99 of file A, and everything in B
    node = _scan_node(lineitem, ["k", "flag"], filters=[pred, _cmp("eq", Column("flag#1", dt.STRING), Literal("A", dt.STRING))])
    counters = ReadCounters()
    ctx = ExecContext(options={"scan_counters": counters})
    t = pa.Table.from_batches(_run(node, ctx))
    assert sorted(t.column("k#0").to_pylist()) == list(range(61, 100))
    # file A: groups 0..24 and 25..49 refuted; file B: every group refuted by flag = 'A'
    assert counters.row_groups_read == 2 and counters.row_groups_skipped == 6
    assert counters.rows_read == 50


def test_filter_none_match(lineitem, evaluator):
    node = _scan_node(lineitem, ["k"], filters=[_cmp("gt", Column("k#0", dt.INT64), Literal(10_000, dt.INT64))])
    counters = ReadCounters()
    assert _run(node, ExecContext(options={"scan_counters": counters})) == []
    assert counters.rows_read == 0


def test_memory_scan_slices_and_normalizes(evaluator):
    t = pa.table({"a": pa.array(range(10), pa.int32()),
                  "s": pa.array([f"v{i}" for i in range(10)]).dictionary_encode()})
    fields = (Field("s#1", dt.STRING), Field("a#0", dt.INT32))
    ctx = ExecContext(memory_tables={"m": t}, batch_size=3)
    node = MemoryScanExec("m", fields, ("s", "a"), num_partitions=3)
    parts = [pa.Table.from_batches(list(memory_scan(node, p, ctx)),
                                   schema=pa.schema([("s#1", pa.string()), ("a#0", pa.int32())]))
             for p in range(3)]
    assert [p.num_rows for p in parts] == [3, 3, 4]
    assert pa.concat_tables(parts).column("a#0").to_pylist() == list(range(10))
    assert pa.concat_tables(parts).column("s#1").to_pylist() == [f"v{i}" for i in range(10)]
    # filter and zero-column scan
    node_f = MemoryScanExec("m", fields, ("s", "a"), 2,
                            (_cmp("ge", Column("a#0", dt.INT32), Literal(7, dt.INT32)),))
    got = [b for p in range(2) for b in memory_scan(node_f, p, ctx)]
    assert pa.Table.from_batches(got).column("a#0").to_pylist() == [7, 8, 9]
    node0 = MemoryScanExec("m", (), (), 4)
    got0 = [b for p in range(4) for b in memory_scan(node0, p, ctx)]
    assert sum(b.num_rows for b in got0) == 10 and all(b.num_columns == 0 for b in got0)


# --- refutation against brute force ---------------------------------------------------

def _stats(arr: pa.Array) -> ColumnStats:
    valid = arr.drop_null()
    if len(valid) == 0:
        return ColumnStats(None, None, arr.null_count, len(arr))
    mm = pc.min_max(valid)
    return ColumnStats(mm["min"].as_py(), mm["max"].as_py(), arr.null_count, len(arr))


def test_refuted_never_drops_matching_rows(reference_eval):
    rng = np.random.default_rng(7)
    ops = ["eq", "ne", "lt", "le", "gt", "ge"]
    checked = pruned = 0
    for _ in range(600):
        n = int(rng.integers(1, 8))
        vals = rng.integers(0, 10, n)
        mask = rng.random(n) < 0.3
        arr = pa.array(vals, pa.int64(), mask=mask)
        batch = pa.record_batch([arr], names=["x"])
        x = Column("x", dt.INT64)
        lit = Literal(int(rng.integers(-1, 11)), dt.INT64)
        kind = rng.integers(0, 6)
        if kind == 0:
            e = _cmp(ops[rng.integers(0, 6)], x, lit)
        elif kind == 1:
            e = _cmp(ops[rng.integers(0, 6)], lit, x)
        elif kind == 2:
            e = InList(x, tuple(Literal(int(v), dt.INT64) for v in rng.integers(0, 12, 3)))
        elif kind == 3:
            e = Call(["is_null", "is_not_null"][rng.integers(0, 2)], (x,), dt.BOOL)
        elif kind == 4:
            e = Call("or", (_cmp("lt", x, lit), _cmp("gt", x, Literal(int(rng.integers(0, 10)), dt.INT64))), dt.BOOL)
        else:
            e = Call("and", (_cmp("ge", x, lit), _cmp("le", Cast(x, dt.decimal(20, 0)), Literal(decimal.Decimal(int(rng.integers(0, 10))), dt.decimal(20, 0)))), dt.BOOL)
        stats = _stats(arr)
        is_refuted = refuted(e, lambda name: stats if name == "x" else None)
        any_true = pc.any(pc.fill_null(reference_eval(e, batch), False)).as_py()
        checked += 1
        if is_refuted:
            pruned += 1
            assert not any_true, (e, arr)
    assert pruned > 100   # the test exercises pruning, not only keeping


def test_refuted_special_cases():
    s = ColumnStats(datetime.date(2020, 1, 1), datetime.date(2020, 12, 31), 0, 10)
    d = Column("d", dt.DATE)
    stats_of = {"d": s}.get
    assert refuted(_cmp("lt", d, Literal(datetime.date(2019, 1, 1), dt.DATE)), stats_of)
    assert not refuted(_cmp("lt", d, Literal(datetime.date(2020, 6, 1), dt.DATE)), stats_of)
    # incomparable literal: kept
    assert not refuted(_cmp("lt", d, Literal("2019-01-01", dt.STRING)), stats_of)
    # NULL literal and constant FALSE: nothing matches
    assert refuted(_cmp("eq", d, Literal(None, dt.DATE)), stats_of)
    assert refuted(Literal(False, dt.BOOL), stats_of)
    # unknown columns and other shapes are kept
    assert not refuted(_cmp("eq", Column("zz", dt.INT64), Literal(1, dt.INT64)), stats_of)
    assert not refuted(Call("like", (d, Literal("x", dt.STRING)), dt.BOOL), stats_of)
    # floats: NaN hides above max, so gt is never pruned
    f = {"f": ColumnStats(1.0, 2.0, 0, 5)}.get
    assert not refuted(_cmp("gt", Column("f", dt.FLOAT64), Literal(5.0, dt.FLOAT64)), f)
    assert refuted(_cmp("lt", Column("f", dt.FLOAT64), Literal(0.5, dt.FLOAT64)), f)
