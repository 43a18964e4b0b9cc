"""Evaluating Python UDFs (planner.expr.PythonCall) over record batches.

The function is found by its import name 'package.module:function' in this
process's own environment (never sent as code) and called once per batch
with one Arrow array per argument; it must return an Arrow array (or
anything pyarrow.array accepts, such as a numpy array) of the same length,
which is cast to the declared return type. A function that cannot be
imported, fails, or returns the wrong length is the user's error, named.
"""

from __future__ import annotations

import importlib
import threading

import pyarrow as pa

from ... import datatypes as dt
from ...errors import DataError, ProgrammingError

_CACHE: dict[str, object] = {}
_LOCK = threading.Lock()


def resolve(name: str, target: str):
    """The callable behind `target`, imported once per process."""
    with _LOCK:
        fn = _CACHE.get(target)
    if fn is not None:
        return fn
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        fn = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ProgrammingError(
            f"function {name}(): cannot import {target!r} in this process "
            f"({type(exc).__name__}: {exc}); install it where the query runs") from None
    if not callable(fn):
        raise ProgrammingError(f"function {name}(): {target!r} is not callable")
    with _LOCK:
        _CACHE[target] = fn
    return fn


def call(name: str, target: str, args: list[pa.Array], n: int, dtype: pa.DataType) -> pa.Array:
    fn = resolve(name, target)
    try:
        out = fn(*args)
    except Exception as exc:  # noqa: BLE001 - the user's function failed: say so
        raise DataError(f"function {name}() ({target}) raised {type(exc).__name__}: {exc}") \
            from None
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    if not isinstance(out, pa.Array):
        try:
            out = pa.array(out)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
            raise DataError(f"function {name}() returned {type(out).__name__}, "
                            f"not an Arrow array: {exc}") from None
    if len(out) != n:
        raise DataError(f"function {name}() returned {len(out)} values for {n} rows")
    if out.type != dtype:
        try:
            out = out.cast(dtype)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"function {name}() returned {out.type}, which does not cast to "
                            f"its declared {dt.sql_name(dtype)}: {exc}") from None
    return out
