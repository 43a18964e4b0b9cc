"""Signatures of aggregate and window functions (re-exported by
planner/functions.py): names, aliases, argument checks and result types.

    sum(decimal(15,2))  -> AggCall("sum", (x,), decimal(38,2))
    count(*)            -> AggCall("count_star", (), int64)
    rank() OVER (...)   -> WindowCall("rank", (), ..., int64)

The partial/final state layout of each aggregate is planner/aggregate_state.py.
"""

from __future__ import annotations

import decimal

import pyarrow as pa

from .. import datatypes as dt
from .expr import AggCall, Expr, Literal, WindowCall
from .functions_base import FunctionError, arity, cast_to, supertype_of, type_name

AGG_ALIASES = {"stddev": "stddev_samp", "variance": "var_samp",
               "any_value": "first", "arbitrary": "first", "listagg": "string_agg",
               "group_concat": "string_agg", "every": "bool_and",
               "logical_and": "bool_and", "logical_or": "bool_or",
               "approx_count_distinct": "count", "countif": "count_if",   # the exact count is a fine estimate
               "argmin": "arg_min", "argmax": "arg_max", "min_by": "arg_min",
               "max_by": "arg_max",
               "percentile_cont": "quantile_cont", "percentile_disc": "quantile_disc",
               "quantile": "quantile_disc"}
AGGREGATES = frozenset({"count", "count_star", "count_if", "sum", "avg", "min", "max",
                        "stddev_samp", "stddev_pop", "var_samp", "var_pop",
                        "bool_and", "bool_or", "first", "string_agg",
                        "arg_min", "arg_max", "median", "quantile_cont", "quantile_disc",
                        "string_agg_ordered", "first_ordered"})
# aggregates computed from all of a group's rows at once (no partial form):
# arg_min(x, y) / arg_max(x, y); string_agg / first with an ORDER BY, whose
# args are the value (and the separator), then for each key: key,
# descending?, nulls first? (literals). median and the quantiles are single
# phase too (aggregate_accumulators.Quantile); median(x) is quantile_cont(x, 0.5)
COLLECTED = frozenset({"arg_min", "arg_max", "string_agg_ordered", "first_ordered"})
RANKING = frozenset({"row_number", "rank", "dense_rank", "percent_rank",
                     "cume_dist", "ntile"})
VALUE_WINDOW = frozenset({"lag", "lead", "first_value", "last_value", "nth_value"})
_ORDERABLE = (dt.is_numeric, dt.is_string, dt.is_temporal, pa.types.is_boolean)


def _canon(name: str) -> str:
    name = name.lower()
    return AGG_ALIASES.get(name, name)


def is_aggregate(name: str) -> bool:
    return _canon(name) in AGGREGATES


def is_window_function(name: str) -> bool:
    """Ranking and value window functions (aggregates are accepted in OVER too)."""
    return name.lower() in RANKING or name.lower() in VALUE_WINDOW


def _ordered_keys(fn: str, keys: list[Expr]) -> list[Expr]:
    if len(keys) % 3 or not keys:
        raise FunctionError(f"{fn}: bad ORDER BY")
    for i in range(0, len(keys), 3):
        t = keys[i].dtype
        if not (any(f(t) for f in _ORDERABLE) or pa.types.is_null(t)):
            raise FunctionError(f"cannot order {fn} by {type_name(t)}")
    return keys


def _collected_type(fn: str, args: list[Expr]) -> tuple[list[Expr], pa.DataType]:
    if fn in ("arg_min", "arg_max"):
        arity(fn, args, 2)
        t = args[1].dtype
        if not (any(f(t) for f in _ORDERABLE) or pa.types.is_null(t)):
            raise FunctionError(f"cannot apply {fn} to {type_name(t)}")
        return args, args[0].dtype
    if fn == "string_agg_ordered":
        x, sep = args[0], args[1]
        if not isinstance(sep, Literal):
            raise FunctionError("the separator of string_agg() must be a constant")
        if not (dt.is_string(x.dtype) or pa.types.is_null(x.dtype)):
            raise FunctionError(f"cannot apply string_agg to {type_name(x.dtype)}")
        return ([cast_to(x, dt.STRING), cast_to(sep, dt.STRING)]
                + _ordered_keys(fn, args[2:]), dt.STRING)
    # first_ordered
    return [args[0]] + _ordered_keys(fn, args[1:]), args[0].dtype


