"""Hash tables ask their grow guard before they allocate a larger array, so
an operator can reserve (or refuse) a table's next size before it exists."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor.kernels.hash_tables import BytesTable, Int64Table
from quiver.executor.kernels.key_encoder import KeyEncoder


class _Refused(Exception):
    pass


class _Budget:
    """A grow guard that grants until `limit` bytes and records each ask,
    with what the tables held when it was asked."""

    def __init__(self, limit: int, held=lambda: 0):
        self.limit, self.granted, self.asks, self.held = limit, 0, [], held

    def __call__(self, nbytes: int) -> None:
        self.asks.append((nbytes, self.held()))
        if self.granted + nbytes > self.limit:
            raise _Refused(nbytes)
        self.granted += nbytes


def test_int_table_asks_for_each_doubling_before_it_allocates():
    t = Int64Table()
    budget = _Budget(1 << 40, held=lambda: t.nbytes)
    t.grow_guard = budget
    start = t.nbytes
    ids = t.insert(np.arange(100_000, dtype=np.int64))
    assert np.array_equal(ids, np.arange(100_000))
    assert budget.asks, "a table that grew never asked"
    for nbytes, held_then in budget.asks:
        assert nbytes == 2 * held_then      # the new arrays: twice the old ones
    assert sum(n for n, _ in budget.asks) >= t.nbytes - start


def test_int_table_refused_growth_raises_before_allocating():
    t = Int64Table()
    before = t.nbytes
    t.grow_guard = _Budget(0)
    with pytest.raises(_Refused):
        t.insert(np.arange(10_000, dtype=np.int64))
    assert t.nbytes == before


def test_bytes_table_asks_for_slots_offsets_and_arena():
    t = BytesTable()
    budget = _Budget(1 << 40, held=lambda: t.nbytes)
    t.grow_guard = budget
    start = t.nbytes
    values = pa.array([f"key-{i:08d}-" + "x" * (i % 40) for i in range(50_000)])
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[:len(values) + 1].astype(np.int64)
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    ids = t.insert(offsets, data)
    assert np.array_equal(ids, np.arange(50_000))
    assert sum(n for n, _ in budget.asks) >= t.nbytes - start


def test_key_encoder_guards_every_table():
    budget = _Budget(1 << 40)
    enc = KeyEncoder([pa.int64(), pa.string()], grow_guard=budget)
    start = enc.nbytes
    n = 60_000
    keys = [pa.array(np.arange(n) % 7919), pa.array([f"s{i}" if i % 3 else f"long-string-{i}" for i in range(n)])]
    ids = enc.encode(keys)
    assert enc.num_keys == len(np.unique(ids)) == n
    # every byte the tables grew by was asked for first (old arrays are freed after)
    assert budget.granted >= enc.nbytes - start


def test_key_encoder_refusal_surfaces_to_the_caller():
    enc = KeyEncoder([pa.int64()], grow_guard=_Budget(64 << 10))
    with pytest.raises(_Refused):
        enc.encode([pa.array(np.arange(200_000))])


def test_growth_bound_covers_what_an_insert_allocates():
    """growth_bound(rows) bounds the bytes the tables hold at any moment of
    an insert of `rows` new keys beyond what they held before (a doubling's
    old and new arrays together), and is 0 while the keys fit."""
    for types, make in (
            ([pa.int64()], lambda lo, n: [pa.array(np.arange(lo, lo + n))]),
            ([pa.string(), pa.int32()], lambda lo, n: [
                pa.array([f"k{i}" * (1 + i % 9) for i in range(lo, lo + n)]),
                pa.array(np.arange(lo, lo + n) % 13, pa.int32())])):
        holder = {}
        budget = _Budget(1 << 40, held=lambda: holder["enc"].nbytes)
        enc = holder["enc"] = KeyEncoder(types, grow_guard=budget)
        lo = 0
        for n in (10, 500, 5_000, 40_000):
            bound = enc.growth_bound(n)
            start, budget.asks = enc.nbytes, []
            enc.encode(make(lo, n))
            lo += n
            peak = max([held + ask for ask, held in budget.asks] + [enc.nbytes])
            assert peak - start <= bound
    t = Int64Table()
    assert t.growth_bound(100) == 0      # 1024 slots hold 512 keys
    assert t.growth_bound(600) > 0
