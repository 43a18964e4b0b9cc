"""Expression evaluation over Arrow record batches.

    evaluate(Call("gt", (Column("x#1", int64), Literal(10, int32 -> int64)), bool), batch)
        -> pa.Array[bool] of batch.num_rows values

Dispatch is on the node type (Column, Literal, Call, Cast, Case, InList);
a Call runs the implementation registered under its name in
executor/functions/. Inside, a constant stays a pa.Scalar (Arrow kernels
broadcast it); `evaluate` broadcasts the final result and checks its type.

Laziness where SQL needs it: a CASE branch is evaluated only on the rows that
take it (`CASE WHEN x = 0 THEN 0 ELSE 1/x END` never divides by zero), and
the right side of AND/OR, when it may raise (division, CAST), only on the
rows the left side does not decide.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import threading
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataError, InternalError, NotSupportedError
from .. import datatypes as dt
from ..planner.expr import (VOLATILE_FUNCTIONS, Call, Case, Cast, Column, Expr, InList, Literal,
                            PythonCall)
from .decimal_fusion import fused_decimal, is_fusable
from .kernels.case_choice import choose
from .functions import lookup, python_udf
from .functions.cast import cast_array
from .functions.registry import as_array

Datum = pa.Array | pa.Scalar

# calls whose evaluation may raise on some row's value
_MAY_RAISE_FNS = frozenset({"div", "intdiv", "mod", "make_date", "strptime",
                            "sqrt", "ln", "log10", "log2", "power"})


def evaluate(expr: Expr, batch: pa.RecordBatch) -> pa.Array:
    """An Array of batch.num_rows values of type expr.dtype."""
    out = _eval(expr, batch)
    return _finish(out, expr.dtype, batch.num_rows)


_shared = threading.local()


@contextlib.contextmanager
def shared_subexpressions():
    """Within it, a deterministic call evaluated twice over the same batch
    (by several expressions of one operator) is computed once: TPC-H Q1
    sums l_extendedprice * (1 - l_discount) alone and times (1 + l_tax).
    Results are kept with their batch, so a CASE branch's sub-batch never
    sees another batch's values; all are dropped on leaving."""
    previous = getattr(_shared, "memo", None)
    _shared.memo = {}
    try:
        yield
    finally:
        _shared.memo = previous


@functools.lru_cache(maxsize=4096)
def _shareable(expr: Call) -> bool:
    from ..planner.tree import walk
    return not any(isinstance(e, (Call, PythonCall)) and
                   (isinstance(e, PythonCall) or e.fn in VOLATILE_FUNCTIONS)
                   for e in walk(expr))


def filter_batch(batch: pa.RecordBatch, predicate: Expr | None) -> pa.RecordBatch:
    """The rows of `batch` where `predicate` is TRUE (NULL drops the row)."""
    if predicate is None:
        return batch
    mask = _eval(predicate, batch)
    if isinstance(mask, pa.Scalar):
        return batch if mask.as_py() is True else batch.slice(0, 0)
    if mask.null_count:
        mask = pc.fill_null(mask, False)
    return batch.filter(mask)


def evaluate_scalar(expr: Expr) -> Any:
    """The Python value of a constant expression (intervals as
    (months, days, nanos) tuples, as in expr.Literal)."""
    one = pa.RecordBatch.from_arrays([pa.array([None], pa.null())], names=["__one"])
    value = evaluate(expr, one)[0].as_py()
    if isinstance(value, pa.MonthDayNano) or (expr.dtype == dt.INTERVAL and value is not None):
        return (value.months, value.days, value.nanoseconds)
    return value


# ---------------------------------------------------------------------------

def _finish(out: Datum, t: pa.DataType, n: int) -> pa.Array:
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    if isinstance(out, pa.Scalar):
        if out.type != t:
            out = _cast_scalar(out, t, False)
        if n == 0:      # pa.repeat refuses a nested scalar zero times
            return pa.array([], type=t)
        return pa.repeat(out, n) if out.is_valid else pa.nulls(n, t)
    if out.type != t:
        try:
            out = out.cast(t)
        except pa.ArrowInvalid as e:
            raise DataError(f"value does not fit {dt.sql_name(t)}: {e}") from None
    return out


