"""SortExec over a tiny memory budget: runs spilled to disk and merged must
give exactly the in-memory order (and DuckDB's), and the spill files must be
gone afterwards, also after an error or when a LIMIT stops early."""
import os
from decimal import Decimal

import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

import duckdb  # noqa: E402  (test-only oracle)
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

from quiver.executor.context import ExecContext  # noqa: E402
from quiver.executor.operators import sort as sort_mod  # noqa: E402
from quiver.executor.operators import sort_spill  # noqa: E402
from quiver import datatypes as dt  # noqa: E402
from quiver.planner.expr import Call, Literal, SortKey  # noqa: E402
from quiver.planner.physical import LimitExec, SortExec  # noqa: E402

WORDS = ["a", "B", "b", "é", "Z", "ab", "", "zz", "É", "ä", "a\x00", "日本"]
BUDGET = 4096


def _data(n, seed):
    rng = np.random.default_rng(seed)
    f = rng.integers(-3, 3, n).astype(float)
    f[rng.random(n) < 0.1] = np.nan
    dec = [Decimal(int(v)).scaleb(-2) for v in rng.integers(-500, 500, n)]
    return pa.table({
        "i": pa.array(rng.integers(0, 6, n), mask=rng.random(n) < 0.2),
        "s": pa.array(rng.choice(WORDS, n), mask=rng.random(n) < 0.2),
        "f": pa.array(f, mask=rng.random(n) < 0.15),
        "d": pa.array(dec, pa.decimal128(9, 2), mask=rng.random(n) < 0.1),
        "rid": np.arange(n),
    })


def _sql_key(name, k):
    return (f"{name} {'ASC' if k.ascending else 'DESC'} "
            f"NULLS {'FIRST' if k.nulls_first else 'LAST'}")


def _duck_order(t, names, keys):
    order = ", ".join(_sql_key(n, k) for n, k in zip(names, keys))
    con = duckdb.connect()
    con.register("t", t)
    return con.execute(f"SELECT rid FROM t ORDER BY {order}, rid").fetchnumpy()["rid"].tolist()


def _random_keys(t, seed):
    rng = np.random.default_rng(1000 + seed)
    names = [str(x) for x in rng.permutation(["i", "s", "f", "d"])[: rng.integers(1, 5)]]
    keys = tuple(SortKey(T.col(n, t), bool(rng.integers(2)), bool(rng.integers(2)))
                 for n in names)
    return names, keys


def _assert_same_rows(a, b):
    assert a.schema == b.schema
    for name in a.schema.names:             # to numpy: NaN equals NaN here
        x, y = a[name].to_numpy(zero_copy_only=False), b[name].to_numpy(zero_copy_only=False)
        np.testing.assert_array_equal(x, y)


def _spill_ctx(tmp_path, batch_size=50, budget=BUDGET):
    return ExecContext(batch_size=batch_size, memory_budget=budget, spill_dir=str(tmp_path))


def _count_spills(monkeypatch):
    calls = [0]
    real = sort_spill.ExternalSort.spill

    def spy(self, batches):
        calls[0] += 1
        return real(self, batches)
    monkeypatch.setattr(sort_spill.ExternalSort, "spill", spy)
    return calls


@pytest.mark.parametrize("seed", range(8))
def test_spilled_sort_matches_memory_and_duckdb(seed, tmp_path, monkeypatch):
    spills = _count_spills(monkeypatch)
    t = _data(1500, seed)
    names, keys = _random_keys(t, seed)
    node = SortExec(T.leaf(t), keys, None)
    got = T.run(node, ctx=_spill_ctx(tmp_path))
    assert spills[0] > sort_spill.FANIN          # many runs: a multi-pass merge
    mem = T.run(node, ctx=ExecContext(batch_size=50))
    assert got["rid"].to_pylist() == mem["rid"].to_pylist() == _duck_order(t, names, keys)
    _assert_same_rows(got, t.take(mem["rid"]))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fanin", [2, 3])
def test_small_fanin_many_levels(fanin, tmp_path, monkeypatch):
    monkeypatch.setattr(sort_spill, "FANIN", fanin)
    t = _data(900, 42)
    keys = (SortKey(T.col("s", t), False, True), SortKey(T.col("i", t), True, False))
    node = SortExec(T.leaf(t), keys, None)
    got = T.run(node, ctx=_spill_ctx(tmp_path, batch_size=64))
    assert got["rid"].to_pylist() == _duck_order(t, ["s", "i"], keys)
    assert os.listdir(tmp_path) == []


def test_output_batches_have_batch_size_rows(tmp_path):
    t = _data(1000, 3)
    e = Call("neg", (T.col("rid", t),), dt.INT64)
    node = SortExec(T.leaf(t), (SortKey(e, True),), None)
    got = list(T.registry.execute(node, 0, _spill_ctx(tmp_path, batch_size=128)))
    assert [b.num_rows for b in got] == [128] * 7 + [104]
    assert pa.Table.from_batches(got)["rid"].to_pylist() == list(range(999, -1, -1))


def test_all_ties_stay_in_input_order(tmp_path):
    t = _data(800, 5)
    node = SortExec(T.leaf(t), (SortKey(Literal(None, dt.NULL)), SortKey(Literal(1, dt.INT32))))
    assert T.run(node, ctx=_spill_ctx(tmp_path))["rid"].to_pylist() == list(range(800))


