"""join_index kernels against plain Python references."""

import numpy as np
from hypothesis import given, settings, strategies as st

from quiver.executor.kernels import join_index as ji

ids_strategy = st.lists(st.integers(-1, 6), max_size=40)
SETTINGS = settings(max_examples=60, deadline=None)


def ref_pairs(build, probe):
    return [(i, j) for i, a in enumerate(probe) for j, b in enumerate(build)
            if a >= 0 and a == b]


def index(build):
    ids = np.array(build, dtype=np.int64)
    num_keys = int(ids.max()) + 1 if len(build) else 0
    return ids, num_keys, ji.build_csr(ids, num_keys)


@SETTINGS
@given(ids_strategy)
def test_build_csr(build):
    ids, num_keys, (offsets, rows) = index(build)
    assert offsets.shape == (num_keys + 1,)
    for k in range(num_keys):
        assert list(rows[offsets[k]:offsets[k + 1]]) == [i for i, b in enumerate(build) if b == k]
    assert len(rows) == sum(1 for b in build if b >= 0)


@SETTINGS
@given(ids_strategy, ids_strategy, st.integers(1, 7))
def test_probe_pairs_in_chunks(build, probe, chunk):
    _, _, (offsets, rows) = index(build)
    pids = np.array(probe, dtype=np.int64)
    counts = ji.match_counts(pids, offsets)
    starts = ji.pair_starts(counts)
    assert starts.tolist() == [0] + np.cumsum(counts).tolist()
    got = []
    for s in range(0, int(starts[-1]), chunk):
        p, b = ji.fill_pairs(pids, offsets, rows, starts, s, s + chunk)
        assert len(p) == min(chunk, starts[-1] - s)
        got.extend(zip(p.tolist(), b.tolist()))
    assert got == ref_pairs(build, probe)
    p, b = ji.fill_pairs(pids, offsets, rows, starts, starts[-1], starts[-1] + 5)
    assert len(p) == 0 and len(b) == 0


@SETTINGS
@given(ids_strategy, ids_strategy)
def test_match_flags(build, probe):
    bids, num_keys, (offsets, rows) = index(build)
    pids = np.array(probe, dtype=np.int64)
    has = ji.probe_has_match(pids, offsets)
    assert has.tolist() == [p >= 0 and p in build for p in probe]
    seen = np.zeros(num_keys, dtype=np.bool_)
    ji.mark_ids(pids, seen)
    matched = ji.build_rows_matched(bids, seen)
    assert matched.tolist() == [b >= 0 and b in probe for b in build]


@SETTINGS
@given(ids_strategy, ids_strategy, st.randoms(use_true_random=False))
def test_residual_marks(build, probe, rnd):
    _, _, (offsets, rows) = index(build)
    pids = np.array(probe, dtype=np.int64)
    starts = ji.pair_starts(ji.match_counts(pids, offsets))
    p, b = ji.fill_pairs(pids, offsets, rows, starts, 0, starts[-1])
    mask = np.array([rnd.random() < 0.5 for _ in range(len(p))], dtype=np.bool_)
    pflags = np.zeros(len(probe), dtype=np.bool_)
    bflags = np.zeros(len(build), dtype=np.bool_)
    ji.mark_where(p, mask, pflags)
    ji.mark_where(b, mask, bflags)
    survivors = [(i, j) for (i, j), m in zip(zip(p.tolist(), b.tolist()), mask) if m]
    assert pflags.tolist() == [any(i == x for x, _ in survivors) for i in range(len(probe))]
    assert bflags.tolist() == [any(j == y for _, y in survivors) for j in range(len(build))]
    allflags = np.zeros(len(build), dtype=np.bool_)
    ji.mark_all(b, allflags)
    assert allflags.tolist() == [any(j == y for _, y in zip(p, b)) for j in range(len(build))]


def test_large_fanout_chunks():
    build = np.zeros(1000, dtype=np.int64)
    offsets, rows = ji.build_csr(build, 1)
    probe = np.array([0, -1, 0], dtype=np.int64)
    starts = ji.pair_starts(ji.match_counts(probe, offsets))
    assert starts[-1] == 2000
    p, b = ji.fill_pairs(probe, offsets, rows, starts, 990, 1010)
    assert p.tolist() == [0] * 10 + [2] * 10
    assert b.tolist() == list(range(990, 1000)) + list(range(10))


def test_remix_spreads_one_shuffle_partition():
    from quiver.executor.kernels.partition import partition_rows
    rng = np.random.default_rng(0)
    h = rng.integers(0, 2**63, 4000, dtype=np.int64).astype(np.uint64)
    order, offsets = partition_rows(h, 16)
    same = h[order[offsets[3]:offsets[4]]]          # rows of one shuffle partition
    _, sub = partition_rows(ji.remix(same, 1), 8)
    assert (np.diff(sub) > 0).all()                 # every sub-partition gets rows
    assert ji.remix(same, 1).tolist() == ji.remix(same.copy(), 1).tolist()
    assert ji.remix(same, 1).tolist() != ji.remix(same, 2).tolist()


def test_unique_pairs_equal_the_general_pairs_on_a_primary_key_build():
    rng = np.random.default_rng(3)
    num_keys = 50
    build_ids = rng.permutation(num_keys).astype(np.int64)     # one row per key
    offsets, rows = ji.build_csr(build_ids, num_keys)
    assert np.array_equal(offsets, np.arange(num_keys + 1))
    probe = rng.integers(-1, num_keys + 5, 1000).astype(np.int64)   # misses and -1
    starts = ji.pair_starts(ji.match_counts(probe, offsets))
    want_p, want_b = ji.fill_pairs(probe, offsets, rows, starts, 0, int(starts[-1]))
    got_p, got_b = ji.unique_pairs(probe, rows)
    assert np.array_equal(got_p, want_p) and np.array_equal(got_b, want_b)
    assert len(got_p) == int(((probe >= 0) & (probe < num_keys)).sum())
