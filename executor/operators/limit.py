"""LimitExec: skip `offset` rows, then pass `limit` rows (None: all), per
partition; stops pulling its input as soon as the limit is reached."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from ...planner.physical import LimitExec
from ..registry import execute, implements


@implements(LimitExec)
def limit_exec(node: LimitExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    remaining = node.limit                # None: unlimited
    skip = max(node.offset or 0, 0)
    if remaining is not None and remaining <= 0:
        return
    it = execute(node.input, partition, ctx)
    try:
        for batch in it:
            n = batch.num_rows
            if skip:
                if n <= skip:
                    skip -= n
                    continue
                batch, n, skip = batch.slice(skip), n - skip, 0
            if remaining is not None:
                if n >= remaining:
                    yield batch.slice(0, remaining)
                    return
                remaining -= n
            if n:
                yield batch
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()               # let upstream generators release resources now
