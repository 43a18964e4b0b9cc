"""WindowExec: window functions over a partition that holds whole window
partitions (the planner hash-partitions on PARTITION BY, or gathers).

The operator reads its input partition whole, then for each distinct
(PARTITION BY, ORDER BY) among its calls sorts the rows once
(window_layout.build_layout), computes every call of that specification in
window order with whole-column numpy/pyarrow work (window_functions.py,
window_aggregates.py, kernels/window_*.py), and puts the results back in
input order. Output: the input columns, then one column per call, typed as
the call's `dtype`.

Not supported (NotSupportedError): DISTINCT window aggregates, and
aggregates other than count/sum/avg/min/max/bool_and/bool_or/first.

Memory: the input rows are reserved from the memory pool; refused, they are
split by the calls' shared PARTITION BY keys into files computed one by one
(window_spill.py), or, when the calls have no PARTITION BY, spilled whole and
computed in a streaming pass in window order (window_stream.py).
"""

from __future__ import annotations

from itertools import chain as _chain
from typing import Iterator

import pyarrow as pa

from ...errors import NotSupportedError
from ...planner.physical import WindowExec
from ..registry import execute, implements
from .values import to_type
from .window_aggregates import AGGREGATES
from .window_functions import FUNCTIONS
from .window_layout import build_layout, frame_bounds, group_calls


def _function(call):
    if call.distinct:
        raise NotSupportedError(f"DISTINCT in window function {call.fn}")
    fn = FUNCTIONS.get(call.fn) or AGGREGATES.get(call.fn)
    if fn is None:
        raise NotSupportedError(f"window function {call.fn}")
    return fn


def compute_window(node: WindowExec, batch: pa.RecordBatch) -> list[pa.Array]:
    """The window columns for a batch holding whole window partitions."""
    from ..eval import evaluate
    n = batch.num_rows
    results: list = [None] * len(node.exprs)
    for idxs in group_calls(node.exprs).values():
        first = node.exprs[idxs[0]]
        lay = build_layout([evaluate(e, batch) for e in first.partition_by],
                           [evaluate(k.expr, batch) for k in first.order_by],
                           first.order_by, n)
        frames: dict = {}
        for j in idxs:
            call = node.exprs[j]
            fn = _function(call)
            args = [lay.take(to_type(evaluate(a, batch), a.dtype)) for a in call.args]

            def frame(call=call):
                key = call.frame
                if key not in frames:
                    frames[key] = frame_bounds(lay, call)
                return frames[key]

            out = fn(call, lay, args, frame)
            results[j] = to_type(lay.untake(out), call.dtype)
    return results


@implements(WindowExec)
def window_exec(node: WindowExec, partition: int, ctx) -> Iterator[pa.RecordBatch]:
    yield from _window(node, execute(node.input, partition, ctx), ctx, 0)


def _window(node: WindowExec, batches, ctx, level: int) -> Iterator[pa.RecordBatch]:
    from . import window_spill as ws
    from . import window_stream
    batches = iter(batches)             # the streaming path takes the rest of it
    res = ctx.reserve("Window", node)
    held, spill = [], None
    try:
        for b in batches:
            ctx.check_cancelled()
            if not b.num_rows:
                continue
            if spill is not None:
                spill.write(b)
            elif res.try_grow(b.nbytes):
                held.append(b)
            elif not ws.shared_partition_keys(node) and window_stream.streams(node):
                yield from window_stream.stream_window(node, held, _chain([b], batches),
                                                       ctx, res)
                return
            elif level >= ws.MAX_LEVEL or not ws.shared_partition_keys(node):
                res.grow(b.nbytes)          # cannot split further: MemoryLimitExceeded
                held.append(b)              # ... or granted after reclaiming and waiting
            else:
                spill = ws.WindowSpill(node, ctx, level, res)
                for h in held:
                    spill.write(h)
                held = []
                res.resize(0)
                spill.write(b)
        if spill is not None:
            for part in spill.parts():
                yield from _window(node, part, ctx, level + 1)
            return
        if not held:
            return
        batch = held[0] if len(held) == 1 else pa.concat_batches(held)
        held = []
        columns = list(batch.columns) + compute_window(node, batch)
        names = [f.name for f in node.schema]
        out = pa.RecordBatch.from_arrays(columns, names=names)
        for start in range(0, out.num_rows, ctx.batch_size):
            yield out.slice(start, ctx.batch_size)
    finally:
        res.free()
        if spill is not None:
            spill.close()
