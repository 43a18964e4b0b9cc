"""LeaderKeyEncoder: group ids by one integer column, checked row by row
against each group's first key; any tuple unlike its leader's is a group of
its own. The ids must be exactly a grouping by the whole tuple."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from quiver.executor.kernels.key_encoder import KeyEncoder
from quiver.executor.kernels.leader_keys import LeaderKeyEncoder, wants_leader


def _encode_all(batches, types):
    chunks: list[list[pa.Array]] = []
    enc = LeaderKeyEncoder(types, chunks)
    ids = []
    for arrays in batches:
        before = enc.num_keys
        got = enc.encode(arrays)
        assert enc.num_keys >= before
        ids.append(got)
    keys = [pa.concat_arrays([c[i] for c in chunks]) for i in range(len(types))] if chunks else []
    return enc, np.concatenate(ids), keys


def _check_grouping(batches, types):
    enc, ids, keys = _encode_all(batches, types)
    rows = [tuple(col) for arrays in batches
            for col in zip(*[a.to_pylist() if not pa.types.is_dictionary(a.type)
                             else a.dictionary_decode().to_pylist() for a in arrays])]
    n = enc.num_keys
    assert len(keys[0]) == n and sorted(set(ids.tolist())) == list(range(n))
    group_keys = list(zip(*[k.to_pylist() for k in keys]))
    # each row's group holds the row's key, and one tuple is one group
    assert [group_keys[i] for i in ids] == rows
    assert len(set(group_keys)) == n
    return enc


def _batches(seed, n_batches=4, rows=500, differ=0.0, nulls=False):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        k = rng.integers(0, 300, rows)
        name = np.array([f"name {v}" for v in k], dtype=object)
        addr = np.array([f"address of {v} " * (v % 3 + 1) for v in k], dtype=object)
        bad = rng.random(rows) < differ
        name[bad] = [f"other {v}" for v in rng.integers(0, 3, bad.sum())]
        mask = (rng.random(rows) < 0.1) if nulls else None
        out.append([pa.array(k), pa.array(name, pa.string(), mask=mask),
                    pa.array(addr, pa.string())])
    return out


TYPES = [pa.int64(), pa.string(), pa.string()]


def test_only_integer_plus_string_exact_keys_want_a_leader():
    assert wants_leader(TYPES)
    assert not wants_leader([pa.int64()])
    assert not wants_leader([pa.string(), pa.string()])
    assert not wants_leader([pa.int64(), pa.int32()])
    assert not wants_leader([pa.int64(), pa.string(), pa.float64()])
    assert wants_leader([pa.int32(), pa.dictionary(pa.int32(), pa.string())])


def test_key_that_decides_the_rest_groups_as_whole_tuples():
    enc = _check_grouping(_batches(1), TYPES)
    assert enc.leader == 0 and enc._rest is None and enc._full is None


def test_rows_unlike_their_leaders_first_key_are_groups_of_their_own():
    batches = _batches(2) + _batches(3, differ=0.05)
    enc = _check_grouping(batches, TYPES)
    assert enc._rest is not None and enc._full is None


def test_first_batch_unlike_gives_the_leader_up():
    enc = _check_grouping(_batches(4, differ=0.2), TYPES)
    assert enc._full is not None


def test_nulls_in_leader_and_other_columns():
    batches = _batches(5, nulls=True) + _batches(6, nulls=True, differ=0.02)
    for b in batches:
        b[0] = pa.array(b[0].to_numpy(), mask=np.arange(len(b[0])) % 37 == 0)
    _check_grouping(batches, TYPES)


def test_dictionary_columns_and_the_leader_with_most_distinct_values():
    out = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        k = rng.integers(0, 200, 400)
        out.append([pa.array(k % 4, pa.int32()),
                    pa.array([f"c{v}" for v in k]).dictionary_encode(),
                    pa.array(k)])
    enc = _check_grouping(out, [pa.int32(), pa.dictionary(pa.int32(), pa.string()), pa.int64()])
    assert enc.leader == 2


def test_same_groups_as_the_full_encoder_in_sql(tmp_path):
    import pyarrow.parquet as pq
    import quiver
    rng = np.random.default_rng(7)
    n = 20_000
    k = rng.integers(0, 3000, n)
    name = np.array([f"customer {v}" for v in k], dtype=object)
    later = np.arange(n) >= n // 2          # the first row groups agree with their keys
    name[later & (rng.random(n) < 0.01)] = "someone else"
    pq.write_table(pa.table({"k": k, "name": pa.array(name, pa.string()),
                             "v": rng.integers(0, 100, n)}), tmp_path / "t.parquet",
                   row_group_size=3000)
    con = quiver.connect()
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{tmp_path}'")
    got = sorted(con.execute("SELECT k, name, sum(v), count(*) FROM t GROUP BY k, name").fetchall())
    t = pq.read_table(tmp_path / "t.parquet")
    want = t.group_by(["k", "name"]).aggregate([("v", "sum"), ("v", "count")])
    assert got == sorted(zip(*[want[c].to_pylist() for c in ("k", "name", "v_sum", "v_count")]))


def test_growth_bound_covers_rows_that_all_differ():
    chunks: list = []
    enc = LeaderKeyEncoder(TYPES, chunks)
    enc.encode(_batches(8, n_batches=1)[0])
    assert enc.growth_bound(1000) >= KeyEncoder(TYPES).growth_bound(1000)
