"""A query's result as the client reads it: batches while the query runs.

Owns `ResultStream`, what an engine hands the DB-API cursor for a SELECT:
an iterator of `pyarrow.RecordBatch` with the user's column names and the
declared types, pulled from a *source* that has `next_batch()` (a batch, or
None at the end) and `close()`. The embedded engine's source is a running
`local_runner.DagRun` (bounded by its result window); a cluster client's
source fetches result partitions from the workers. `close()` before the end
stops the query. A finished table (EXPLAIN, DDL) is a stream too
(`ResultStream.from_table`).
"""

from __future__ import annotations

from typing import Callable, Iterator

import pyarrow as pa


class _TableSource:
    def __init__(self, table: pa.Table):
        self._batches = iter(table.to_batches())
        self.total_rows = table.num_rows

    def next_batch(self):
        return next(self._batches, None)

    def close(self) -> None:
        self._batches = iter(())


class ResultStream:
    def __init__(self, source, schema: pa.Schema,
                 on_done: Callable[[int | None, BaseException | None], None] | None = None):
        self.source = source
        self.schema = schema
        self.rows = 0                 # rows handed to the client so far
        self.done = False             # the end was reached, or the stream closed
        self._on_done = on_done

    @classmethod
    def from_table(cls, table: pa.Table) -> "ResultStream":
        return cls(_TableSource(table), table.schema)

    @property
    def total_rows(self) -> int | None:
        """The result's row count once it is known (the query finished), else None."""
        if self.done:
            return self.rows
        pending = getattr(self.source, "pending_rows", None)
        if pending is None:
            total = getattr(self.source, "total_rows", None)
            return total
        n = pending()
        return None if n is None else self.rows + n

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        if self.done:
            raise StopIteration
        try:
            batch = self.source.next_batch()
        except BaseException as exc:
            self._finish(exc)
            raise
        if batch is None:
            self._finish(None)
            raise StopIteration
        batch = self._conform(batch)
        self.rows += batch.num_rows
        return batch

    def read_all(self) -> pa.Table:
        return pa.Table.from_batches(list(self), schema=self.schema)

    def close(self) -> None:
        """Stop reading: a query still running is stopped and its data freed."""
        if not self.done:
            self._finish(None, cancelled=True)

    def _finish(self, error: BaseException | None, cancelled: bool = False) -> None:
        self.done = True
        try:
            self.source.close()
        finally:
            if self._on_done is not None:
                on_done, self._on_done = self._on_done, None
                on_done(None if (error or cancelled) else self.rows,
                        error if error is not None else (
                            _Cancelled("result closed before its end") if cancelled else None))

    def _conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        schema = self.schema
        if batch.schema.names != schema.names:
            batch = batch.rename_columns(schema.names)
        if batch.schema != schema:
            batch = batch.cast(schema)
        return batch


class _Cancelled(Exception):
    """What on_done hears when the client closed the stream early."""
