"""Test helpers for the operator tests (not a test module).

- `Batches`: a test-only leaf node that yields given batches per partition.
- `run(node, partition)`: run an operator and collect a pyarrow Table.

Test modules import it as `import _ops_testlib as T` (tests/executor/conftest.py
puts this folder on sys.path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

import quiver.executor.operators  # noqa: F401  (register the real operators first)
from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.planner.expr import Column
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