def _eval(expr: Expr, batch: pa.RecordBatch) -> Datum:
    t = type(expr)
    if t is Column:
        return _column(expr, batch)
    if t is Literal:
        return literal_scalar(expr)
    if t is Call:
        memo = getattr(_shared, "memo", None)
        try:
            if memo is None or not _shareable(expr):
                return _call(expr, batch)
            hit = memo.get(expr)
        except TypeError:              # a value in the tree that does not hash
            return _call(expr, batch)
        if hit is not None and hit[0] is batch:
            return hit[1]
        out = _call(expr, batch)
        memo[expr] = (batch, out)      # the batch is held: its id is not reused
        return out
    if t is Cast:
        return _cast(expr, batch)
    if t is Case:
        return _case(expr, batch)
    if t is InList:
        return _in_list(expr, batch)
    if t is PythonCall:
        args = [as_array(_eval(a, batch), batch.num_rows) for a in expr.args]
        return python_udf.call(expr.name, expr.target, args, batch.num_rows, expr.dtype)
    raise NotSupportedError(f"cannot evaluate {t.__name__} expressions")


def _column(expr: Column, batch: pa.RecordBatch) -> pa.Array:
    i = batch.schema.get_field_index(expr.name)
    if i < 0:
        raise InternalError(f"column {expr.name} not in batch {batch.schema.names}")
    col = batch.column(i)
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if col.type != expr.dtype and dt.normalize(col.type) == dt.normalize(expr.dtype):
        col = col.cast(expr.dtype)
    return col


def literal_scalar(expr: Literal) -> pa.Scalar:
    """The Arrow scalar of a literal; made once per literal (a DECIMAL
    scalar costs microseconds, and a join condition is evaluated per probe
    batch)."""
    try:
        return _cached_literal_scalar(expr)
    except TypeError:                   # an unhashable value (a list)
        return _literal_scalar(expr)


@functools.lru_cache(maxsize=4096)
def _cached_literal_scalar(expr: Literal) -> pa.Scalar:
    return _literal_scalar(expr)


def _literal_scalar(expr: Literal) -> pa.Scalar:
    v, t = expr.value, expr.dtype
    if v is None:
        return pa.scalar(None, t)
    if t == dt.INTERVAL and isinstance(v, tuple):
        return pa.scalar(pa.MonthDayNano(list(v)), t)
    if dt.is_decimal(t) and not isinstance(v, Decimal):
        v = Decimal(str(v))
    if pa.types.is_date(t) and isinstance(v, _dt.datetime):
        v = v.date()
    try:
        return pa.scalar(v, t)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        # e.g. a string literal typed as a date: cast it like CAST would
        return _cast_scalar(pa.scalar(v), t, False)


def _cast_scalar(s: pa.Scalar, t: pa.DataType, safe: bool) -> pa.Scalar:
    return cast_array(pa.array([s.as_py()], s.type), t, safe)[0]


def _cast(expr: Cast, batch: pa.RecordBatch) -> Datum:
    v = _eval(expr.arg, batch)
    if isinstance(v, pa.Scalar):
        return _cast_scalar(v, expr.dtype, expr.safe)
    return cast_array(v, expr.dtype, expr.safe)


def _call(expr: Call, batch: pa.RecordBatch) -> Datum:
    fn = expr.fn
    if fn in ("and", "or") and len(expr.args) == 2 and may_raise(expr.args[1]):
        return _lazy_logic(expr, batch)
    if fn == "coalesce" and any(may_raise(a) for a in expr.args[1:]):
        return _lazy_coalesce(expr, batch)
    if is_fusable(expr):
        out = fused_decimal(expr, batch, _eval, getattr(_shared, "memo", None))
        if out is not None:
            return out
    impl = lookup(fn)
    args = [_eval(a, batch) for a in expr.args]
    if args and all(isinstance(a, pa.Scalar) for a in args) and fn != "current_date":
        # constant call: run the kernel as if on one row
        res = impl(expr, args, 1)
        if isinstance(res, pa.ChunkedArray):
            res = res.combine_chunks()
        return res[0] if not isinstance(res, pa.Scalar) else res
    return impl(expr, args, batch.num_rows)


