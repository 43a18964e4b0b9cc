"""LeaderKeyEncoder: group keys where one integer column decides the rest.

`GROUP BY c_custkey, c_name, c_address, c_phone, c_comment` (TPC-H Q10,
Q18, and most reports that group by a key and print its attributes) has as
many groups as keys, but encoding every row's whole tuple costs what its
long strings cost: SF10 Q10's partial aggregate spent ~0.9 us a row
building and hashing row keys. No schema says the key decides the other
columns (Parquet has no keys), so this encoder checks it instead of
assuming it:

- rows are encoded by the leader column alone (an Int64Table: cheap);
- the first row of each new leader value is that leader group's key (its
  representative);
- every row's other key columns are compared with its representative's
  (vectorized: take, then equal; NULL equals NULL);
- a row that differs is a group of its own whole tuple, encoded by a second,
  full KeyEncoder that only such rows reach. A tuple is always in the same
  group: with its leader value's representative when it equals it, in the
  full encoder otherwise.
- when rows differ in the first batch the leader was a poor guess: the
  encoder drops it and encodes every tuple in full from then on.

`encode_keeping_new` (an encoder's codes, and each new code's first row's
key values) is also how GroupTable keeps its groups' keys.

Ids are dense, in order of first appearance (new leader groups of a batch
first, then its new whole tuples). The leader is the integer key column
with the most distinct values in the first batch.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow_buffers import decode, is_bytes_type
from .grouped_agg import first_row_of_new_ids
from .key_encoder import KeyEncoder


def _plain(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _exact_equality(t: pa.DataType) -> bool:
    """Values of `t` are one key exactly when Arrow finds them equal
    (not floats: -0.0 and 0.0, NaN)."""
    return pa.types.is_integer(t) or is_bytes_type(t) or pa.types.is_date(t) \
        or pa.types.is_decimal(t) or pa.types.is_boolean(t)


def wants_leader(types: list[pa.DataType]) -> bool:
    """Several key columns, an integer one, one of the others a string or
    binary (what makes whole-tuple encoding dear), all compared exactly."""
    plain = [_plain(t) for t in types]
    return (len(types) > 1 and any(pa.types.is_integer(t) for t in plain)
            and any(is_bytes_type(t) for t in plain)
            and all(_exact_equality(t) for t in plain))


def _grown(a: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.concatenate([a, values]) if len(a) else values


def encode_keeping_new(encoder: KeyEncoder, codes_of: list[pa.Array],
                       keys: list[pa.Array]) -> tuple[np.ndarray, list[pa.Array] | None]:
    """`encoder`'s codes of the rows of `codes_of`, and the values in `keys`
    (decoded, a column each) of the first row of each code it saw for the
    first time here, in code order; None when there is none."""
    before = encoder.num_keys
    codes = encoder.encode(codes_of)
    after = encoder.num_keys
    if after == before:
        return codes, None
    first = pa.array(first_row_of_new_ids(codes, before, after))
    return codes, [decode(a.take(first)) for a in keys]


class LeaderKeyEncoder:
    """KeyEncoder's interface for aggregation (encode, num_keys, nbytes,
    growth_bound). It appends each new group's key values (decoded) to
    `chunks` itself, in id order: one list per run of new groups, a column
    each."""

    appends_keys = True

    def __init__(self, types: list[pa.DataType], chunks: list[list[pa.Array]]) -> None:
        self.types = list(types)
        self.chunks = chunks
        self.leader: int | None = None
        self._lead: KeyEncoder | None = None         # leader value -> leader group
        self._reps: list[pa.Array] = []              # per column, each leader group's key
        self._rest: KeyEncoder | None = None         # whole tuples unlike their leader's
        self._lead_ids = np.empty(0, np.int64)       # leader group -> id
        self._rest_ids = np.empty(0, np.int64)       # whole-tuple group -> id
        self._full: KeyEncoder | None = None         # the leader given up
        self._count = 0
        self._batches = 0
        self._empty = KeyEncoder(self.types)         # for growth bounds only
        # the encoders' sizes when made: an empty one counts as the full
        # encoder's empty size (a GroupTable reserves what it holds beyond it)
        self._start: dict[int, int] = {}

    @property
    def num_keys(self) -> int:
        return self._full.num_keys if self._full is not None else self._count

    @property
    def nbytes(self) -> int:
        held = self._empty.nbytes + sum(a.nbytes for a in self._reps) \
            + self._lead_ids.nbytes + self._rest_ids.nbytes
        for e in (self._lead, self._rest, self._full):
            if e is not None:
                held += max(0, e.nbytes - self._start[id(e)])
        return held

    def _made(self, types: list[pa.DataType]) -> KeyEncoder:
        e = KeyEncoder(types)
        self._start[id(e)] = e.nbytes
        return e

    def growth_bound(self, rows: int) -> int:
        if self._full is not None:
            return self._full.growth_bound(rows)
        rest = self._rest if self._rest is not None else self._empty
        lead = self._lead.growth_bound(rows) if self._lead is not None else 0
        return lead + rest.growth_bound(rows)

    def encode(self, arrays: list[pa.Array]) -> np.ndarray:
        arrays = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays]
        self._batches += 1
        if self._full is not None:
            return self._encode_full(arrays)
        if self._lead is None:
            self._choose_leader(arrays)
        lead, new_reps = encode_keeping_new(self._lead, [arrays[self.leader]], arrays)
        if new_reps is not None:
            self._reps = [pa.concat_arrays([r, n]) if self._reps else n
                          for r, n in zip(self._reps or [None] * len(arrays), new_reps)]
        differs = self._differs(arrays, lead)
        if differs is not None and self._batches == 1:
            self._give_up()
            return self._encode_full(arrays)
        if new_reps is not None:
            self._lead_ids = _grown(self._lead_ids, self._new_ids(new_reps))
        ids = self._lead_ids[lead]
        if differs is not None:
            ids[differs] = self._encode_rest(arrays, differs)
        return ids

    def _choose_leader(self, arrays: list[pa.Array]) -> None:
        candidates = [i for i, a in enumerate(arrays) if pa.types.is_integer(_plain(a.type))]
        counts = [pc.count_distinct(arrays[i], mode="all").as_py() for i in candidates]
        self.leader = candidates[int(np.argmax(counts))]
        self._lead = self._made([self.types[self.leader]])

    def _differs(self, arrays: list[pa.Array], lead: np.ndarray) -> np.ndarray | None:
        """Rows whose key is not their leader group's key; None when all are."""
        take = pa.array(lead)
        bad = None
        for c, a in enumerate(arrays):
            if c == self.leader:
                continue
            a = decode(a)
            rep = self._reps[c].take(take)
            if a.null_count == 0 and rep.null_count == 0:
                same = pc.equal(a, rep)
            else:
                same = pc.or_(pc.fill_null(pc.equal(a, rep), False),
                              pc.and_(pc.is_null(a), pc.is_null(rep)))
            if pc.all(same).as_py():
                continue
            col_bad = pc.invert(same).to_numpy(zero_copy_only=False)
            bad = col_bad if bad is None else bad | col_bad
        return None if bad is None else np.flatnonzero(bad)

    def _encode_rest(self, arrays: list[pa.Array], rows: np.ndarray) -> np.ndarray:
        if self._rest is None:
            self._rest = self._made(self.types)
        take = pa.array(rows)
        subset = [a.take(take) for a in arrays]
        got, new_keys = encode_keeping_new(self._rest, subset, subset)
        if new_keys is not None:
            self._rest_ids = _grown(self._rest_ids, self._new_ids(new_keys))
        return self._rest_ids[got]

    def _new_ids(self, keys: list[pa.Array]) -> np.ndarray:
        """Ids for new groups with these key values (appended to `chunks`)."""
        self.chunks.append(keys)
        ids = self._count + np.arange(len(keys[0]), dtype=np.int64)
        self._count += len(keys[0])
        return ids

    def _give_up(self) -> None:
        """The first batch's rows differ from their leader's: encode whole
        tuples from now on (nothing was handed out yet)."""
        self._full = self._made(self.types)
        self._lead, self._reps, self._rest = None, [], None

    def _encode_full(self, arrays: list[pa.Array]) -> np.ndarray:
        ids, new_keys = encode_keeping_new(self._full, arrays, arrays)
        if new_keys is not None:
            self.chunks.append(new_keys)
        return ids
