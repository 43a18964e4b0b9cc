"""ScanFilter: cheap comparisons first, and the batch narrowed only when it pays."""
import datetime
import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quiver import datatypes as dt
from quiver.executor import scan_filter as sf
from quiver.planner.expr import Call, Column, InList, Literal

DAY = Column("d#1", pa.date32())
PRICE = Column("p#2", pa.decimal128(15, 2))
NAME = Column("s#3", pa.string())
DIVISOR = Column("x#4", pa.int64())


def _cmp(fn, column, value, dtype):
    return Call(fn, (column, Literal(value, dtype)), dt.BOOL)


def _batch(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    days = rng.integers(8000, 10000, n).astype("int32")
    cents = rng.integers(0, 10000, n)
    divisor = rng.integers(0, 5, n)
    return pa.RecordBatch.from_arrays([
        pa.array(days).cast(pa.date32()),
        pa.array([decimal.Decimal(int(c)).scaleb(-2) for c in cents], pa.decimal128(15, 2)),
        pa.array([f"item{c % 97}" for c in cents]),
        pa.array(divisor, mask=rng.random(n) < 0.05),
    ], names=["d#1", "p#2", "s#3", "x#4"])


LOW, HIGH = datetime.date(1992, 1, 1), datetime.date(1994, 1, 1)


def _conjuncts():
    like = Call("like", (NAME, Literal("item1%", pa.string())), dt.BOOL)
    return [
        like,
        _cmp("ge", DAY, LOW, pa.date32()),
        _cmp("le", PRICE, decimal.Decimal("50.00"), pa.decimal128(15, 2)),
        _cmp("lt", DAY, HIGH, pa.date32()),
        InList(DIVISOR, (Literal(1, dt.INT64), Literal(2, dt.INT64))),
    ]


def _reference(batch):
    mask = pc.and_kleene(
        pc.and_kleene(pc.match_like(batch["s#3"], "item1%"),
                      pc.greater_equal(batch["d#1"], pa.scalar(LOW))),
        pc.and_kleene(
            pc.and_kleene(pc.less_equal(batch["p#2"],
                                        pa.scalar(decimal.Decimal("50.00"), pa.decimal128(15, 2))),
                          pc.less(batch["d#1"], pa.scalar(HIGH))),
            pc.is_in(batch["x#4"], pa.array([1, 2]))))
    return batch.filter(pc.fill_null(mask, False))


def test_same_rows_as_all_conjuncts_together():
    batch = _batch()
    got = sf.ScanFilter(_conjuncts()).apply(batch)
    assert got.num_rows > 0
    assert got.equals(_reference(batch))


def test_comparisons_with_constants_come_first_dates_before_decimals():
    order = [c.expr for c in sf._cheap_first([sf._Conjunct(e) for e in _conjuncts()])]
    like, day_low, price, day_high, in_list = _conjuncts()
    assert order == [day_low, day_high, in_list, price, like]


def test_a_conjunct_that_may_raise_keeps_its_place():
    raising = Call("gt", (Call("intdiv", (Literal(10, dt.INT64), DIVISOR), dt.INT64),
                          Literal(2, dt.INT64)), dt.BOOL)
    nonzero = _cmp("ne", DIVISOR, 0, dt.INT64)
    like = Call("like", (NAME, Literal("item1%", pa.string())), dt.BOOL)
    day = _cmp("ge", DAY, LOW, pa.date32())
    conjuncts = [sf._Conjunct(e) for e in (like, nonzero, raising, day)]
    assert conjuncts[2].raises
    order = [c.expr for c in sf._cheap_first(conjuncts)]
    assert order == [nonzero, like, raising, day]
    batch = _batch()
    got = sf.ScanFilter([like, nonzero, raising, day]).apply(batch)
    assert got.num_rows > 0 and pc.all(pc.not_equal(got["x#4"], 0)).as_py()


def test_narrowing_only_when_later_conjuncts_save_more_than_it_costs():
    n = 1000
    day = sf._Conjunct(_cmp("lt", DAY, HIGH, pa.date32()))
    price = sf._Conjunct(_cmp("le", PRICE, decimal.Decimal("1"), pa.decimal128(15, 2)))
    like = sf._Conjunct(Call("like", (NAME, Literal("a%", pa.string())), dt.BOOL))
    forty = pa.array(np.arange(n) < 400)
    fifteen = pa.array(np.arange(n) < 150)
    # a date comparison left: evaluating it on every row is cheaper than filtering 4 columns
    assert not sf._worth_narrowing(forty, 4, [day])
    # three DECIMAL comparisons on 15% of the rows instead of all of them
    assert sf._worth_narrowing(fifteen, 4, [price, price, price])
    # an expensive conjunct after a mask that halves the rows
    assert sf._worth_narrowing(forty, 4, [like])
    assert not sf._worth_narrowing(pa.array(np.arange(n) < 900), 4, [like])


FLAG = Column("f#5", pa.string())


def _flags(values, dictionary=("A", "N", "R")):
    indices = pa.array([None if v is None else dictionary.index(v) for v in values], pa.int32())
    return pa.RecordBatch.from_arrays(
        [pa.DictionaryArray.from_arrays(indices, pa.array(dictionary))], names=["f#5"])


def _kept(conjuncts, batch):
    return sf.ScanFilter(conjuncts).apply(batch).column(0).dictionary_decode().to_pylist()


def test_dictionary_conjuncts_true_for_one_several_no_or_every_value():
    values = ["A", "R", "N", "R", "A", "N", "R"]
    batch = _flags(values)
    eq_r = _cmp("eq", FLAG, "R", pa.string())
    ne_r = _cmp("ne", FLAG, "R", pa.string())
    in_an = InList(FLAG, (Literal("A", pa.string()), Literal("N", pa.string())))
    none = _cmp("eq", FLAG, "X", pa.string())
    every = Call("is_not_null", (FLAG,), dt.BOOL)
    assert _kept([eq_r], batch) == ["R", "R", "R"]
    assert _kept([ne_r], batch) == ["A", "N", "A", "N"]
    assert _kept([in_an, ne_r], batch) == ["A", "N", "A", "N"]
    assert _kept([eq_r, ne_r], batch) == []
    assert _kept([none], batch) == []
    assert _kept([every], batch) == values
    with_null = _flags(["R", None, "A", "R"])
    assert _kept([eq_r], with_null) == ["R", "R"]
    assert _kept([ne_r], with_null) == ["A"]


def test_answer_per_dictionary_value_is_reused_only_for_equal_dictionaries():
    eq_r = _cmp("eq", FLAG, "R", pa.string())
    scan = sf.ScanFilter([eq_r])
    first = scan.apply(_flags(["A", "R", "N"]))
    assert first.column(0).dictionary_decode().to_pylist() == ["R"]
    remembered = scan.conjuncts[0].last_dictionary
    assert remembered is not None
    again = scan.apply(_flags(["R", "R", "N"]))
    assert again.num_rows == 2 and scan.conjuncts[0].last_dictionary is remembered
    # another row group's dictionary lists the values in another order
    other = scan.apply(_flags(["R", "A", "N"], dictionary=("R", "N", "A")))
    assert other.column(0).dictionary_decode().to_pylist() == ["R"]
    assert scan.conjuncts[0].last_dictionary is not remembered
