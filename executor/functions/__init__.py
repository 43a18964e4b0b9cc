"""Scalar function implementations, one module per family, registered by the
planner's function name (planner/functions.py fixes names and types).

An implementation has the signature `impl(call, args, n) -> Datum`: `call` is
the bound `expr.Call` (for its dtype and constant arguments), `args` are the
evaluated arguments (a `pa.Array` of n values, or a `pa.Scalar` for a
constant), n the row count. It returns an Array or a Scalar; executor/eval.py
broadcasts and checks the type.
"""

from __future__ import annotations

from .registry import REGISTRY, lookup, register  # noqa: F401
from . import (  # noqa: F401,E402  (importing registers the implementations)
    arithmetic, comparison, conditional, datetime, lists, math, strings,
)