def test_dictionary_keys_and_columns(tmp_path):
    t = _data(1200, 9)
    batches = [pa.RecordBatch.from_arrays(
        [b.column(0), b.column(1).dictionary_encode(), b.column(4)], names=["i", "s", "rid"])
        for b in t.to_batches(max_chunksize=11)]       # a dictionary per batch
    node = SortExec(T.leaf([batches]), (SortKey(T.col("s", t), True, True),
                                        SortKey(T.col("i", t), False, False)))
    got = T.run(node, ctx=_spill_ctx(tmp_path))
    ref = T.run(node, ctx=ExecContext())
    assert got["rid"].to_pylist() == ref["rid"].to_pylist()
    assert got["s"].to_pylist() == ref["s"].to_pylist()
    assert os.listdir(tmp_path) == []


def test_fetch_above_top_n_max_spills_and_cuts(tmp_path, monkeypatch):
    monkeypatch.setattr(sort_mod, "TOP_N_MAX", 10)
    spills = _count_spills(monkeypatch)
    t = _data(1000, 11)
    names, keys = _random_keys(t, 11)
    got = T.run(SortExec(T.leaf(t), keys, 137), ctx=_spill_ctx(tmp_path, batch_size=40))
    assert spills[0] > 0
    assert got["rid"].to_pylist() == _duck_order(t, names, keys)[:137]
    assert os.listdir(tmp_path) == []


def test_top_n_never_spills(tmp_path, monkeypatch):
    spills = _count_spills(monkeypatch)
    t = _data(1000, 12)
    names, keys = _random_keys(t, 12)
    got = T.run(SortExec(T.leaf(t), keys, 25), ctx=_spill_ctx(tmp_path))
    assert spills[0] == 0
    assert got["rid"].to_pylist() == _duck_order(t, names, keys)[:25]


def test_limit_stopping_early_removes_spill_files(tmp_path):
    t = _data(1500, 13)
    names, keys = _random_keys(t, 13)
    sort = SortExec(T.leaf(t), keys, None)
    got = T.run(LimitExec(sort, 30), ctx=_spill_ctx(tmp_path, batch_size=20))
    assert got["rid"].to_pylist() == _duck_order(t, names, keys)[:30]
    assert os.listdir(tmp_path) == []


def test_consumer_closing_mid_stream_removes_files(tmp_path):
    t = _data(1500, 14)
    node = SortExec(T.leaf(t), (SortKey(T.col("f", t)),), None)
    it = T.registry.execute(node, 0, _spill_ctx(tmp_path, batch_size=20))
    first = next(it)
    assert first.num_rows == 20
    assert len(os.listdir(tmp_path)) == 1                    # the sort's folder
    assert os.listdir(tmp_path / os.listdir(tmp_path)[0])    # holding runs
    it.close()
    assert os.listdir(tmp_path) == []


def test_error_while_reading_input_removes_files(tmp_path):
    t = _data(1500, 15)

    def failing():
        for i, b in enumerate(t.to_batches(max_chunksize=7)):
            if i == 150:
                raise RuntimeError("source broke")
            yield b
    node = SortExec(T.leaf([failing()]), (SortKey(T.col("i", t)),), None)
    with pytest.raises(RuntimeError, match="source broke"):
        T.run(node, ctx=_spill_ctx(tmp_path))
    assert os.listdir(tmp_path) == []


def test_default_spill_dir_is_temporary_and_removed(monkeypatch, tmp_path):
    made = []
    import quiver.executor.context as context_mod
    real = context_mod.tempfile.mkdtemp

    def spy(*a, **kw):
        made.append(real(*a, **kw))
        return made[-1]
    monkeypatch.setattr(context_mod.tempfile, "mkdtemp", spy)
    t = _data(600, 16)
    node = SortExec(T.leaf(t), (SortKey(T.col("s", t)),), None)
    got = T.run(node, ctx=ExecContext(batch_size=50, memory_budget=BUDGET))
    assert got["rid"].to_pylist() == _duck_order(t, ["s"], node.keys)
    assert len(made) == 1 and not os.path.exists(made[0])


def test_zero_column_input_counts_rows(tmp_path):
    from quiver.executor.operators.values import rows_only_batch
    parts = [[rows_only_batch(40) for _ in range(50)]]
    node = SortExec(T.leaf(parts), (SortKey(Literal(1, dt.INT64)),), None)
    got = list(T.registry.execute(node, 0, _spill_ctx(tmp_path, batch_size=300, budget=256)))
    assert sum(b.num_rows for b in got) == 2000
    assert all(b.num_columns == 0 for b in got)
    assert os.listdir(tmp_path) == []


def test_merge_sorted_breaks_ties_by_run_then_row():
    key = SortKey(None, True, False)
    runs, expect = [], []
    rng = np.random.default_rng(0)
    for r in range(5):
        k = np.sort(rng.integers(0, 4, 60))
        tag = r * 1000 + np.arange(60)
        runs.append(pa.table({"k": k, "tag": tag}).to_batches(max_chunksize=int(rng.integers(1, 20))))
        expect.append(np.stack([k, tag], axis=1))
    allrows = np.concatenate(expect)
    ref = allrows[np.argsort(allrows[:, 0], kind="stable")]
    pieces = list(sort_spill.merge_sorted(runs, [0], [key]))
    got = pa.concat_tables([p if isinstance(p, pa.Table) else pa.Table.from_batches([p])
                            for p in pieces])
    assert got["tag"].to_numpy().tolist() == ref[:, 1].tolist()
