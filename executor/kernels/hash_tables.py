"""Open-addressing hash tables that hand out dense ids (0, 1, 2, ...).

- `Int64Table`: keys are int64 words (fixed-width values, or packed pairs of
  ids when key_encoder.py combines columns).
- `BytesTable`: keys are byte strings given as (offsets, data) buffers
  (strings, binaries, decimals as 16 bytes); the bytes of each distinct key
  are copied once into a growable arena.

Both use linear probing over a power-of-two slot array kept at most half
full. The numba insert kernels stop when the table (or the arena) needs to
grow and return the row they stopped at; the Python wrapper grows the arrays
and resumes, so tables stay as small as the number of distinct keys needs.

Growth is asked for first: a table's `grow_guard` (None, or a callable
taking the bytes about to be allocated; it may raise) is called before new
arrays are made, so an operator reserves a table's next size before it
exists instead of finding the table twice as large after an insert (a
join build's table doubling from 160 MB held 480 MB at once, uncounted).

NULL handling: rows where `valid` is False are NULL. With `nulls_as_key`
they all get one id of their own (assigned at the first NULL seen); without
it they get -1 and are not inserted.
"""

from __future__ import annotations

import numpy as np
from .jit import njit

from .hashing import fmix64, hash_bytes
from .key_filter import KeyFilter

_EMPTY_BOOL = np.zeros(0, dtype=np.bool_)
_INITIAL_SLOTS = 1024
_NO_FILTER = KeyFilter(np.iinfo(np.int64).min, np.iinfo(np.int64).max, np.zeros(0, dtype=np.uint64))


# --- int64 keys -----------------------------------------------------------------

@njit(cache=True, nogil=True)
def _int_insert(words, valid, nulls_as_key, null_id, slots, count, max_count, out, start):
    mask = np.uint64(slots.shape[0] - 1)
    has_valid = len(valid) > 0
    n = len(words)
    for i in range(start, n):
        if has_valid and not valid[i]:
            if not nulls_as_key:
                out[i] = -1
                continue
            if null_id < 0:
                if count >= max_count:
                    return i, count, null_id
                null_id = count
                count += 1
            out[i] = null_id
            continue
        k = words[i]
        s = fmix64(np.uint64(k)) & mask
        while True:
            sid = slots[s, 1]
            if sid == 0:
                if count >= max_count:
                    return i, count, null_id
                slots[s, 0] = k
                slots[s, 1] = count + 1
                out[i] = count
                count += 1
                break
            if slots[s, 0] == k:
                out[i] = sid - 1
                break
            s = (s + np.uint64(1)) & mask
    return n, count, null_id


