"""grouped_agg kernels against plain numpy / Python references."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from quiver.executor.kernels import grouped_agg as K

EMPTY = np.zeros(0, dtype=np.bool_)


def rows_strategy(values):
    return st.lists(st.tuples(st.integers(0, 5), values, st.booleans()), max_size=80)


def split(rows):
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    valid = np.array([r[2] for r in rows], dtype=np.bool_)
    return ids, valid


def reference(rows, fn):
    out = {}
    for g, v, ok in rows:
        if ok:
            out.setdefault(g, []).append(v)
    return {g: fn(vs) for g, vs in out.items()}


@settings(max_examples=40, deadline=None)
@given(rows_strategy(st.integers(-2**40, 2**40)))
def test_count_and_int_sum(rows):
    ids, valid = split(rows)
    vals = np.array([r[1] for r in rows], dtype=np.int64)
    counts = np.zeros(6, np.int64)
    K.count_rows(ids, valid, counts)
    sums, seen = np.zeros(6, np.int64), np.zeros(6, np.bool_)
    assert not K.sum_int64(ids, vals, valid, sums, seen)
    ref = reference(rows, sum)
    for g in range(6):
        assert counts[g] == len([1 for r in rows if r[0] == g and r[2]])
        assert seen[g] == (g in ref)
        assert sums[g] == ref.get(g, 0)
    all_counts = np.zeros(6, np.int64)
    K.count_rows(ids, EMPTY, all_counts)
    assert (all_counts == np.bincount(ids, minlength=6)).all()


def test_int_sum_overflow_detected():
    ids = np.zeros(2, np.int64)
    vals = np.array([2**62, 2**62], dtype=np.int64)
    assert K.sum_int64(ids, vals, EMPTY, np.zeros(1, np.int64), np.zeros(1, np.bool_))


def words(x: int):
    x &= (1 << 128) - 1
    lo = x & ((1 << 64) - 1)
    hi = x >> 64
    if hi >= 1 << 63:
        hi -= 1 << 64
    return lo, hi


def from_words(lo, hi):
    return (int(hi) << 64) + int(lo)


@settings(max_examples=50, deadline=None)
@given(rows_strategy(st.integers(-10**36, 10**36)))
def test_decimal128_sum_exact(rows):
    ids, valid = split(rows)
    pairs = [words(r[1]) for r in rows]
    lo = np.array([p[0] for p in pairs], dtype=np.uint64)
    hi = np.array([p[1] for p in pairs], dtype=np.int64)
    acc_lo, acc_hi, seen = np.zeros(6, np.uint64), np.zeros(6, np.int64), np.zeros(6, np.bool_)
    ref = reference(rows, sum)
    # 80 values of at most 1e36 never leave the 128-bit range
    assert not K.sum_decimal128(ids, lo, hi, valid, acc_lo, acc_hi, seen)
    for g in range(6):
        assert from_words(acc_lo[g], acc_hi[g]) == ref.get(g, 0)
        assert seen[g] == (g in ref)


def test_decimal128_carry_and_overflow():
    big = 2**64 - 1                     # all-ones low word: every add carries
    lo, hi = words(big)
    ids = np.zeros(3, np.int64)
    acc_lo, acc_hi, seen = np.zeros(1, np.uint64), np.zeros(1, np.int64), np.zeros(1, np.bool_)
    assert not K.sum_decimal128(ids, np.full(3, lo, np.uint64), np.full(3, hi, np.int64), EMPTY,
                                acc_lo, acc_hi, seen)
    assert from_words(acc_lo[0], acc_hi[0]) == 3 * big
    lo, hi = words(-5)
    K.sum_decimal128(ids[:1], np.array([lo], np.uint64), np.array([hi], np.int64), EMPTY,
                     acc_lo, acc_hi, seen)
    assert from_words(acc_lo[0], acc_hi[0]) == 3 * big - 5
    lo, hi = words(2**127 - 1)
    a_lo, a_hi = np.zeros(1, np.uint64), np.zeros(1, np.int64)
    assert K.sum_decimal128(np.zeros(2, np.int64), np.full(2, lo, np.uint64),
                            np.full(2, hi, np.int64), EMPTY, a_lo, a_hi, np.zeros(1, np.bool_))


@settings(max_examples=40, deadline=None)
@given(rows_strategy(st.integers(-10**30, 10**30)), st.booleans())
def test_decimal128_min_max(rows, is_max):
    ids, valid = split(rows)
    pairs = [words(r[1]) for r in rows]
    lo = np.array([p[0] for p in pairs], dtype=np.uint64)
    hi = np.array([p[1] for p in pairs], dtype=np.int64)
    acc_lo, acc_hi, seen = np.zeros(6, np.uint64), np.zeros(6, np.int64), np.zeros(6, np.bool_)
    K.min_max_decimal128(ids, lo, hi, valid, acc_lo, acc_hi, seen, is_max)
    ref = reference(rows, max if is_max else min)
    for g, v in ref.items():
        assert from_words(acc_lo[g], acc_hi[g]) == v


@settings(max_examples=40, deadline=None)
@given(rows_strategy(st.integers(-1000, 1000)), st.booleans())
def test_int_min_max(rows, is_max):
    ids, valid = split(rows)
    vals = np.array([r[1] for r in rows], dtype=np.int64)
    acc, seen = np.zeros(6, np.int64), np.zeros(6, np.bool_)
    K.min_max(ids, vals, valid, acc, seen, is_max)
    ref = reference(rows, max if is_max else min)
    assert {g: acc[g] for g in range(6) if seen[g]} == ref


@settings(max_examples=40, deadline=None)
@given(rows_strategy(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")))), st.booleans())
def test_float_min_max_and_sum(rows, is_max):
    ids, valid = split(rows)
    vals = np.array([r[1] for r in rows], dtype=np.float64)
    acc, seen = np.zeros(6), np.zeros(6, np.bool_)
    K.min_max_float(ids, vals, valid, acc, seen, is_max)

    def nan_big(vs):      # NaN orders above every number
        nums = [v for v in vs if not np.isnan(v)]
        if is_max:
            return float("nan") if len(nums) < len(vs) else max(nums)
        return min(nums) if nums else float("nan")
    for g, v in reference(rows, nan_big).items():
        assert (np.isnan(v) and np.isnan(acc[g])) or acc[g] == v
    sums, seen2 = np.zeros(6), np.zeros(6, np.bool_)
    K.sum_float64(ids, vals, valid, sums, seen2)
    for g, v in reference(rows, lambda vs: float(np.sum(vs))).items():
        assert (np.isnan(v) and np.isnan(sums[g])) or sums[g] == pytest.approx(v)


def test_first_rows_and_new_ids():
    ids = np.array([2, 0, 2, 1, 0, 3], np.int64)
    valid = np.array([False, True, True, True, True, False])
    seen = np.zeros(4, np.bool_)
    rows, groups = K.first_rows(ids, valid, seen)
    assert rows.tolist() == [1, 2, 3] and groups.tolist() == [0, 2, 1]
    assert seen.tolist() == [True, True, True, False]
    rows, groups = K.first_rows(ids, EMPTY, seen)
    assert rows.tolist() == [5] and groups.tolist() == [3]
    enc_ids = np.array([0, 3, 1, 3, 4, 4, 2], np.int64)     # ids 3, 4 are new (before=3)
    assert K.first_row_of_new_ids(enc_ids, 3, 5).tolist() == [1, 4]
    assert K.new_id_mask(enc_ids, 3).tolist() == [False, True, False, False, True, False, False]
    assert K.new_id_mask(np.array([-1, 0, 0, 1], np.int64), 0).tolist() == [False, True, False, True]


def test_add_counts_and_negative_ids_skipped():
    counts = np.zeros(3, np.int64)
    K.add_counts(np.array([0, -1, 2, 0], np.int64), np.array([5, 100, 1, 2], np.int64), EMPTY, counts)
    assert counts.tolist() == [7, 0, 1]
    K.count_rows(np.array([-1, 1], np.int64), EMPTY, counts)
    assert counts.tolist() == [7, 1, 1]
