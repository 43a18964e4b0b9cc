"""Grouped aggregation kernels: fold a batch into per-group state, by dense id.

Every kernel takes `ids` (int64 dense group id per row, from KeyEncoder),
the row values as numpy arrays, and `valid` (bool per row: the value is
not NULL and passes the aggregate's FILTER; an empty array means all rows
count), and updates state arrays indexed by group id in place. `seen[g]`
records that group g got at least one value (SQL: a sum/min/max of no
values is NULL). Rows with a negative id are skipped.

Decimal sums are exact in 128 bits: a value is a (lo uint64, hi int64) pair
of words and the accumulator adds with carry, so money sums at any TPC-H
scale never overflow; the kernels return True on an overflow they detect
(the operator turns that into a DataError).

State allocation, growth and conversion to Arrow are the operator's job
(executor/operators/aggregate_accumulators.py).
"""

from __future__ import annotations

import numpy as np
from .jit import njit

_ONE = np.uint64(1)


@njit(cache=True, nogil=True)
def count_rows(ids, valid, counts):
    has_valid = len(valid) > 0
    for i in range(len(ids)):
        g = ids[i]
        if g < 0 or (has_valid and not valid[i]):
            continue
        counts[g] += 1


@njit(cache=True, nogil=True)
def add_counts(ids, values, valid, counts):
    """counts[g] += values[i] (merging partial counts)."""
    has_valid = len(valid) > 0
    for i in range(len(ids)):
        g = ids[i]
        if g < 0 or (has_valid and not valid[i]):
            continue
        counts[g] += values[i]


@njit(cache=True, nogil=True)
def sum_int64(ids, values, valid, sums, seen):
    """Returns True if a sum overflowed int64."""
    has_valid = len(valid) > 0
    overflow = False
    for i in range(len(ids)):
        g = ids[i]
        if g < 0 or (has_valid and not valid[i]):
            continue
        a = sums[g]
        b = values[i]
        s = a + b
        if ((a ^ s) & (b ^ s)) < 0:
            overflow = True
        sums[g] = s
        seen[g] = True
    return overflow


@njit(cache=True, nogil=True)
def sum_float64(ids, values, valid, sums, seen):
    has_valid = len(valid) > 0
    for i in range(len(ids)):
        g = ids[i]
        if g < 0 or (has_valid and not valid[i]):
            continue
        sums[g] += values[i]
        seen[g] = True


@njit(cache=True, nogil=True)
def sum_decimal128(ids, lo, hi, valid, acc_lo, acc_hi, seen):
    """128-bit sums with carry; returns True if a sum overflowed 128 bits."""
    has_valid = len(valid) > 0
    overflow = False
    for i in range(len(ids)):
        g = ids[i]
        if g < 0 or (has_valid and not valid[i]):
            continue
        a_lo = acc_lo[g]
        s_lo = a_lo + lo[i]
        carry = np.int64(1) if s_lo < a_lo else np.int64(0)
        a_hi = acc_hi[g]
        b_hi = hi[i]
        s_hi = a_hi + b_hi + carry
        # signed overflow of the high word: operands agree in sign, result differs
        if (a_hi >= 0) == (b_hi >= 0) and (s_hi >= 0) != (a_hi >= 0):
            overflow = True
        acc_lo[g] = s_lo
        acc_hi[g] = s_hi
        seen[g] = True
    return overflow


@njit(cache=True, nogil=True)
def min_max(ids, values, valid, acc, seen, is_max):
    """min or max of integer-like words (ints, dates, timestamps, bools)."""
    has_valid = len(valid) > 0
    for i in range(len(ids)):
        g = ids[i]
        if g < 0 or (has_valid and not valid[i]):
            continue
        v = values[i]
        if not seen[g]:
            acc[g] = v
            seen[g] = True
        elif is_max:
            if v > acc[g]:
                acc[g] = v
        elif v < acc[g]:
            acc[g] = v


@njit(cache=True, nogil=True)
def min_max_float(ids, values, valid, acc, seen, is_max):
    """min or max of floats, NaN ordered above every number (as DuckDB does)."""
    has_valid = len(valid) > 0
    for i in range(len(ids)):
        g = ids[i]
        if g < 0 or (has_valid and not valid[i]):
            continue
        v = values[i]
        if not seen[g]:
            acc[g] = v
            seen[g] = True
            continue
        a = acc[g]
        if is_max:
            if np.isnan(a):
                continue
            if np.isnan(v) or v > a:
                acc[g] = v
        else:
            if np.isnan(v):
                continue
            if np.isnan(a) or v < a:
                acc[g] = v


@njit(cache=True, nogil=True)
def min_max_decimal128(ids, lo, hi, valid, acc_lo, acc_hi, seen, is_max):
    has_valid = len(valid) > 0
    for i in range(len(ids)):
        g = ids[i]
        if g < 0 or (has_valid and not valid[i]):
            continue
        v_lo = lo[i]
        v_hi = hi[i]
        if not seen[g]:
            take = True
            seen[g] = True
        else:
            a_hi = acc_hi[g]
            if v_hi != a_hi:
                greater = v_hi > a_hi
            else:
                greater = v_lo > acc_lo[g]
            less = not greater and (v_hi != a_hi or v_lo != acc_lo[g])
            take = greater if is_max else less
        if take:
            acc_lo[g] = v_lo
            acc_hi[g] = v_hi


@njit(cache=True, nogil=True)
def first_rows(ids, valid, seen):
    """Rows that give a not-yet-seen group its first value; marks them seen.
    Returns (rows, groups) as int64 arrays."""
    has_valid = len(valid) > 0
    rows = np.empty(len(ids), dtype=np.int64)
    groups = np.empty(len(ids), dtype=np.int64)
    k = 0
    for i in range(len(ids)):
        g = ids[i]
        if g < 0 or (has_valid and not valid[i]) or seen[g]:
            continue
        seen[g] = True
        rows[k] = i
        groups[k] = g
        k += 1
    return rows[:k], groups[:k]


@njit(cache=True, nogil=True)
def first_row_of_new_ids(ids, num_before, num_after):
    """Row index of the first occurrence of each id in [num_before, num_after),
    in id order (ids handed out by an encoder while encoding this batch)."""
    out = np.full(num_after - num_before, -1, dtype=np.int64)
    for i in range(len(ids)):
        g = ids[i]
        if g >= num_before and out[g - num_before] < 0:
            out[g - num_before] = i
    return out


@njit(cache=True, nogil=True)
def new_id_mask(ids, num_before):
    """True at the first row of each id >= num_before (a DISTINCT filter)."""
    mask = np.zeros(len(ids), dtype=np.bool_)
    top = num_before
    for i in range(len(ids)):
        if ids[i] >= top:
            mask[i] = True
            top = ids[i] + 1
    return mask
