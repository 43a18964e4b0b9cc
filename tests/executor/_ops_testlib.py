"""Test helpers for the operator tests (not a test module).

- `Batches`: a test-only leaf node that yields given batches per partition.
- `run(node, partition)`: run an operator and collect a pyarrow Table.
- `ensure_eval()`: until executor/eval.py exists, install a tiny stand-in
  (Column, Literal and a few Calls) so operator tests can run. Once the real
  module exists it is used unchanged.

Load with `_load_testlib()` in a test module (pytest's importlib mode gives
test files no package to import siblings from).
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

import quiver.executor.operators  # noqa: F401  (register the real operators first)
from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.planner.expr import Call, Cast, Column, Literal
from quiver.planner.logical import Field
from quiver.planner.physical import MemoryScanExec


@dataclass(frozen=True)
class Batches(MemoryScanExec):
    """A MemoryScanExec look-alike (so `partitions()` counts its partitions)."""
    parts: Any = field(default=None, compare=False, hash=False)   # per partition: list of batches
    pulled: Any = field(default_factory=lambda: [0], compare=False, hash=False)


def _batches_node(fields, parts) -> "Batches":
    return Batches("test", fields, (), len(parts), (), parts)


@registry.implements(Batches)
def _batches_exec(node, partition, ctx):
    for b in node.parts[partition]:
        node.pulled[0] += 1
        yield b


def leaf(table_or_batches, parts: int = 1) -> Batches:
    """A leaf over a table split into `parts` partitions (or a list of lists of batches)."""
    if isinstance(table_or_batches, pa.Table):
        t = table_or_batches
        fields = tuple(Field(f.name, f.type) for f in t.schema)
        n = t.num_rows
        bounds = [n * i // parts for i in range(parts + 1)]
        pl = [t.slice(bounds[i], bounds[i + 1] - bounds[i]).to_batches(max_chunksize=7)
              for i in range(parts)]
        return _batches_node(fields, pl)
    pl = table_or_batches
    first = next(b for p in pl for b in p)
    return _batches_node(tuple(Field(f.name, f.type) for f in first.schema), pl)


def run(node, partition: int = 0, ctx: ExecContext | None = None) -> pa.Table:
    ctx = ctx or ExecContext()
    batches = list(registry.execute(node, partition, ctx))
    names = [f.name for f in node.schema]
    for b in batches:
        assert b.schema.names == names, (b.schema.names, names)
    if not batches:
        return pa.table({f.name: pa.array([], f.dtype) for f in node.schema})
    return pa.Table.from_batches(batches)


def col(name: str, table: pa.Table) -> Column:
    return Column(name, table.schema.field(name).type)


_BINARY = {"gt": "greater", "lt": "less", "ge": "greater_equal", "le": "less_equal",
           "eq": "equal", "ne": "not_equal", "add": "add", "sub": "subtract",
           "mul": "multiply", "and": "and_kleene", "or": "or_kleene"}


def _fake_evaluate(expr, batch):
    n = batch.num_rows
    if isinstance(expr, Column):
        return batch.column(expr.name)
    if isinstance(expr, Literal):
        return pa.nulls(n, expr.dtype) if expr.value is None else \
            pa.array([expr.value] * n, expr.dtype)
    if isinstance(expr, Call):
        args = [_fake_evaluate(a, batch) for a in expr.args]
        if expr.fn in _BINARY:
            out = pc.call_function(_BINARY[expr.fn], args)
        elif expr.fn == "neg":
            out = pc.negate(args[0])
        elif expr.fn == "not":
            out = pc.invert(args[0])
        elif expr.fn == "is_null":
            out = pc.is_null(args[0])
        else:
            raise NotImplementedError(expr.fn)
        return out.cast(expr.dtype)
    if isinstance(expr, Cast):
        return _fake_evaluate(expr.arg, batch).cast(expr.dtype)
    raise NotImplementedError(type(expr).__name__)


def _fake_filter_batch(batch, predicate):
    mask = pc.fill_null(_fake_evaluate(predicate, batch), False)
    return batch.filter(mask)


def ensure_eval() -> None:
    try:
        import quiver.executor.eval  # noqa: F401
    except ModuleNotFoundError as e:
        if e.name != "quiver.executor.eval":
            raise
        fake = types.ModuleType("quiver.executor.eval")
        fake.evaluate = _fake_evaluate
        fake.filter_batch = _fake_filter_batch
        fake.FAKE = True
        sys.modules["quiver.executor.eval"] = fake
        import quiver.executor as ex
        ex.eval = fake