def _agg_type(fn: str, args: list[Expr]) -> tuple[list[Expr], pa.DataType]:
    if fn in COLLECTED:
        return _collected_type(fn, args)
    if fn == "count_star":
        arity("count(*)", args, 0)
        return [], dt.INT64
    if fn == "string_agg":
        arity(fn, args, 1, 2)
        sep = args[1] if len(args) == 2 else Literal(",", dt.STRING)
        if not isinstance(sep, Literal):
            raise FunctionError("the separator of string_agg() must be a constant")
        if not (dt.is_string(args[0].dtype) or pa.types.is_null(args[0].dtype)):
            raise FunctionError(f"cannot apply string_agg to {type_name(args[0].dtype)}")
        return [cast_to(args[0], dt.STRING), cast_to(sep, dt.STRING)], dt.STRING
    if fn == "median":
        arity(fn, args, 1)
        return _quantile_type("quantile_cont", [args[0], Literal(0.5, dt.FLOAT64)], "median")
    if fn in ("quantile_cont", "quantile_disc"):
        return _quantile_type(fn, args)
    arity(fn, args, 1)
    (a,) = args
    t = a.dtype
    if fn == "count":
        return [a], dt.INT64
    if pa.types.is_null(t):
        a = cast_to(a, dt.BOOL if fn in ("bool_and", "bool_or") else dt.INT64)
        t = a.dtype
    if fn in ("min", "max", "first"):
        if fn != "first" and not any(f(t) for f in _ORDERABLE):
            raise FunctionError(f"cannot apply {fn} to {type_name(t)}")
        return [a], t
    if fn in ("bool_and", "bool_or"):
        if not pa.types.is_boolean(t):
            raise FunctionError(f"cannot apply {fn} to {type_name(t)}")
        return [a], dt.BOOL
    if not dt.is_numeric(t):
        raise FunctionError(f"cannot apply {fn} to {type_name(t)}")
    if fn == "sum":
        if dt.is_decimal(t):
            return [a], dt.decimal(38, t.scale)
        if dt.is_integer(t) and t.bit_width == 64:
            # DuckDB sums BIGINT into a HUGEINT: exact past 64 bits. Here the
            # values become DECIMAL(19|20, 0) and sum in 128 bits like DECIMALs
            return [cast_to(a, dt.as_decimal(t))], dt.decimal(38, 0)
        if dt.is_integer(t):
            return [a], dt.INT64
        return [cast_to(a, dt.FLOAT64)], dt.FLOAT64
    if fn == "avg":
        if dt.is_integer(t) and t.bit_width == 64:     # an exact 128-bit sum, as sum()
            return [cast_to(a, dt.as_decimal(t))], dt.FLOAT64
        return [a if not dt.is_floating(t) else cast_to(a, dt.FLOAT64)], dt.FLOAT64
    # variance family
    return [a], dt.FLOAT64


def _quantile_type(fn: str, args: list[Expr],
                   shown: str | None = None) -> tuple[list[Expr], pa.DataType]:
    """quantile_cont / quantile_disc (value, fraction[, descending]): the
    fraction a constant in [0, 1]; WITHIN GROUP (ORDER BY x DESC) sets the
    third argument. cont interpolates numbers (DOUBLE, or the DECIMAL type);
    disc picks a value of any orderable type."""
    shown = shown or ("percentile_cont" if fn == "quantile_cont" else "percentile_disc")
    arity(shown, args, 2, 3)
    value, fraction = args[0], args[1]
    desc = args[2] if len(args) == 3 else Literal(False, dt.BOOL)
    if isinstance(fraction, Literal) and not isinstance(fraction.value, (list, tuple)) \
            and dt.is_numeric(fraction.dtype) and fraction.value is not None:
        q = float(fraction.value)
    else:
        raise FunctionError(f"the fraction of {shown}() must be a constant number")
    if not 0.0 <= q <= 1.0:
        raise FunctionError(f"the fraction of {shown}() must be between 0 and 1, not {q:g}")
    t = value.dtype
    if pa.types.is_null(t):
        value, t = cast_to(value, dt.FLOAT64), dt.FLOAT64
    args = [value, Literal(q, dt.FLOAT64), desc]
    if fn == "quantile_cont":
        if dt.is_decimal(t):
            return args, t
        if not dt.is_numeric(t):
            raise FunctionError(f"cannot apply {shown} to {type_name(t)}")
        return [cast_to(value, dt.FLOAT64)] + args[1:], dt.FLOAT64
    if not any(f(t) for f in _ORDERABLE):
        raise FunctionError(f"cannot apply {shown} to {type_name(t)}")
    return args, t