def may_raise(expr: Expr) -> bool:
    """Whether evaluating `expr` can raise because of a row's value."""
    from ..planner.tree import walk
    for e in walk(expr):
        if isinstance(e, Call) and e.fn in _MAY_RAISE_FNS:
            return True
        if isinstance(e, Call) and e.fn == "neg" and pa.types.is_unsigned_integer(e.args[0].dtype):
            return True                     # only 0 negates without overflow
        if isinstance(e, Call) and e.fn in ("add", "sub", "mul") and _may_overflow(e.dtype):
            return True
        if isinstance(e, Cast) and not e.safe and not _cast_is_total(e):
            return True
    return False


def _may_overflow(t: pa.DataType) -> bool:
    """Arithmetic that raises on overflow: integers (DuckDB's rule too) and
    DECIMALs at 38 digits (a narrower decimal result is typed wide enough
    for its operands)."""
    return dt.is_integer(t) or (dt.is_decimal(t) and t.precision >= dt.MAX_DECIMAL_PRECISION)


def _cast_is_total(e: Cast) -> bool:
    s, t = e.arg.dtype, e.dtype
    if pa.types.is_null(s) or dt.is_string(t):
        return True
    if dt.is_integer(s) and (dt.is_floating(t) or (dt.is_decimal(t) and
                                                   t.precision - t.scale >= dt.integer_digits(s))):
        return True
    if dt.is_integer(s) and dt.is_integer(t) and t.bit_width >= s.bit_width:
        return True
    if dt.is_decimal(s) and dt.is_floating(t):
        return True
    if dt.is_decimal(s) and dt.is_decimal(t):
        return t.scale >= s.scale and t.precision - t.scale >= s.precision - s.scale
    return pa.types.is_date(s) and pa.types.is_timestamp(t)


def _on_rows(expr: Expr, batch: pa.RecordBatch, mask: pa.Array) -> pa.Array:
    """`expr` evaluated only where mask is TRUE (NULL elsewhere)."""
    n = batch.num_rows
    k = pc.sum(mask).as_py() or 0
    if k == n:
        return evaluate(expr, batch)
    if k == 0:
        return pa.nulls(n, expr.dtype)
    part = evaluate(expr, batch.filter(mask))
    return pc.replace_with_mask(pa.nulls(n, expr.dtype), mask, part)


def _lazy_logic(expr: Call, batch: pa.RecordBatch) -> pa.Array:
    n = batch.num_rows
    left = as_array(_eval(expr.args[0], batch), n)
    decided = pc.equal(left, expr.fn == "or")         # FALSE decides AND, TRUE decides OR
    need = pc.invert(pc.fill_null(decided, False))
    right = _on_rows(expr.args[1], batch, need)
    kernel = pc.and_kleene if expr.fn == "and" else pc.or_kleene
    return kernel(left, right)


def _lazy_coalesce(expr: Call, batch: pa.RecordBatch) -> pa.Array:
    """COALESCE that evaluates an argument only on the rows every earlier
    argument left NULL (as DuckDB does), so `COALESCE(x, 1 / 0)` with x never
    NULL is not an error."""
    n = batch.num_rows
    out = as_array(_finish(_eval(expr.args[0], batch), expr.dtype, n), n)
    for arg in expr.args[1:]:
        need = pc.is_null(out)
        if not pc.any(need).as_py():
            break
        out = pc.coalesce(out, _on_rows(arg, batch, need))
    return out


