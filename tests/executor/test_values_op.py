"""ValuesExec: literal rows, NULLs, and the zero-column one-row batch."""
import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

import datetime
import decimal

import pyarrow as pa

from quiver import datatypes as dt
from quiver.planner.expr import Literal
from quiver.planner.logical import Field
from quiver.planner.physical import ValuesExec
from quiver.executor.operators.values import rows_only_batch


def test_rows_only_batch_keeps_row_count_through_ipc_and_concat():
    b = rows_only_batch(3)
    assert (b.num_rows, b.num_columns) == (3, 0)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, b.schema) as w:
        w.write_batch(b)
    assert pa.ipc.open_stream(sink.getvalue()).read_all().num_rows == 3
    assert pa.concat_batches([b, rows_only_batch(2)]).num_rows == 5
    assert rows_only_batch(0).num_rows == 0


def test_select_without_from_is_one_row_no_columns():
    node = ValuesExec((), ((),))
    (b,) = list(T.registry.execute(node, 0, T.ExecContext()))
    assert (b.num_rows, b.num_columns) == (1, 0)


def test_values_rows_with_nulls_and_casts():
    fields = (Field("a#1", dt.INT64), Field("b#2", dt.STRING),
              Field("c#3", dt.decimal(5, 2)), Field("d#4", dt.DATE))
    rows = (
        (Literal(1, dt.INT32), Literal("x", dt.STRING),
         Literal(decimal.Decimal("1.50"), dt.decimal(3, 2)), Literal(datetime.date(2020, 1, 2), dt.DATE)),
        (Literal(None, dt.NULL), Literal(None, dt.NULL), Literal(None, dt.NULL), Literal(None, dt.NULL)),
        (Literal(3, dt.INT64), Literal("z", dt.STRING),
         Literal(decimal.Decimal("12.25"), dt.decimal(5, 2)), Literal(datetime.date(1999, 12, 31), dt.DATE)),
    )
    got = T.run(ValuesExec(fields, rows))
    assert got.schema.types == [f.dtype for f in fields]
    assert got.to_pylist() == [
        {"a#1": 1, "b#2": "x", "c#3": decimal.Decimal("1.50"), "d#4": datetime.date(2020, 1, 2)},
        {"a#1": None, "b#2": None, "c#3": None, "d#4": None},
        {"a#1": 3, "b#2": "z", "c#3": decimal.Decimal("12.25"), "d#4": datetime.date(1999, 12, 31)},
    ]


def test_values_with_expressions():
    from quiver.planner.expr import Call
    fields = (Field("a#1", dt.INT64),)
    rows = ((Call("add", (Literal(1, dt.INT64), Literal(2, dt.INT64)), dt.INT64),),
            (Literal(7, dt.INT32),))
    assert T.run(ValuesExec(fields, rows))["a#1"].to_pylist() == [3, 7]