def resolve_aggregate(name: str, args: list[Expr], distinct: bool = False,
                      filter: Expr | None = None) -> AggCall:
    fn = _canon(name)
    if name.lower() == "approx_count_distinct":
        distinct = True
    if fn == "count_if":
        # DuckDB: count_if(cond) is sum(cond::BIGINT): NULL when no row has a
        # non-NULL cond (Spark would say 0)
        arity(fn, args, 1)
        (cond,) = args
        if not (pa.types.is_boolean(cond.dtype) or pa.types.is_null(cond.dtype)):
            raise FunctionError(f"cannot apply count_if to {type_name(cond.dtype)}")
        if distinct:
            raise FunctionError("count_if(DISTINCT ...) is not valid")
        fn, args = "sum", [cast_to(cast_to(cond, dt.BOOL), dt.INT32)]
    if fn == "count" and not args:
        fn = "count_star"
    if fn not in AGGREGATES:
        raise FunctionError(f"unknown aggregate function {name.lower()}")
    if filter is not None and not (pa.types.is_boolean(filter.dtype)
                                   or pa.types.is_null(filter.dtype)):
        raise FunctionError(f"FILTER must be BOOLEAN, not {type_name(filter.dtype)}")
    new_args, t = _agg_type(fn, list(args))
    if distinct and fn == "count_star":
        raise FunctionError("count(DISTINCT *) is not valid")
    filt = cast_to(filter, dt.BOOL) if filter is not None else None
    return AggCall(fn, tuple(new_args), t, distinct, filt)


def _int_arg(fn: str, e: Expr) -> Expr:
    if not (dt.is_integer(e.dtype) or pa.types.is_null(e.dtype)):
        raise FunctionError(f"{fn}() needs an integer argument, not {type_name(e.dtype)}")
    return cast_to(e, dt.INT64)


def resolve_window(name: str, args: list[Expr], partition_by, order_by,
                   frame) -> WindowCall:
    fn = name.lower()
    args = list(args)
    partition_by, order_by = tuple(partition_by), tuple(order_by)
    distinct = False
    if fn in ("row_number", "rank", "dense_rank"):
        arity(fn, args, 0)
        t = dt.INT64
    elif fn in ("percent_rank", "cume_dist"):
        arity(fn, args, 0)
        t = dt.FLOAT64
    elif fn == "ntile":
        arity(fn, args, 1)
        args = [_int_arg(fn, args[0])]
        t = dt.INT64
    elif fn in ("lag", "lead"):
        arity(fn, args, 1, 3)
        value = args[0]
        offset = _int_arg(fn, args[1]) if len(args) > 1 else Literal(1, dt.INT64)
        t = value.dtype
        new = [value, offset]
        if len(args) == 3:
            t = supertype_of(fn, [value, args[2]])
            new = [cast_to(value, t), offset, cast_to(args[2], t)]
        args = new
    elif fn in ("first_value", "last_value"):
        arity(fn, args, 1)
        t = args[0].dtype
    elif fn == "nth_value":
        arity(fn, args, 2)
        args = [args[0], _int_arg(fn, args[1])]
        t = args[0].dtype
    elif is_aggregate(fn):
        agg = resolve_aggregate(fn, args)
        fn, args, t = agg.fn, list(agg.args), agg.dtype
    else:
        raise FunctionError(f"unknown window function {fn}")
    return WindowCall(fn, tuple(args), partition_by, order_by, frame, t, distinct)
