"""ShuffleWriteExec + ShuffleReadExec round trips through MemoryShuffleStore."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import quiver.executor.operators  # noqa: F401
from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.executor.shuffle import MemoryShuffleStore
from quiver.planner.expr import Column
from quiver.planner.logical import Field
from quiver.planner.physical import (HashPartitioning, MemoryScanExec, ShuffleReadExec,
                                     ShuffleWriteExec, SinglePartitioning)


@dataclass(frozen=True)
class ShuffleSource(MemoryScanExec):
    parts: Any = field(default=None, compare=False, hash=False)


@registry.implements(ShuffleSource)
def _source(node, partition, ctx):
    yield from node.parts[partition]


def make_table(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "k": pa.array(rng.integers(0, 50, n), pa.int64(), mask=rng.random(n) < 0.05),
        "s": pa.array(rng.choice(["a", "b", "c", "dd"], n), pa.string(),
                      mask=rng.random(n) < 0.05),
        "v": pa.array(np.arange(n), pa.int64()),
    })


def source(t: pa.Table, parts: int) -> ShuffleSource:
    n = t.num_rows
    bounds = [n * i // parts for i in range(parts + 1)]
    pl = [t.slice(bounds[i], bounds[i + 1] - bounds[i]).to_batches(max_chunksize=9)
          for i in range(parts)]
    fields = tuple(Field(f.name, f.type) for f in t.schema)
    return ShuffleSource("t", fields, (), parts, (), pl)


def write_all(node: ShuffleWriteExec, tasks: int, ctx: ExecContext) -> None:
    for task in range(tasks):
        assert list(registry.execute(node, task, ctx)) == []


def read(stage: int, fields, parts: int, mode: str, partition: int, ctx) -> list[pa.RecordBatch]:
    node = ShuffleReadExec(stage, fields, parts, mode, producer_tasks=3)
    return list(registry.execute(node, partition, ctx))


@pytest.mark.parametrize("keys", [["k"], ["s", "k"]])
def test_hash_round_trip(keys):
    t = make_table(1000)
    ctx = ExecContext(shuffle=MemoryShuffleStore(), batch_size=64)
    src = source(t, 3)
    exprs = tuple(Column(k, t.schema.field(k).type) for k in keys)
    write_all(ShuffleWriteExec(src, 7, HashPartitioning(exprs, 4)), 3, ctx)
    seen_keys: dict = {}
    all_rows = []
    for p in range(4):
        batches = read(7, src.fields, 4, "hash", p, ctx)
        for b in batches:
            assert b.schema.names == ["k", "s", "v"] and b.num_rows <= 64
        tab = pa.Table.from_batches(batches, schema=t.schema) if batches else t.slice(0, 0)
        rows = tab.to_pylist()
        all_rows += rows
        for r in rows:
            key = tuple(r[k] for k in keys)
            assert seen_keys.setdefault(key, p) == p      # equal keys, same partition
    assert sorted(r["v"] for r in all_rows) == list(range(1000))
    assert sorted(all_rows, key=lambda r: r["v"]) == t.to_pylist()
    assert len(set(seen_keys.values())) == 4              # every partition got rows


def test_empty_partitions_are_written():
    t = pa.table({"k": pa.array([1, 1, 1], pa.int64())})
    store = MemoryShuffleStore()
    ctx = ExecContext(shuffle=store)
    src = source(t, 1)
    write_all(ShuffleWriteExec(src, 1, HashPartitioning((Column("k", pa.int64()),), 5)), 1, ctx)
    assert sorted(store._data[1]) == [0, 1, 2, 3, 4]
    counts = [sum(b.num_rows for b in read(1, src.fields, 5, "hash", p, ctx)) for p in range(5)]
    assert sorted(counts) == [0, 0, 0, 0, 3]


def test_single_partitioning_and_read_all():
    t = make_table(300, seed=2)
    ctx = ExecContext(shuffle=MemoryShuffleStore(), batch_size=100)
    src = source(t, 3)
    write_all(ShuffleWriteExec(src, 2, SinglePartitioning()), 3, ctx)
    batches = read(2, src.fields, 1, "hash", 0, ctx)
    assert [b.num_rows for b in batches] == [100, 100, 100]   # 9-row batches coalesced
    assert pa.Table.from_batches(batches).to_pylist() == t.to_pylist()
    # mode 'all' ignores the partition number
    again = read(2, src.fields, 1, "all", 5, ctx)
    assert pa.Table.from_batches(again).to_pylist() == t.to_pylist()


def test_read_renames_to_node_fields_and_keeps_big_batches():
    store = MemoryShuffleStore()
    big = pa.record_batch({"a": pa.array(np.arange(500))})
    store.write(3, 0, 0, [pa.record_batch({"a": pa.array([1, 2])}), big])
    ctx = ExecContext(shuffle=store, batch_size=100)
    out = read(3, (Field("x#1", pa.int64()),), 1, "hash", 0, ctx)
    assert [b.num_rows for b in out] == [2, 500]
    assert all(b.schema.names == ["x#1"] for b in out)


def test_a_spilled_shuffle_write_is_written_to_disk_once(tmp_path):
    # under a tiny limit the shuffle write spills its buffers; the embedded
    # store adopts those files instead of reading them back and writing a
    # second copy, and the rows come back whole
    t = make_table(6000, seed=4)
    ctx = ExecContext(batch_size=64, memory_limit="16KB", spill_dir=str(tmp_path))
    store = ctx.shuffle = MemoryShuffleStore(ctx)
    src = source(t, 3)
    write_all(ShuffleWriteExec(src, 5, HashPartitioning((Column("k", pa.int64()),), 4)), 3, ctx)
    entries = [e for part in store._data[5].values() for e in part.values()]
    adopted = [path for held, path in entries if path is not None and not held]
    assert adopted                                       # whole partitions on disk, adopted
    got = [b for p in range(4) for b in read(5, src.fields, 4, "hash", p, ctx)]
    assert sorted(pa.Table.from_batches(got).to_pylist(), key=lambda r: r["v"]) == t.to_pylist()
    spilled = ctx.memory_report()["spilled"]
    assert 0 < spilled <= t.nbytes * 1.2                 # once, not twice
    store.drop_stage(5)
    ctx.close()
    assert list(tmp_path.iterdir()) == []
