"""A partitioned inner or outer join builds on its left input when, at run
time, the shuffle store says that partition of the left input is the smaller
one (a LEFT join runs as a RIGHT join of the swapped inputs); the rows and
their column order are those of the unswapped join."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import quiver.executor.operators  # noqa: F401
from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.executor.operators import hash_join as hj
from quiver.executor.shuffle import MemoryShuffleStore
from quiver.planner.expr import Column
from quiver.planner.logical import Field
from quiver.planner.physical import HashJoinExec, ShuffleReadExec


def _fields(t: pa.Table):
    return tuple(Field(f.name, f.type) for f in t.schema)


def _setup(tmp_path, spill_left: bool):
    rng = np.random.default_rng(5)
    small = pa.table({"a": pa.array(rng.integers(0, 300, 200), pa.int64()),
                      "x": pa.array([f"s{i}" for i in range(200)])})
    big = pa.table({"b": pa.array(rng.integers(0, 300, 3000), pa.int64()),
                    "y": pa.array(np.arange(3000), pa.int64())})
    store = MemoryShuffleStore()
    store.write(1, 0, 0, small.to_batches(max_chunksize=64))
    if spill_left:          # a producer's output that went to disk: rows counted from the file
        path = str(tmp_path / "out.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, small.schema) as w:
            for b in small.to_batches(max_chunksize=50):
                w.write_batch(b)
        store._data[1][0][1] = ([], path)
        small = pa.concat_tables([small, small])
    store.write(2, 0, 0, big.to_batches(max_chunksize=64))
    left = ShuffleReadExec(1, _fields(small), 1, "hash")
    right = ShuffleReadExec(2, _fields(big), 1, "hash")
    node = HashJoinExec(left, right, "inner", (Column("a", pa.int64()),),
                        (Column("b", pa.int64()),))
    return node, store, small, big


def _run(node, store):
    ctx = ExecContext(shuffle=store, batch_size=128)
    out = list(registry.execute(node, 0, ctx))
    return pa.Table.from_batches(out) if out else None


@pytest.mark.parametrize("spill_left", [False, True])
def test_smaller_left_partition_is_built_and_columns_keep_their_order(tmp_path, monkeypatch,
                                                                      spill_left):
    node, store, small, big = _setup(tmp_path, spill_left)
    assert store.partition_rows(1, 0) == small.num_rows
    assert hj._build_on_left(node, 0, ExecContext(shuffle=store))
    built = []
    real_join = hj._join
    monkeypatch.setattr(hj, "_join", lambda n, r, l, ctx, level, report_as=None, **kw:
                        (built.append(n.right.stage_id), real_join(n, r, l, ctx, level,
                                                                   report_as, **kw))[1])
    swapped = _run(node, store)
    assert built == [1]                          # the left input (stage 1) was built
    monkeypatch.setattr(hj, "_SWAP_BELOW", 0.0)
    plain = _run(node, store)
    assert built == [1, 2]
    assert swapped.schema.names == ["a", "x", "b", "y"] == plain.schema.names
    key = [("a", "ascending"), ("x", "ascending"), ("y", "ascending")]
    assert swapped.sort_by(key).equals(plain.sort_by(key))
    want = sum(int((big.column("b").to_numpy() == a).sum())
               for a in small.column("a").to_numpy())
    assert swapped.num_rows == want > 0


@pytest.mark.parametrize("kind", ["left", "right", "full"])
@pytest.mark.parametrize("budget", [None, 6_000])
def test_outer_joins_mirror_with_the_rows_of_the_unswapped_join(tmp_path, monkeypatch,
                                                                 kind, budget):
    """Keys 0..299 on both sides, some on one side only: unmatched rows of
    either side come out padded with NULLs as the kind says, also when the
    build spills (a budget of a few KB)."""
    from dataclasses import replace
    node, store, small, big = _setup(tmp_path, False)
    node = replace(node, kind=kind)
    assert hj._build_on_left(node, 0, ExecContext(shuffle=store))

    def run():
        ctx = ExecContext(shuffle=store, batch_size=128, spill_dir=str(tmp_path),
                          **({"memory_budget": budget} if budget else {}))
        return pa.Table.from_batches(list(registry.execute(node, 0, ctx)))
    swapped = run()
    monkeypatch.setattr(hj, "_SWAP_BELOW", 0.0)
    plain = run()
    assert swapped.schema.names == ["a", "x", "b", "y"] == plain.schema.names
    key = [(c, "ascending") for c in ("a", "x", "b", "y")]
    assert swapped.sort_by(key).equals(plain.sort_by(key))
    a, b = set(small.column("a").to_pylist()), set(big.column("b").to_pylist())
    unmatched_left = swapped.filter(pa.compute.is_null(swapped.column("b"))).num_rows
    unmatched_right = swapped.filter(pa.compute.is_null(swapped.column("a"))).num_rows
    assert (unmatched_left > 0) == (kind in ("left", "full") and bool(a - b))
    assert (unmatched_right > 0) == (kind in ("right", "full"))


def test_only_joins_without_residual_conditions_are_mirrored(tmp_path):
    node, store, _, _ = _setup(tmp_path, False)
    ctx = ExecContext(shuffle=store)
    from dataclasses import replace
    for kind in ("semi", "anti", "null_aware_anti"):
        assert not hj._build_on_left(replace(node, kind=kind), 0, ctx)
    assert not hj._build_on_left(replace(node, condition=Column("z", pa.bool_())), 0, ctx)
    assert not hj._build_on_left(replace(node, null_equals_null=True), 0, ctx)
    assert not hj._build_on_left(replace(node, left=node.right, right=node.left,
                                         left_keys=node.right_keys,
                                         right_keys=node.left_keys), 0, ctx)
    assert not hj._build_on_left(node, 0, ExecContext(shuffle=object()))


@pytest.mark.parametrize("kind", ["left", "right", "full"])
def test_mirrored_outer_joins_keep_rows_with_null_keys(monkeypatch, kind):
    small = pa.table({"a": pa.array([None, 1, 2, None, 500], pa.int64()),
                      "x": pa.array(["n1", "one", "two", "n2", "none"])})
    big = pa.table({"b": pa.array([i % 300 for i in range(3000)] + [None] * 5, pa.int64()),
                    "y": pa.array(np.arange(3005), pa.int64())})
    store = MemoryShuffleStore()
    store.write(1, 0, 0, small.to_batches())
    store.write(2, 0, 0, big.to_batches(max_chunksize=500))
    node = HashJoinExec(ShuffleReadExec(1, _fields(small), 1, "hash"),
                        ShuffleReadExec(2, _fields(big), 1, "hash"), kind,
                        (Column("a", pa.int64()),), (Column("b", pa.int64()),))
    assert hj._build_on_left(node, 0, ExecContext(shuffle=store))
    got = _run(node, store)
    unmatched_small = 3 if kind in ("left", "full") else 0     # NULL, NULL, 500
    unmatched_big = 3000 - 20 + 5 if kind in ("right", "full") else 0
    assert got.num_rows == 20 + unmatched_small + unmatched_big
    assert got.filter(pa.compute.is_null(got.column("y"))).num_rows == unmatched_small
    assert got.filter(pa.compute.is_null(got.column("x"))).num_rows == unmatched_big
