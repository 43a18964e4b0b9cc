"""The columns a partial aggregate emits for each aggregate call.

Two-phase aggregation sends these *state* columns through the shuffle; the
final phase merges them. Both phases (executor/operators/aggregate.py) and
the physical plan's schema agree on this one layout:

| aggregate                      | state columns (suffixes)           |
|--------------------------------|------------------------------------|
| count, count_star              | `count` int64                       |
| sum                            | `sum` (int64 / decimal128(38,s) / float64) |
| avg                            | `sum` (as for sum; ints as int64), `count` int64 |
| min, max, first                | `value` (the argument's type)       |
| bool_and, bool_or              | `value` bool                        |
| stddev_*, var_*                | `count` int64, `mean` float64, `m2` float64 (sum of squared deviations; merged with Chan's formula) |

A DISTINCT aggregate has no partial form: the planner aggregates it in one
phase after a hash exchange on the group keys.
"""

from __future__ import annotations

import pyarrow as pa

from .. import datatypes as dt
from .expr import AggCall
from .logical import Field

VARIANCE_FNS = ("stddev_samp", "stddev_pop", "var_samp", "var_pop")


def sum_state_type(arg_type: pa.DataType) -> pa.DataType:
    if dt.is_decimal(arg_type):
        return dt.decimal(38, arg_type.scale)
    if dt.is_integer(arg_type):
        return dt.INT64
    return dt.FLOAT64


def state_fields(agg: AggCall, name: str) -> tuple[Field, ...]:
    fn = agg.fn
    if fn in ("count", "count_star"):
        return (Field(f"{name}.count", dt.INT64, False),)
    if fn == "sum":
        return (Field(f"{name}.sum", sum_state_type(agg.args[0].dtype)),)
    if fn == "avg":
        return (Field(f"{name}.sum", sum_state_type(agg.args[0].dtype)),
                Field(f"{name}.count", dt.INT64, False))
    if fn in ("min", "max", "first", "bool_and", "bool_or"):
        return (Field(f"{name}.value", agg.args[0].dtype),)
    if fn in VARIANCE_FNS:
        return (Field(f"{name}.count", dt.INT64, False),
                Field(f"{name}.mean", dt.FLOAT64),
                Field(f"{name}.m2", dt.FLOAT64))
    raise ValueError(f"aggregate {fn} has no partial state")


def has_partial_form(agg: AggCall) -> bool:
    if agg.distinct:
        return False
    return agg.fn in ("count", "count_star", "sum", "avg", "min", "max", "first",
                      "bool_and", "bool_or") + VARIANCE_FNS
