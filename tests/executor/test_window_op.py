"""WindowExec against DuckDB: random data with NULLs and ties, every
supported function, ROWS and RANGE frames, several specs in one node."""
import _ops_testlib as T  # noqa: E402  (tests/executor/conftest.py)

import decimal  # noqa: E402
import math  # noqa: E402

import duckdb  # noqa: E402  (test-only oracle)
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

from quiver.errors import DataError  # noqa: E402
from quiver.executor.context import ExecContext  # noqa: E402
from quiver import datatypes as dt  # noqa: E402
from quiver.planner.expr import Literal, SortKey, WindowFrame  # noqa: E402
from quiver.planner.functions_agg import resolve_window  # noqa: E402
from quiver.planner.physical import WindowExec  # noqa: E402

WORDS = ["a", "B", "b", "é", "Z", "ab", "zz"]


def _data(n, seed):
    rng = np.random.default_rng(seed)
    m = lambda p: rng.random(n) < p  # noqa: E731
    cents = rng.integers(-10_000, 10_000, n)
    return pa.table({
        "rid": np.arange(n),
        "p": pa.array(rng.integers(0, 4, n), mask=m(0.1)),
        "q": pa.array(rng.choice(WORDS[:3], n)),
        "o": pa.array(rng.integers(0, 8, n), mask=m(0.15)),
        "s": pa.array(rng.choice(WORDS, n), mask=m(0.2)),
        "x": pa.array(rng.integers(-50, 50, n), mask=m(0.2)),
        "f": pa.array(rng.normal(size=n), mask=m(0.2)),
        "d": pa.array([decimal.Decimal(int(c)).scaleb(-2) for c in cents],
                      pa.decimal128(10, 2), mask=m(0.2)),
        "day": pa.array(rng.integers(18000, 18030, n).astype("int32"), mask=m(0.1)).cast(pa.date32()),
    })


def _bound(v, start):
    if v is None:
        return "UNBOUNDED PRECEDING" if start else "UNBOUNDED FOLLOWING"
    if v == 0:
        return "CURRENT ROW"
    return f"{-v} PRECEDING" if v < 0 else f"{v} FOLLOWING"


class Spec:
    """One window call, as a Quiver WindowCall and as DuckDB SQL."""

    def __init__(self, t, fn, args=(), part=(), order=(), frame=None):
        self.t = t
        exprs = [a if isinstance(a, Literal) else T.col(a, t) for a in args]
        keys = tuple(SortKey(T.col(c, t), asc, nf) for c, asc, nf in order)
        self.frame = None if frame is None else WindowFrame(*frame)
        self.call = resolve_window(fn, exprs, [T.col(c, t) for c in part], keys, self.frame)
        sql_args = ", ".join(str(a.value) if isinstance(a, Literal) else a for a in args)
        over = []
        if part:
            over.append("PARTITION BY " + ", ".join(part))
        if order:
            over.append("ORDER BY " + ", ".join(
                f"{c} {'ASC' if asc else 'DESC'} NULLS {'FIRST' if nf else 'LAST'}"
                for c, asc, nf in order))
        if frame is not None:
            over.append(f"{frame[0].upper()} BETWEEN {_bound(frame[1], True)} "
                        f"AND {_bound(frame[2], False)}")
        self.sql = f"{fn}({sql_args}) OVER ({' '.join(over)})"


def _check(t, specs, batch_size=64):
    names = tuple(f"w{i}" for i in range(len(specs)))
    node = WindowExec(T.leaf(t, parts=1), tuple(s.call for s in specs), names)
    got = T.run(node, ctx=ExecContext(batch_size=batch_size))
    assert got.schema.names == t.schema.names + list(names)
    for s, nm in zip(specs, names):
        assert got.schema.field(nm).type == s.call.dtype, s.sql
    got = got.sort_by("rid")
    con = duckdb.connect()
    con.register("t", t)
    sel = ", ".join(f"{s.sql} AS {nm}" for s, nm in zip(specs, names))
    ref = con.execute(f"SELECT rid, {sel} FROM t ORDER BY rid").fetchall()
    for j, (s, nm) in enumerate(zip(specs, names)):
        g = got[nm].to_pylist()
        r = [row[j + 1] for row in ref]
        for a, b in zip(g, r):
            if isinstance(b, float) and a is not None:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (s.sql, g, r)
            else:
                assert a == b, (s.sql, g, r)


RANKING = ["row_number", "rank", "dense_rank", "percent_rank", "cume_dist"]


