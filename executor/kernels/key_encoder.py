"""KeyEncoder: tuples of key values -> dense int64 ids, across batches.

Each key column has its own table (hash_tables.py): an `Int64Table` over
64-bit words for fixed-width types (ints, floats, bools, dates, timestamps),
a `BytesTable` for strings/binaries and for decimals seen as 16-byte strings.
A column's table gives a dense per-column code. Columns are then combined
left to right: `(id_so_far << 32) | code` is one int64 word, mapped through
another Int64Table per extra column, so the final ids stay dense
(0..num_keys-1) whatever the number of columns.

NULLs: with `null_equals_null` (GROUP BY semantics) NULL is one more key
value of its column; without it (join semantics) a row with a NULL in any
key column gets id -1 and is not inserted.

Used by the hash aggregate (group ids), the hash join (build/probe ids) and
DISTINCT aggregates (deduplication).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow_buffers import (decimal_words, decode, fixed_bytes_parts, is_bytes_type,
                            is_wide_fixed_type, key_words, string_parts, validity)
from . import short_strings as ss
from .dictionary_indices import first_uses, map_indices, mixed_radix
from .hash_tables import BytesTable, Int64Table
from .row_keys import row_key_parts, wants_row_keys

_MAX_CODE = (1 << 31) - 1
# several dictionary key columns whose dictionaries combine to at most this
# many value tuples are coded as one mixed-radix index (_combined_dictionaries)
_MAX_COMBINED = 1 << 16
# row keys when a string column has more distinct values than this share of
# _ROW_KEY_SAMPLE among the first rows an encoder sees (rows repeat a
# customer a few times after joins: Q10 had ~25%; brands, types and nations
# stay under 5%)
_ROW_KEY_SAMPLE = 4096
_ROW_KEY_DISTINCT = 0.1
# a column of long strings with at most one distinct value in _FEW_SHARE
# rows is dictionary-encoded by Arrow (a C++ hash, ~13 ns a string) and only
# its distinct values hashed here (~65 ns a string): TPC-H Q16's 25 brands
# and 150 types after a join. Judged on the rows seen so far, the first
# batch on a sample of its first _FEW_SAMPLE rows.
_FEW_SHARE = 8
_FEW_SAMPLE = 4096


def _and_valid(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _short_words(offsets, data, valid, nulls_as_key):
    """Packed words, and the validity to hand the short table (NULL is a
    word of its own when it is a key)."""
    return ss.pack(offsets, data, valid), (None if nulls_as_key else valid)


class _Column:
    """One key column's table: Arrow values -> dense column codes.

    String columns keep a second table beside their BytesTable: strings of
    at most 7 bytes packed into int64 words (short_strings.py), word -> code.
    Every short string the column has seen is in it, so a batch of short
    strings (NULLs included) never touches the BytesTable except to give
    new strings their code, in the order they first appear."""

    def __init__(self, dtype: pa.DataType) -> None:
        value_type = dtype.value_type if pa.types.is_dictionary(dtype) else dtype
        # a DECIMAL of at most 18 digits is its low 64-bit word (the high word
        # is its sign): an Int64Table, not 16-byte strings (TPC-H Q10's
        # c_acctbal group key: 0.41 -> ~0.05 s for 1.15M rows)
        self.narrow_decimal = (pa.types.is_decimal128(value_type)
                               and value_type.precision <= 18)
        self.bytes_kind = not self.narrow_decimal and (
            is_bytes_type(value_type) or is_wide_fixed_type(value_type))
        self.table = BytesTable() if self.bytes_kind else Int64Table()
        self.short = Int64Table() if self.bytes_kind else None
        self.short_codes = np.empty(0, dtype=np.int64)     # short table id -> code
        self.long_rows = 0           # rows of long strings hashed row by row

    @property
    def nbytes(self) -> int:
        if self.short is None:
            return self.table.nbytes
        return self.table.nbytes + self.short.nbytes + self.short_codes.nbytes

    def codes(self, arr: pa.Array, valid: np.ndarray | None, nulls_as_key: bool,
              insert: bool, few_values_check: bool = True) -> np.ndarray:
        if (self.bytes_kind and pa.types.is_dictionary(arr.type) and valid is None
                and arr.null_count == 0 and arr.dictionary.null_count == 0):
            return self._dictionary_codes(arr, nulls_as_key, insert)
        arr = decode(arr)
        if not self.bytes_kind:
            words = (np.ascontiguousarray(decimal_words(arr)[0].view(np.int64))
                     if self.narrow_decimal else key_words(arr))
            if insert:
                return self.table.insert(words, valid=valid, nulls_as_key=nulls_as_key)
            return self.table.lookup(words, valid=valid, nulls_as_key=nulls_as_key)
        if not is_bytes_type(arr.type):
            parts = fixed_bytes_parts(arr)
            if insert:
                return self.table.insert(*parts, valid=valid, nulls_as_key=nulls_as_key)
            return self.table.lookup(*parts, valid=valid, nulls_as_key=nulls_as_key)
        offsets, data = string_parts(arr)
        short = np.diff(offsets) <= ss.MAX_SHORT
        if short.all():
            return self._short_codes(offsets, data, valid, nulls_as_key, insert)
        if (few_values_check and valid is None and arr.null_count == 0
                and self._few_values(arr)):
            return self._dictionary_codes(pc.dictionary_encode(arr), nulls_as_key, insert)
        self.long_rows += len(arr)
        if not insert:
            return self.table.lookup(offsets, data, valid=valid, nulls_as_key=nulls_as_key)
        codes = self.table.insert(offsets, data, valid=valid, nulls_as_key=nulls_as_key)
        self._remember_short(offsets, data, valid, nulls_as_key, short, codes)
        return codes

    def _few_values(self, arr: pa.Array) -> bool:
        """Whether `arr` (long strings) likely has few distinct values."""
        if len(arr) < _FEW_SAMPLE:
            return False
        if self.long_rows >= _FEW_SAMPLE:
            return self.table.count * _FEW_SHARE <= self.long_rows
        sample = arr.slice(0, _FEW_SAMPLE)
        return pc.count_distinct(sample).as_py() * _FEW_SHARE <= _FEW_SAMPLE

    def _dictionary_codes(self, arr: pa.DictionaryArray, nulls_as_key: bool,
                          insert: bool) -> np.ndarray:
        """Codes of a dictionary array without NULLs: its distinct values are
        coded once, the rows by their indices (a Parquet dictionary column:
        TPC-H Q1's two flags hashed 2 values per batch instead of 6M rows).
        Inserting, only values some row uses enter the table, in the order
        of their first row, so every new id has a row (GroupTable keeps each
        new group's first row) and ids are those of the plain path."""
        indices = arr.indices.to_numpy(zero_copy_only=False)
        size = len(arr.dictionary)
        if insert:
            used = _used_in_row_order(indices, size)
            values = arr.dictionary.take(pa.array(used))
        else:
            used, values = None, arr.dictionary
        coded = self.codes(values, None, nulls_as_key, insert, few_values_check=False)
        if used is None:
            return map_indices(indices, coded)
        by_index = np.full(size, -1, dtype=np.int64)
        by_index[used] = coded
        return map_indices(indices, by_index)

    def _short_codes(self, offsets, data, valid, nulls_as_key, insert) -> np.ndarray:
        words, word_valid = _short_words(offsets, data, valid, nulls_as_key)
        if not insert:
            ids = self.short.lookup(words, valid=word_valid, nulls_as_key=False)
            return ss.codes_of(ids, self.short_codes)
        known = self.short.count
        ids = self.short.insert(words, valid=word_valid, nulls_as_key=False)
        if self.short.count > known:
            rows = ss.first_rows(ids, known, self.short.count - known)
            sub_offsets, sub_data = ss.gather(offsets, data, rows)
            new = self.table.insert(sub_offsets, sub_data,
                                    valid=None if valid is None else valid[rows],
                                    nulls_as_key=True)
            self.short_codes = np.concatenate([self.short_codes, new])
        return ss.codes_of(ids, self.short_codes)

    def _remember_short(self, offsets, data, valid, nulls_as_key, short, codes) -> None:
        """After a BytesTable insert of a batch holding long strings: enter
        its short strings (and NULL) in the short table too."""
        rows = np.flatnonzero(short if (valid is None or nulls_as_key) else short & valid)
        if not len(rows):
            return
        sub_offsets, sub_data = ss.gather(offsets, data, rows)
        sub_valid = None if valid is None else valid[rows]
        words, word_valid = _short_words(sub_offsets, sub_data, sub_valid, nulls_as_key)
        known = self.short.count
        ids = self.short.insert(words, valid=word_valid, nulls_as_key=False)
        if self.short.count > known:
            first = ss.first_rows(ids, known, self.short.count - known)
            self.short_codes = np.concatenate([self.short_codes, codes[rows[first]]])


def _used_in_row_order(indices: np.ndarray, size: int) -> np.ndarray:
    """The dictionary indices some row uses, in the order of their first row."""
    first = first_uses(indices, size)
    used = np.flatnonzero(first >= 0)
    return used[np.argsort(first[used], kind="stable")]


# tuples, and values per column, _tuple_ids_of remembers at most (beyond:
# encoded again each batch)
_MAX_REMEMBERED_TUPLES = 1 << 16


def _value_equality_is_key_equality(t: pa.DataType) -> bool:
    """Whether two values of type `t` are one key exactly when Arrow finds
    them equal (floats are not: -0.0 and 0.0, NaNs)."""
    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_integer(t))


def _small_dictionaries(arrays: list[pa.Array]) -> bool:
    total = 1
    for a in arrays:
        if not (pa.types.is_dictionary(a.type) and a.null_count == 0
                and a.dictionary.null_count == 0):
            return False
        total *= max(len(a.dictionary), 1)
        if total > _MAX_COMBINED:
            return False
    return True


class KeyEncoder:
    """Maps tuples of key values to dense int64 ids 0..num_keys-1,
    incrementally across batches (numba open-addressing hash tables over
    int64 codes and over string bytes)."""

    def __init__(self, types: list[pa.DataType], null_equals_null: bool = True,
                 grow_guard=None) -> None:
        """`grow_guard(nbytes)`, when given, is called before any of its
        tables allocates a larger array (hash_tables.py); it may raise."""
        self.types = list(types)
        self.null_equals_null = null_equals_null
        self._columns = [_Column(t) for t in self.types]
        self._combiners = [Int64Table() for _ in self.types[1:]]
        # several columns with strings of many distinct values: one byte
        # string per row (row_keys.py), decided on the first rows seen
        self._rows: BytesTable | None = None
        self._undecided = wants_row_keys(self.types)
        self._grow_guard = grow_guard
        self._seen_empty_key = False      # zero key columns: the one key ()
        # _combined_dictionaries: the dictionary values seen, per column (a
        # tuple's code packs its values' positions here), and the id of
        # each tuple code seen, sorted by code
        self._known_values: list[pa.Array] | None = None
        self._last_positions: list[tuple] = []       # per column: (dictionary, positions)
        self._memo_codes = np.empty(0, dtype=np.int64)
        self._memo_ids = np.empty(0, dtype=np.int64)
        if grow_guard is not None:
            for table in self._tables():
                table.grow_guard = grow_guard

    def int_key_table(self) -> "Int64Table | None":
        """The hash table of its one key column when that is an integer
        column (every key it has seen is in it), else None."""
        if len(self._columns) != 1 or self._rows is not None:
            return None
        column = self._columns[0]
        if not pa.types.is_integer(self.types[0]) or column.bytes_kind or column.narrow_decimal:
            return None
        return column.table

    def _tables(self) -> list:
        if self._rows is not None:
            return [self._rows]
        tables = list(self._combiners)
        for c in self._columns:
            tables.append(c.table)
            if c.short is not None:
                tables.append(c.short)
        return tables

    @property
    def nbytes(self) -> int:
        """Bytes its hash tables hold (what an operator keeping it reserves)."""
        return (sum(c.nbytes for c in self._columns)
                + sum(t.nbytes for t in self._combiners)
                + (self._rows.nbytes if self._rows is not None else 0))

    def growth_bound(self, rows: int) -> int:
        """The most bytes encoding `rows` more rows may allocate beyond what
        the tables hold now (every row a new key), for reserving first."""
        short_codes = sum(c.short_codes.nbytes + 8 * rows
                          for c in self._columns if c.short is not None)
        return sum(t.growth_bound(rows) for t in self._tables()) + short_codes

    def _final_table(self) -> Int64Table | None:
        """The table that gives the final ids when it is an Int64Table
        known now: the one column's (fixed-width keys) or the last
        combiner's. None with string keys (their tables, or row keys
        decided on the first rows) and with no key columns."""
        if self._undecided or self._rows is not None or not self._columns:
            return None
        if self._combiners:
            return self._combiners[-1]
        table = self._columns[0].table
        return table if isinstance(table, Int64Table) else None

    def presize_bytes(self, keys: int) -> int:
        """Bytes `presize(keys)` allocates (0: nothing to do)."""
        table = self._final_table()
        return 0 if table is None else table.presize_bytes(keys)

    def presize(self, keys: int) -> None:
        """Room for `keys` distinct keys in the table of the final ids, when
        the caller knows how many rows are coming (at most that many keys).
        The caller reserves presize_bytes(keys) first."""
        table = self._final_table()
        if table is not None:
            table.presize(keys)

    @property
    def num_keys(self) -> int:
        if self._rows is not None:
            return self._rows.count
        if not self._columns:
            return int(self._seen_empty_key)
        if self._combiners:
            return self._combiners[-1].count
        return self._columns[0].table.count

    def encode(self, arrays: list[pa.Array]) -> np.ndarray:
        """int64 id per row, inserting unseen keys (-1 for NULL keys when not
        null_equals_null)."""
        return self._run(arrays, insert=True)

    def lookup(self, arrays: list[pa.Array]) -> np.ndarray:
        """int64 id per row for keys already seen, -1 otherwise. Inserts nothing."""
        return self._run(arrays, insert=False)

    def _run(self, arrays: list[pa.Array], insert: bool) -> np.ndarray:
        arrays = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays]
        if len(arrays) != len(self.types):
            raise ValueError(f"KeyEncoder: expected {len(self.types)} key arrays, "
                             f"got {len(arrays)}")
        if not arrays:
            raise ValueError("KeyEncoder with no key columns needs a row count; "
                             "use encode_rows")
        if self._undecided and len(arrays[0]):
            self._decide(arrays)
        if len(arrays) > 1 and _small_dictionaries(arrays):
            return self._combined_dictionaries(arrays, insert)
        if self._rows is not None:
            offsets, data, valid = row_key_parts(arrays)
            if self.null_equals_null:
                valid = None                # a NULL is a value of its column
            if insert:
                return self._rows.insert(offsets, data, valid=valid, nulls_as_key=False)
            return self._rows.lookup(offsets, data, valid=valid, nulls_as_key=False)
        n = len(arrays[0])
        valids = [validity(a) for a in arrays]
        if self.null_equals_null:
            col_valid = valids
            nulls_as_key = True
        else:
            keep = None
            for v in valids:
                keep = _and_valid(keep, v)
            col_valid = [keep] * len(arrays)
            nulls_as_key = False
        ids = self._columns[0].codes(arrays[0], col_valid[0], nulls_as_key, insert)
        for col, comb, arr, v in zip(self._columns[1:], self._combiners, arrays[1:],
                                     col_valid[1:]):
            codes = col.codes(arr, v, nulls_as_key, insert)
            if col.table.count > _MAX_CODE or comb.count > _MAX_CODE:
                raise OverflowError("KeyEncoder: more than 2**31 distinct keys")
            ok = (ids >= 0) & (codes >= 0)
            packed = (ids << 32) | codes
            if insert:
                ids = comb.insert(packed, valid=ok, nulls_as_key=False)
            else:
                ids = comb.lookup(packed, valid=ok, nulls_as_key=False)
        assert len(ids) == n
        return ids

    def _decide(self, arrays: list[pa.Array]) -> None:
        """Row keys when a string column's first rows have many distinct
        values (names, addresses: TPC-H Q10 1.7 -> 1.0 us a row); per-column
        tables otherwise (few brands or types are small tables of short
        strings, faster than hashing whole rows: Q16 would take 35% longer)."""
        self._undecided = False
        for arr in arrays:
            t = arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type
            if not is_bytes_type(t):
                continue
            sample = arr.slice(0, _ROW_KEY_SAMPLE)
            if pa.types.is_dictionary(sample.type):
                sample = sample.dictionary_decode()
            # a share of the full sample size, not of a short first batch
            # (300 rows of 150 product types would look "mostly distinct")
            if pc.count_distinct(sample).as_py() > _ROW_KEY_DISTINCT * _ROW_KEY_SAMPLE:
                self._rows = BytesTable()
                self._rows.grow_guard = self._grow_guard
                self._columns, self._combiners = [], []
                return

    def _combined_dictionaries(self, arrays: list[pa.DictionaryArray],
                               insert: bool) -> np.ndarray:
        """Ids of rows whose keys are all dictionary arrays without NULLs and
        with few value tuples: each row's tuple of indices becomes one
        mixed-radix index, the tuples some row uses are encoded once, in the
        order of their first row (as plain key rows: the tables and ids are
        those of the row-by-row path), and rows take their tuple's id. TPC-H
        Q1's two flags: one pass over the rows instead of per-column codes,
        packing and a combiner table."""
        combo = arrays[0].indices.to_numpy(zero_copy_only=False)
        for a in arrays[1:]:
            combo = mixed_radix(combo, a.indices.to_numpy(zero_copy_only=False),
                                len(a.dictionary))
        total = 1
        for a in arrays:
            total *= len(a.dictionary)
        used = _used_in_row_order(combo, total)
        by_combo = np.full(total, -1, dtype=np.int64)
        by_combo[used] = self._tuple_ids_of(arrays, used, insert)
        return map_indices(combo, by_combo)

    def _tuple_ids_of(self, arrays: list[pa.DictionaryArray], used: np.ndarray,
                      insert: bool) -> np.ndarray:
        """Ids of the value tuples at the mixed-radix indices `used`. A tuple
        encoded before (in an earlier batch, whose dictionaries may order
        the same values differently) takes its remembered id; the others
        are encoded as plain key rows, in `used` order. Remembering spares
        every batch a pass of the row-by-row path over its few tuples (a
        fifth of TPC-H Q1's key encoding). Only for strings and integers,
        whose Python equality is the encoder's."""
        digits, rest = [], used
        for a in reversed(arrays):
            size = len(a.dictionary)
            digits.append(rest % size)
            rest = rest // size
        digits.reverse()

        def keys(rows):
            return [a.dictionary.take(pa.array(d if rows is None else d[rows], pa.int64()))
                    for a, d in zip(arrays, digits)]

        codes = self._tuple_codes(arrays, digits)
        if codes is None:
            return self._run(keys(None), insert)
        ids = np.full(len(codes), -1, dtype=np.int64)
        if len(self._memo_codes):
            pos = np.minimum(np.searchsorted(self._memo_codes, codes),
                             len(self._memo_codes) - 1)
            hit = self._memo_codes[pos] == codes
            ids[hit] = self._memo_ids[pos[hit]]
        new = np.flatnonzero(ids < 0)
        if new.size:
            got = self._run(keys(new), insert)
            ids[new] = got
            keep = got >= 0
            room = _MAX_REMEMBERED_TUPLES - len(self._memo_codes)
            if room > 0 and keep.any():
                add_codes, add_ids = codes[new][keep][:room], got[keep][:room]
                all_codes = np.concatenate([self._memo_codes, add_codes])
                order = np.argsort(all_codes, kind="stable")
                self._memo_codes = all_codes[order]
                self._memo_ids = np.concatenate([self._memo_ids, add_ids])[order]
        return ids

    def _tuple_codes(self, arrays: list[pa.DictionaryArray],
                     digits: list[np.ndarray]) -> np.ndarray | None:
        """One int64 per tuple (each column's value indices `digits` into its
        dictionary): the positions of the tuple's values among the values
        each column has seen, packed side by side. None where values are
        not compared exactly (floats) or too many were seen to pack."""
        if not all(_value_equality_is_key_equality(a.type.value_type) for a in arrays):
            return None
        if self._known_values is None:
            self._known_values = [a.dictionary.slice(0, 0) for a in arrays]
            self._last_positions = [(None, None)] * len(arrays)
        bits = 63 // len(arrays)
        codes = np.zeros(len(digits[0]), dtype=np.int64)
        for c, (a, d) in enumerate(zip(arrays, digits)):
            last, at = self._last_positions[c]
            if last is None or not a.dictionary.equals(last):   # row groups often repeat it
                at = self._positions(c, a.dictionary, bits)
                if at is None:
                    return None
                self._last_positions[c] = (a.dictionary, at)
            codes = (codes << bits) | at[d]
        return codes

    def _positions(self, c: int, dictionary: pa.Array, bits: int) -> np.ndarray | None:
        """Where each value of `dictionary` is among the values column `c`
        has seen (new ones are added); None past what `bits` can hold."""
        known = self._known_values[c]
        at = pc.index_in(dictionary, value_set=known)
        if at.null_count:
            known = pa.concat_arrays([known, dictionary.filter(at.is_null())])
            if len(known) > min(_MAX_REMEMBERED_TUPLES, 1 << bits):
                return None
            self._known_values[c] = known
            at = pc.index_in(dictionary, value_set=known)
        return at.to_numpy(zero_copy_only=False).astype(np.int64)

    def encode_rows(self, num_rows: int) -> np.ndarray:
        """Zero key columns: every row has the one (empty) key, id 0."""
        if num_rows:
            self._seen_empty_key = True
        return np.zeros(num_rows, dtype=np.int64)
