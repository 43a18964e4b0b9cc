"""RuntimeFilterExec: keep the rows whose key is among a finished stage's
keys (planner/runtime_filters.py says where and why). A filter that keeps
nearly every row it tries stops filtering (TRIAL_ROWS, USELESS).

The build keys are read once per query in each process and shared by its
tasks (ctx.builds, like a broadcast join's build side): a KeyEncoder over
them, reserved from the pool before its tables grow. Past max_build_rows
rows, or refused by the pool, the filter gives up and every row passes;
the join above the shuffle still gives the answer, so giving up costs time,
never rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ...planner.physical import RuntimeFilterExec
from .. import registry
from ..registry import implements
from .aggregate_groups import eval_array


class _GiveUp(Exception):
    """The build side is too large for a filter to pay, or the pool said no."""


# after this many probe rows, a filter that kept more than USELESS of them
# stops filtering (for every task of the query in this process): each row
# costs a hash lookup, and the join above would do the same work anyway
TRIAL_ROWS = 200_000
USELESS = 0.9


class _KeyFilter:
    """The build keys, and how well they filtered so far (tallies shared by
    the query's tasks; a lost update between threads only delays a verdict)."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.seen = 0
        self.kept = 0
        self.useless = False

    def keep(self, keys: list) -> np.ndarray:
        ids = np.asarray(self.encoder.lookup(keys))
        mask = ids >= 0
        self.seen += len(mask)
        self.kept += int(np.count_nonzero(mask))
        if self.seen >= TRIAL_ROWS and self.kept > USELESS * self.seen:
            self.useless = True
        return mask


@implements(RuntimeFilterExec)
def runtime_filter(node: RuntimeFilterExec, partition: int, ctx):
    keys = ctx.builds.get(ctx.query_key, ctx.build_key(node),
                          lambda: _build(node, ctx), ctx.cancelled)
    for batch in registry.execute(node.left, partition, ctx):
        if keys is None or keys.useless or batch.num_rows == 0:
            yield batch
            continue
        keep = keys.keep([eval_array(k, batch) for k in node.left_keys])
        if keep.all():
            yield batch
        elif keep.any():
            yield batch.filter(pa.array(keep))


def _build(node: RuntimeFilterExec, ctx):
    """(a _KeyFilter of the build keys, or None to pass every row; its release)."""
    from ..kernels.key_encoder import KeyEncoder
    res = ctx.reserve_shared("RuntimeFilter", node)

    def reserve_growth(nbytes: int) -> None:
        if not res.try_grow(nbytes):
            raise _GiveUp()

    encoder = KeyEncoder([k.dtype for k in node.right_keys], null_equals_null=False,
                         grow_guard=reserve_growth)
    rows = 0
    try:
        for batch in registry.execute(node.right, 0, ctx):
            ctx.check_cancelled()
            rows += batch.num_rows
            if rows > node.max_build_rows:
                raise _GiveUp()
            encoder.encode([eval_array(k, batch) for k in node.right_keys])
            # growth was reserved before it happened; what it replaced is gone
            if not res.try_resize(encoder.nbytes):
                raise _GiveUp()
    except _GiveUp:
        encoder = None
        res.resize(0)
    except BaseException:
        res.free()
        raise
    return (None if encoder is None else _KeyFilter(encoder)), res.free
