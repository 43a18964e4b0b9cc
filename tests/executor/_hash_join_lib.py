"""Helpers for the hash join tests (not a test module): a test-only leaf node,
running a join over partitions, and comparing with DuckDB."""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from quiver.executor import registry
from quiver.executor.context import ExecContext
from quiver.executor.operators import hash_join  # noqa: F401  (registers HashJoinExec)
from quiver.planner.expr import Call, Column
from quiver.planner.logical import Field
from quiver.planner.physical import ExecNode, HashJoinExec


@dataclass(frozen=True, eq=False)
class JoinInput(ExecNode):
    """Test-only leaf: partition i yields parts[i] (a list of batches)."""
    fields: tuple
    parts: Any = field(default=None)
    pulls: Any = field(default_factory=lambda: [0])

    @property
    def schema(self):
        return self.fields


@registry.implements(JoinInput)
def _join_input(node, partition, ctx):
    node.pulls[0] += 1
    yield from node.parts[partition]


def leaf(table: pa.Table, parts: int = 1, chunk: int = 5, by=None) -> JoinInput:
    """Split `table` into `parts` partitions: by row ranges, or by the int
    array `by` (partition number per row)."""
    fields = tuple(Field(f.name, f.type) for f in table.schema)
    if by is None:
        n = table.num_rows
        bounds = [n * i // parts for i in range(parts + 1)]
        pieces = [table.slice(bounds[i], bounds[i + 1] - bounds[i]) for i in range(parts)]
    else:
        pieces = [table.filter(pc.equal(by, i)) for i in range(parts)]
    return JoinInput(fields, [p.to_batches(max_chunksize=chunk) for p in pieces])


def col(name: str, table_or_node) -> Column:
    if isinstance(table_or_node, pa.Table):
        return Column(name, table_or_node.schema.field(name).type)
    return next(f.column() for f in table_or_node.schema if f.name == name)


def run_join(node: HashJoinExec, ctx: ExecContext | None = None, parts: int | None = None):
    """All partitions of a join, as one table; checks names, types, batch sizes."""
    ctx = ctx or ExecContext(batch_size=7)
    n = parts if parts is not None else len(node.left.parts)
    batches = []
    for p in range(n):
        batches.extend(registry.execute(node, p, ctx))
    return collect(node, batches, ctx)


def collect(node, batches, ctx) -> pa.Table:
    schema = pa.schema([pa.field(f.name, f.dtype) for f in node.schema])
    for b in batches:
        assert b.schema.names == schema.names
        assert b.schema.types == schema.types
        assert 0 < b.num_rows <= ctx.batch_size
    return pa.Table.from_batches(batches, schema=schema)


def call(fn: str, *args) -> Call:
    return Call(fn, tuple(args), pa.bool_())


# --- DuckDB oracle ------------------------------------------------------------------

def duck(sql: str, **tables) -> list[tuple]:
    con = duckdb.connect()
    for name, t in tables.items():
        con.register(name, t)
    return con.execute(sql).fetchall()


def _key(v):
    if v is None:
        return (1, "")
    if isinstance(v, (int, float, decimal.Decimal)):
        return (0, float(v), "")
    if isinstance(v, (datetime.date, datetime.datetime)):
        return (0, 0.0, v.isoformat())
    return (0, 0.0, str(v))


def rows(table_or_rows) -> list[tuple]:
    if isinstance(table_or_rows, pa.Table):
        cols = [c.to_pylist() for c in table_or_rows.columns]
        out = list(zip(*cols)) if cols else [()] * table_or_rows.num_rows
    else:
        out = [tuple(r) for r in table_or_rows]
    return sorted(out, key=lambda r: tuple(_key(v) for v in r))