@njit(cache=True, nogil=True)
def _int_lookup(words, valid, nulls_as_key, null_id, slots, lo, hi, bits, out):
    """`lo`, `hi`, `bits`: the table's KeyFilter (lo > hi: no key; no bits:
    range only), answering most misses without touching the slots."""
    mask = np.uint64(slots.shape[0] - 1)
    has_valid = len(valid) > 0
    has_bits = len(bits) > 0
    for i in range(len(words)):
        if has_valid and not valid[i]:
            out[i] = null_id if nulls_as_key else -1
            continue
        k = words[i]
        if k < lo or k > hi:
            out[i] = -1
            continue
        if has_bits:
            d = np.uint64(k - lo)
            if (bits[d >> np.uint64(6)] >> (d & np.uint64(63))) & np.uint64(1) == 0:
                out[i] = -1
                continue
        s = fmix64(np.uint64(k)) & mask
        while True:
            sid = slots[s, 1]
            if sid == 0:
                out[i] = -1
                break
            if slots[s, 0] == k:
                out[i] = sid - 1
                break
            s = (s + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def _rehash(old, new, mix):
    """Move the (key or hash, id + 1) slots of `old` into `new`; `mix`: the
    first word is a key to hash (Int64Table), else already a hash (BytesTable)."""
    mask = np.uint64(new.shape[0] - 1)
    for j in range(old.shape[0]):
        if old[j, 1] == 0:
            continue
        w = old[j, 0]
        s = (fmix64(np.uint64(w)) if mix else np.uint64(w)) & mask
        while new[s, 1] != 0:
            s = (s + np.uint64(1)) & mask
        new[s, 0] = w
        new[s, 1] = old[j, 1]


def _doubling_bound(slots: int, keys: int, bytes_per_slot: int) -> int:
    """Bytes allocated beyond the current arrays while a table of `slots`
    slots (kept at most half full) doubles until it holds `keys` keys: at
    the last doubling the new arrays and the ones they replace coexist."""
    if keys <= slots // 2:
        return 0
    cap = _capacity(slots, keys)
    return bytes_per_slot * (cap + cap // 2 - slots)


def _capacity(slots: int, keys: int) -> int:
    """Slots a table of `slots` slots doubles to before it holds `keys` keys
    (tables are kept at most half full)."""
    cap = slots
    while keys > cap // 2:
        cap *= 2
    return cap


class Int64Table:
    """int64 word -> dense id.

    A slot is a (key, id + 1) pair of int64s, 0 in the second for an empty
    slot: a probe reads one cache line, not one in a key array and one in an
    id array, and new arrays come zeroed from the allocator instead of being
    filled with -1 (np.full of the ids was 1.9% of TPC-H at SF10)."""

    def __init__(self, slots: int = _INITIAL_SLOTS) -> None:
        self.slots = np.zeros((slots, 2), dtype=np.int64)
        self.count = 0
        self.null_id = -1
        self.grow_guard = None
        self._filter: KeyFilter | None = None      # of the keys as they are now
        self._scan_filter: KeyFilter | None = None
        self._probes = 0                            # rows looked up since the last insert

    @property
    def nbytes(self) -> int:
        return self.slots.nbytes

    def _grow(self) -> None:
        cap = len(self.slots) * 2
        if self.grow_guard is not None:
            self.grow_guard(16 * cap)
        self._resize(cap)

    def _resize(self, cap: int) -> None:
        grown = np.zeros((cap, 2), dtype=np.int64)
        _rehash(self.slots, grown, True)
        self.slots = grown

    def growth_bound(self, new_keys: int) -> int:
        """The most bytes an insert adding `new_keys` keys allocates beyond
        what the table holds now (the last doubling's old and new arrays)."""
        return _doubling_bound(len(self.slots), self.count + new_keys, 16)

    def presize_bytes(self, keys: int) -> int:
        """Bytes of the slots `presize(keys)` allocates (0: big enough now)."""
        cap = _capacity(len(self.slots), keys)
        return 0 if cap == len(self.slots) else 16 * cap

    def presize(self, keys: int) -> None:
        """Make room for `keys` keys at once: inserting them then never
        doubles and rehashes (a join's build of 2M keys grew 11 times, each
        a pass of cache misses over the table so far; TPC-H SF10 spent 5% of
        its time in rehashes). The caller reserves presize_bytes first; the
        grow guard is not asked."""
        cap = _capacity(len(self.slots), keys)
        if cap != len(self.slots):
            self._resize(cap)

    def insert(self, words: np.ndarray, valid: np.ndarray | None = None,
               nulls_as_key: bool = True) -> np.ndarray:
        n = len(words)
        out = np.empty(n, dtype=np.int64)
        v = _EMPTY_BOOL if valid is None else valid
        start = 0
        self._filter, self._scan_filter, self._probes = None, None, 0
        while True:
            stop, self.count, self.null_id = _int_insert(
                words, v, nulls_as_key, self.null_id, self.slots,
                self.count, len(self.slots) // 2, out, start)
            if stop >= n:
                return out
            self._grow()
            start = stop

    def lookup(self, words: np.ndarray, valid: np.ndarray | None = None,
               nulls_as_key: bool = True) -> np.ndarray:
        out = np.empty(len(words), dtype=np.int64)
        f = self._key_filter(len(words))
        _int_lookup(words, _EMPTY_BOOL if valid is None else valid, nulls_as_key,
                    self.null_id, self.slots, f.lo, f.hi, f.bits, out)
        return out

    def scan_filter(self, bitmap_bits: int) -> KeyFilter:
        """A filter of its keys as they are now whose bitmap may span up to
        `bitmap_bits` bits however few the keys (a probe side's scan drops
        rows with it: operators/scan_key_filter.py); made once, an insert
        drops it."""
        f = self._scan_filter
        if f is None:
            f = self._scan_filter = KeyFilter.of_table(self.slots, self.count, bitmap_bits)
        return f

    def _key_filter(self, rows: int) -> KeyFilter:
        """The keys' filter, made once the rows looked up since the last
        insert are half the slots, so a table that keeps growing between
        small lookups does not pay a pass over its slots each time; until
        then a filter of the full int64 range (it rejects nothing)."""
        f = self._filter
        if f is not None:
            return f
        self._probes += rows
        if self._probes * 2 < len(self.slots):
            return _NO_FILTER
        f = self._filter = KeyFilter.of_table(self.slots, self.count)
        return f


# --- byte-string keys -------------------------------------------------------------

@njit(cache=True, nogil=True)
def _same_bytes(arena, a_start, a_end, data, b_start, b_end):
    """Equal byte strings? Called after the hashes matched, so nearly always
    equal: every byte is compared without an early exit (a loop LLVM turns
    into vector instructions)."""
    n = a_end - a_start
    if n != b_end - b_start:
        return False
    diff = np.uint8(0)
    for k in range(n):
        diff |= arena[a_start + k] ^ data[b_start + k]
    return diff == 0


@njit(cache=True, nogil=True)
def _bytes_insert(offsets, data, hashes, valid, nulls_as_key, null_id, slots,
                  key_offsets, arena, count, max_count, out, start):
    mask = np.uint64(slots.shape[0] - 1)
    has_valid = len(valid) > 0
    n = len(hashes)
    for i in range(start, n):
        if has_valid and not valid[i]:
            if not nulls_as_key:
                out[i] = -1
                continue
            if null_id < 0:
                if count >= max_count or count + 1 >= len(key_offsets):
                    return i, count, null_id
                null_id = count
                key_offsets[count + 1] = key_offsets[count]   # empty arena entry
                count += 1
            out[i] = null_id
            continue
        h = hashes[i]
        b0 = offsets[i]
        b1 = offsets[i + 1]
        s = np.uint64(h) & mask
        while True:
            sid = slots[s, 1]
            if sid == 0:
                used = key_offsets[count]
                if (count >= max_count or count + 1 >= len(key_offsets)
                        or used + (b1 - b0) > len(arena)):
                    return i, count, null_id
                for k in range(b1 - b0):
                    arena[used + k] = data[b0 + k]
                key_offsets[count + 1] = used + (b1 - b0)
                slots[s, 0] = h
                slots[s, 1] = count + 1
                out[i] = count
                count += 1
                break
            if slots[s, 0] == h and _same_bytes(arena, key_offsets[sid - 1],
                                                key_offsets[sid], data, b0, b1):
                out[i] = sid - 1
                break
            s = (s + np.uint64(1)) & mask
    return n, count, null_id


@njit(cache=True, nogil=True)
def _bytes_lookup(offsets, data, hashes, valid, nulls_as_key, null_id, slots,
                  key_offsets, arena, out):
    mask = np.uint64(slots.shape[0] - 1)
    has_valid = len(valid) > 0
    for i in range(len(hashes)):
        if has_valid and not valid[i]:
            out[i] = null_id if nulls_as_key else -1
            continue
        h = hashes[i]
        s = np.uint64(h) & mask
        while True:
            sid = slots[s, 1]
            if sid == 0:
                out[i] = -1
                break
            if slots[s, 0] == h and _same_bytes(arena, key_offsets[sid - 1], key_offsets[sid],
                                                data, offsets[i], offsets[i + 1]):
                out[i] = sid - 1
                break
            s = (s + np.uint64(1)) & mask


def _arena_bound(size: int, need: int) -> int:
    """Bytes an arena of `size` allocates beyond itself while growing (as
    BytesTable._grow does) until it holds `need` bytes: at the last growth
    the new array and the one it replaces are alive together."""
    start, previous, current = size, size, size
    while need > current:
        previous, current = current, max(2 * current, need + 1024)
    if current == start:
        return 0
    return current + (previous - start)


class BytesTable:
    """byte string -> dense id. A slot is a (hash, id + 1) pair of int64s, 0
    in the second for an empty slot (one cache line a probe, as Int64Table)."""

    def __init__(self, slots: int = _INITIAL_SLOTS) -> None:
        self.slots = np.zeros((slots, 2), dtype=np.int64)
        self.key_offsets = np.zeros(slots // 2 + 1, dtype=np.int64)
        self.arena = np.zeros(16 * slots, dtype=np.uint8)
        self.count = 0
        self.null_id = -1
        self.grow_guard = None

    @property
    def nbytes(self) -> int:
        return self.slots.nbytes + self.key_offsets.nbytes + self.arena.nbytes

    def _grow(self, offsets: np.ndarray, row: int) -> None:
        guard = self.grow_guard
        if self.count >= len(self.slots) // 2:
            cap = len(self.slots) * 2
            if guard is not None:
                guard(16 * cap)
            grown = np.zeros((cap, 2), dtype=np.int64)
            _rehash(self.slots, grown, False)
            self.slots = grown
        if self.count + 1 >= len(self.key_offsets):
            if guard is not None:
                guard(16 * len(self.key_offsets))
            grown = np.zeros(2 * len(self.key_offsets), dtype=np.int64)
            grown[:len(self.key_offsets)] = self.key_offsets
            self.key_offsets = grown
        need = int(self.key_offsets[self.count]) + int(offsets[row + 1] - offsets[row])
        if need > len(self.arena):
            size = max(2 * len(self.arena), need + 1024)
            if guard is not None:
                guard(size)
            grown = np.zeros(size, dtype=np.uint8)
            grown[:len(self.arena)] = self.arena
            self.arena = grown

    def growth_bound(self, new_keys: int) -> int:
        """The most bytes an insert adding `new_keys` keys allocates beyond
        what the table holds now; new keys' bytes are taken to be at most
        twice as long as the keys' so far on average (at least 16)."""
        keys = self.count + new_keys
        used = int(self.key_offsets[self.count])
        per_key = max(16, 2 * used // max(1, self.count))
        return (_doubling_bound(len(self.slots), keys, 16)
                + _doubling_bound(2 * (len(self.key_offsets) - 1), keys, 8)
                + _arena_bound(len(self.arena), used + per_key * new_keys))

    def insert(self, offsets: np.ndarray, data: np.ndarray, valid: np.ndarray | None = None,
               nulls_as_key: bool = True) -> np.ndarray:
        v = _EMPTY_BOOL if valid is None else valid
        hashes = hash_bytes(offsets, data, v).view(np.int64)
        n = len(hashes)
        out = np.empty(n, dtype=np.int64)
        start = 0
        while True:
            stop, self.count, self.null_id = _bytes_insert(
                offsets, data, hashes, v, nulls_as_key, self.null_id, self.slots,
                self.key_offsets, self.arena, self.count,
                len(self.slots) // 2, out, start)
            if stop >= n:
                return out
            self._grow(offsets, stop)
            start = stop

    def lookup(self, offsets: np.ndarray, data: np.ndarray, valid: np.ndarray | None = None,
               nulls_as_key: bool = True) -> np.ndarray:
        v = _EMPTY_BOOL if valid is None else valid
        hashes = hash_bytes(offsets, data, v).view(np.int64)
        out = np.empty(len(hashes), dtype=np.int64)
        _bytes_lookup(offsets, data, hashes, v, nulls_as_key, self.null_id, self.slots,
                      self.key_offsets, self.arena, out)
        return out