@pytest.mark.parametrize("seed", range(4))
def test_ranking_functions(seed):
    t = _data(120, seed)
    specs = []
    for fn in RANKING:
        # ties on (o) decide rank-like functions; row_number needs a total order
        tie = [("rid", True, False)] if fn == "row_number" else []
        specs.append(Spec(t, fn, (), ("p",), [("o", seed % 2 == 0, seed < 2)] + tie))
        specs.append(Spec(t, fn, (), ("p", "q"), [("s", False, True), ("o", True, False)] + tie))
        specs.append(Spec(t, fn, (), (), [("day", True, True)] + tie))
    specs.append(Spec(t, "rank", (), ("p",), []))            # no ORDER BY: all peers
    for k in (1, 3, 7, 200):
        specs.append(Spec(t, "ntile", (Literal(k, dt.INT64),), ("p",), [("rid", True, False)]))
    _check(t, specs)


@pytest.mark.parametrize("seed", range(4))
def test_value_functions(seed):
    t = _data(100, seed + 10)
    order = [("o", True, seed % 2 == 1), ("rid", False, False)]
    specs = [
        Spec(t, "lag", ("x",), ("p",), order),
        Spec(t, "lead", ("s",), ("p",), order),
        Spec(t, "lag", ("d", Literal(2, dt.INT64)), ("p",), order),
        Spec(t, "lead", ("x", Literal(3, dt.INT64), Literal(-1, dt.INT64)), ("p", "q"), order),
        Spec(t, "lag", ("x", Literal(0, dt.INT64)), ("p",), order),
        Spec(t, "lag", ("x", Literal(-2, dt.INT64), Literal(99, dt.INT64)), (), order),
    ]
    frames = [None, ("rows", None, 0), ("rows", -2, 1), ("rows", 1, 3), ("rows", 0, None),
              ("rows", None, None), ("rows", -3, -1)]
    for fr in frames:
        for fn, args in (("first_value", ("s",)), ("last_value", ("x",)),
                         ("nth_value", ("f", Literal(2, dt.INT64)))):
            specs.append(Spec(t, fn, args, ("p",), order, fr))
    _check(t, specs)


AGG_FRAMES = [None, ("rows", None, 0), ("rows", -2, 1), ("rows", 1, 3), ("rows", -4, -2),
              ("rows", 0, None), ("rows", None, None), ("range", None, 0), ("range", 0, 0),
              ("range", 0, None), ("range", None, None), ("range", -2, 1), ("range", 1, 3),
              ("range", -3, -1)]


@pytest.mark.parametrize("frame", AGG_FRAMES, ids=str)
@pytest.mark.parametrize("asc,nulls_first", [(True, False), (True, True), (False, True), (False, False)])
def test_aggregates_over_frames(frame, asc, nulls_first):
    t = _data(90, hash((str(frame), asc, nulls_first)) % 1000)
    order = [("o", asc, nulls_first)]
    if frame is not None and frame[0] == "rows":
        order.append(("rid", True, False))
    specs = [Spec(t, fn, args, ("p",), order, frame) for fn, args in (
        ("count", ()), ("count", ("x",)), ("sum", ("x",)), ("sum", ("d",)), ("sum", ("f",)),
        ("avg", ("x",)), ("avg", ("d",)), ("avg", ("f",)), ("min", ("s",)), ("max", ("s",)),
        ("min", ("x",)), ("max", ("d",)), ("max", ("f",)), ("min", ("day",)))]
    _check(t, specs)


def test_whole_partition_aggregates_without_order_and_range_over_dates():
    t = _data(80, 99)
    specs = [Spec(t, "sum", ("d",), ("p", "q")), Spec(t, "count", (), ()),
             Spec(t, "max", ("s",), ("p",)), Spec(t, "avg", ("f",), ()),
             Spec(t, "count", ("x",), ("p",), [("day", True, False)], ("range", -3, 0)),
             Spec(t, "sum", ("x",), ("p",), [("day", False, True)], ("range", -2, 2))]
    _check(t, specs)


def test_decimal_sums_are_exact_in_128_bits():
    big = decimal.Decimal("9" * 17 + ".99")                      # fits decimal(19,2)
    t = pa.table({"rid": np.arange(6), "p": [1, 1, 1, 2, 2, 2],
                  "d": pa.array([big] * 6, pa.decimal128(19, 2))})
    specs = [Spec(t, "sum", ("d",), ("p",), [("rid", True, False)]),
             Spec(t, "sum", ("d",), ("p",), [("rid", True, False)], ("rows", -1, 0))]
    _check(t, specs)


def test_empty_input_and_bad_ntile():
    t = _data(20, 5)
    spec = Spec(t, "row_number", (), ("p",), [("rid", True, False)])
    node = WindowExec(T.leaf([[t.slice(0, 0).to_batches()[0] if t.slice(0, 0).to_batches()
                                else pa.RecordBatch.from_pylist([], schema=t.schema)]]),
                      (spec.call,), ("w",))
    assert T.run(node).num_rows == 0
    bad = Spec(t, "ntile", (Literal(0, dt.INT64),), ("p",), [("rid", True, False)])
    with pytest.raises(DataError):
        T.run(WindowExec(T.leaf(t), (bad.call,), ("w",)))