def _case(expr: Case, batch: pa.RecordBatch) -> Datum:
    n = batch.num_rows
    t = expr.dtype
    parts = list(expr.conditions) + list(expr.results) + (
        [expr.default] if expr.default is not None else [])
    if not any(may_raise(p) for p in parts[1:]):
        conds = [pc.fill_null(as_array(_eval(c, batch), n), False) for c in expr.conditions]
        vals = [_eval(r, batch) for r in expr.results]
        if expr.default is not None:
            vals.append(_eval(expr.default, batch))
        if all(isinstance(v, pa.Scalar) for v in vals):    # constants: a take, not case_when
            vals = [v if v.type == t else _cast_scalar(v, t, False) for v in vals]
            default = vals.pop() if expr.default is not None else None
            return choose(conds, vals, default, t, n)
        vals = [as_array(_finish(v, t, n), n) for v in vals]
        names = [f"c{i}" for i in range(len(conds))]
        return pc.case_when(pa.StructArray.from_arrays(conds, names=names), *vals)
    out = pa.nulls(n, t)
    remaining = pa.array(np.ones(n, dtype=bool))
    for cond, res in zip(expr.conditions, expr.results):
        c = pc.fill_null(_on_rows(cond, batch, remaining), False)
        take = pc.and_(remaining, c)
        if pc.any(take).as_py():
            out = pc.replace_with_mask(out, take, evaluate(res, batch.filter(take)))
        remaining = pc.and_(remaining, pc.invert(c))
        if not pc.any(remaining).as_py():
            return out
    if expr.default is not None:
        out = pc.replace_with_mask(out, remaining, evaluate(expr.default, batch.filter(remaining)))
    return out


def _value_set(consts: tuple[Literal, ...], t: pa.DataType) -> pa.Array | None:
    """An IN list's non-NULL constants as one array of type `t` (None: none);
    built once per list and type."""
    if not consts:
        return None
    try:
        return _cached_value_set(consts, t)
    except TypeError:                   # an unhashable value (a list)
        return _make_value_set(consts, t)


@functools.lru_cache(maxsize=1024)
def _cached_value_set(consts: tuple[Literal, ...], t: pa.DataType) -> pa.Array:
    return _make_value_set(consts, t)


def _make_value_set(consts: tuple[Literal, ...], t: pa.DataType) -> pa.Array:
    values = [literal_scalar(v) for v in consts]
    if len({s.type for s in values}) == 1:
        return cast_array(pa.array([s.as_py() for s in values], values[0].type), t)
    return pa.concat_arrays([cast_array(pa.array([s.as_py()], s.type), t) for s in values])


def _in_list(expr: InList, batch: pa.RecordBatch) -> Datum:
    n = batch.num_rows
    arg = _eval(expr.arg, batch)
    t = arg.type
    for v in expr.values:
        t = dt.common_supertype(t, v.dtype) or t
    arg = as_array(arg, n)
    if arg.type != t:
        arg = cast_array(arg, t)
    consts = [v for v in expr.values if isinstance(v, Literal)]
    others = [v for v in expr.values if not isinstance(v, Literal)]
    has_null = any(v.value is None for v in consts)
    result = None
    value_set = _value_set(tuple(v for v in consts if v.value is not None), t)
    if value_set is not None:
        found = pc.is_in(arg, value_set=value_set, skip_nulls=True)
        result = pc.if_else(pc.is_null(arg), pa.scalar(None, pa.bool_()), found) \
            if arg.null_count else found
    for v in others:
        other = as_array(_eval(v, batch), n)
        if other.type != t:
            other = cast_array(other, t)
        eq = pc.equal(arg, other)
        result = eq if result is None else pc.or_kleene(result, eq)
    if result is None:
        result = pa.nulls(n, pa.bool_()) if has_null else pa.repeat(pa.scalar(False), n)
    elif has_null:
        result = pc.if_else(pc.fill_null(result, False), True, pa.scalar(None, pa.bool_()))
    return pc.invert(result) if expr.negated else result
