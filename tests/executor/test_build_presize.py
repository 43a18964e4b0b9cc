"""A join whose build input is a stage output the store counts sizes its
key table once (no doubling and rehashing), when the pool grants it; the
answer is the same either way."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import quiver.executor.operators  # noqa: F401
from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.executor.kernels import hash_tables as ht
from quiver.executor.kernels.key_encoder import KeyEncoder
from quiver.executor.operators import join_build as jb
from quiver.executor.shuffle import MemoryShuffleStore
from quiver.planner.expr import Column
from quiver.planner.logical import Field
from quiver.planner.physical import HashJoinExec, ShuffleReadExec


def test_presized_table_never_grows(monkeypatch):
    grows = []
    real = ht.Int64Table._grow
    monkeypatch.setattr(ht.Int64Table, "_grow", lambda self: (grows.append(1), real(self)))
    keys = np.random.default_rng(1).permutation(50_000).astype(np.int64)
    plain = ht.Int64Table()
    want = plain.insert(keys)
    assert grows
    grows.clear()
    table = ht.Int64Table()
    assert table.presize_bytes(50_000) == 16 * 131072
    table.presize(50_000)
    assert len(table.slots) == 131072 and table.presize_bytes(50_000) == 0
    assert np.array_equal(table.insert(keys), want) and not grows
    assert np.array_equal(table.lookup(keys[::-1]), want[::-1])


def test_presize_keeps_keys_already_inserted():
    table = ht.Int64Table()
    first = table.insert(np.arange(100, dtype=np.int64))
    table.presize(10_000)
    assert np.array_equal(table.lookup(np.arange(100, dtype=np.int64)), first)


@pytest.mark.parametrize("types,presized", [
    ([pa.int64()], True),                     # the column's table
    ([pa.int64(), pa.int32()], True),         # the last combiner
    ([pa.string()], False),                   # strings: tables of their own kind
    ([pa.int64(), pa.string()], False),       # row keys may be chosen on the first rows
])
def test_encoder_presizes_the_table_of_its_final_ids(types, presized):
    enc = KeyEncoder(types)
    need = enc.presize_bytes(10_000)
    assert (need > 0) == presized
    before = enc.nbytes
    enc.presize(10_000)
    assert (enc.nbytes > before) == presized


def _fields(t: pa.Table):
    return tuple(Field(f.name, f.type) for f in t.schema)


def _join_setup(mode: str):
    rng = np.random.default_rng(3)
    build = pa.table({"b": pa.array(rng.permutation(20_000), pa.int64()),
                      "y": pa.array(np.arange(20_000), pa.int64())})
    probe = pa.table({"a": pa.array(rng.integers(0, 40_000, 30_000), pa.int64())})
    store = MemoryShuffleStore()
    parts = build.to_batches(max_chunksize=4096)
    for task, b in enumerate(parts):          # several producer tasks
        store.write(2, task, 0, [b])
    store.write(1, 0, 0, probe.to_batches(max_chunksize=1024))
    left = ShuffleReadExec(1, _fields(probe), 1, "hash")
    right = ShuffleReadExec(2, _fields(build), 1, "all" if mode == "broadcast" else "hash")
    node = HashJoinExec(left, right, "inner", (Column("a", pa.int64()),),
                        (Column("b", pa.int64()),), mode=mode)
    return node, store, probe, build


@pytest.mark.parametrize("mode", ["partitioned", "broadcast"])
def test_join_build_is_sized_from_the_stored_rows(monkeypatch, mode):
    node, store, probe, build = _join_setup(mode)
    assert store.partition_rows(2, None) == store.partition_rows(2, 0) == build.num_rows
    assert jb.stored_rows(node.right, 0, ExecContext(shuffle=store)) == build.num_rows
    sized = []
    real = KeyEncoder.presize
    monkeypatch.setattr(KeyEncoder, "presize", lambda self, k: (sized.append(k), real(self, k)))
    out = pa.Table.from_batches(list(registry.execute(node, 0, ExecContext(shuffle=store))))
    assert sized == [build.num_rows]
    b = build.column("b").to_numpy()
    want = int(np.isin(probe.column("a").to_numpy(), b).sum())
    assert out.num_rows == want > 0
    assert set(out.column("y").to_numpy()) <= set(build.column("y").to_numpy())


def test_no_presize_when_the_pool_refuses_it(monkeypatch):
    """The size hint is only taken when granted: a tight limit still builds
    (growing as it goes, or spilling), never fails because of the hint."""
    node, store, probe, build = _join_setup("partitioned")
    sized = []
    monkeypatch.setattr(KeyEncoder, "presize", lambda self, k: sized.append(k))
    ctx = ExecContext(shuffle=store, memory_limit=400_000)
    out = pa.Table.from_batches(list(registry.execute(node, 0, ctx)))
    assert not sized
    want = int(np.isin(probe.column("a").to_numpy(), build.column("b").to_numpy()).sum())
    assert out.num_rows == want
