"""`TABLESAMPLE` and `USING SAMPLE`: a real sample, the same one for a seed.

    FROM t TABLESAMPLE 10%           each row kept with probability 10% (BERNOULLI
                                     and SYSTEM both sample row by row)
    FROM t USING SAMPLE 10 ROWS      exactly min(10, count) rows (RESERVOIR); a
                                     number without a unit is a row count, as in DuckDB
    ... REPEATABLE (42), (bernoulli, 42)   a seed: the same rows every time

Each row gets a key in [0, 1): a hash of (seed, the row's values, its copy
number among identical rows), computed as
`__sample_key(seed, cols..., row_number() OVER (PARTITION BY cols...))`.
A percentage keeps the rows whose key is below the fraction; a row count
keeps the rows with the smallest keys. The key depends on the data only, so
a seeded sample is the same on any partitioning or cluster; without a seed a
fresh one is drawn per statement. USING SAMPLE samples the FROM clause
(after joins, before WHERE), TABLESAMPLE the table it follows.
"""

from __future__ import annotations

import random
from decimal import Decimal

from sqlglot import exp

from .. import datatypes as dt
from ..planner import expr as ex
from ..planner import functions as F
from ..planner.logical import Filter, Limit, Project, Sort, Window
from .bind_expr import ExprBinder
from .scope import Scope


def apply_sample(ctx, plan, node: exp.TableSample):
    method = (node.args.get("method").name if node.args.get("method") is not None
              else "").upper()
    percent, size = node.args.get("percent"), node.args.get("size")
    rows = node.args.get("rows")
    if rows is not None and size is None:
        size = rows
    seed_node = node.args.get("seed")
    seed = int(_number(ctx, seed_node, "REPEATABLE seed")) if seed_node else \
        random.getrandbits(62)
    if percent is not None:
        fraction = _number(ctx, percent, "sample percentage")
        if not 0 <= fraction <= 100:
            raise ctx.error(f"sample percentage must be between 0% and 100%, not {fraction}%",
                            percent)
    elif size is not None:
        if method == "BERNOULLI":
            raise ctx.error("BERNOULLI sampling needs a percentage (10%), not a row count",
                            node)
        count = _number(ctx, size, "sample size")
        if count != int(count):
            raise ctx.error("a sample size in rows must be a whole number", size)
    else:
        raise ctx.error("TABLESAMPLE needs a percentage or a row count", node)

    cols = tuple(f.column() for f in plan.schema)
    copy = F.resolve_window("row_number", [], cols, (), None)
    copy_name = ctx.fresh("copy")
    numbered = Window(plan, (copy,), (copy_name,))
    key = F.resolve_scalar("__sample_key", [ex.Literal(seed, dt.INT64), *cols,
                                            ex.Column(copy_name, dt.INT64)])
    if percent is not None:
        cond = F.resolve_scalar("lt", [key, ex.Literal(float(fraction) / 100.0, dt.FLOAT64)])
        kept = Filter(numbered, cond)
    else:
        key_name = ctx.fresh("sample_key")
        keyed = Project(numbered, tuple(f.column() for f in numbered.schema) + (key,),
                        tuple(f.name for f in numbered.schema) + (key_name,))
        kept = Limit(Sort(keyed, (ex.SortKey(ex.Column(key_name, dt.FLOAT64)),)),
                     int(count), 0)
    return Project(kept, cols, tuple(f.name for f in plan.schema))


def _number(ctx, node, what: str):
    bound = ExprBinder(ctx, Scope(), clause=what).bind(node)
    if isinstance(bound, ex.Cast) and isinstance(bound.arg, ex.Literal):
        bound = bound.arg
    if not (isinstance(bound, ex.Literal) and bound.value is not None
            and (dt.is_integer(bound.dtype) or isinstance(bound.value, (float, Decimal)))):
        raise ctx.error(f"{what} must be a constant number", node)
    if bound.value < 0:
        raise ctx.error(f"{what} must not be negative", node)
    return bound.value
