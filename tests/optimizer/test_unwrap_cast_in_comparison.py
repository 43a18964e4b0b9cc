import datetime

import pyarrow as pa
import pytest

from quiver import datatypes as dt
from quiver.planner.expr import Call, Cast, Column, Literal
from quiver.planner.optimizer.unwrap_cast_in_comparison import unwrap_expression

D = Column("d#1", dt.DATE)
I32 = Column("i#2", dt.INT32)


def cmp(fn, a, b):
    return Call(fn, (a, b), dt.BOOL)


def ts(*args):
    return Literal(datetime.datetime(*args), dt.TIMESTAMP)


@pytest.mark.parametrize("fn", ["lt", "le", "gt", "ge", "eq", "ne"])
def test_date_vs_midnight_timestamp(fn):
    e = cmp(fn, Cast(D, dt.TIMESTAMP), ts(1995, 1, 1))
    assert unwrap_expression(e) == cmp(fn, D, Literal(datetime.date(1995, 1, 1), dt.DATE))


def test_literal_on_the_left_flips():
    e = cmp("lt", ts(1995, 1, 1), Cast(D, dt.TIMESTAMP))
    assert unwrap_expression(e) == cmp("gt", D, Literal(datetime.date(1995, 1, 1), dt.DATE))


def test_date_vs_timestamp_inside_a_day():
    day = Literal(datetime.date(1995, 1, 1), dt.DATE)
    assert unwrap_expression(cmp("lt", Cast(D, dt.TIMESTAMP), ts(1995, 1, 1, 12))) == cmp("le", D, day)
    assert unwrap_expression(cmp("ge", Cast(D, dt.TIMESTAMP), ts(1995, 1, 1, 12))) == cmp("gt", D, day)
    e = cmp("eq", Cast(D, dt.TIMESTAMP), ts(1995, 1, 1, 12))
    assert unwrap_expression(e) is e


def test_integer_widening():
    e = cmp("eq", Cast(I32, dt.INT64), Literal(5, dt.INT64))
    assert unwrap_expression(e) == cmp("eq", I32, Literal(5, dt.INT32))
    big = cmp("eq", Cast(I32, dt.INT64), Literal(2 ** 40, dt.INT64))
    assert unwrap_expression(big) is big


def test_results_agree_with_casting():
    """The rewritten predicate selects the same rows as the original."""
    from quiver.executor.eval import evaluate
    days = pa.array([datetime.date(1994, 12, 31), datetime.date(1995, 1, 1),
                     datetime.date(1995, 1, 2), None], pa.date32())
    batch = pa.record_batch({"d#1": days})
    for fn in ["lt", "le", "gt", "ge", "eq", "ne"]:
        for t in [ts(1995, 1, 1), ts(1995, 1, 1, 6)]:
            e = cmp(fn, Cast(D, dt.TIMESTAMP), t)
            assert evaluate(unwrap_expression(e), batch).equals(evaluate(e, batch)), (fn, t)
