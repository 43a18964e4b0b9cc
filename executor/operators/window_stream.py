"""Window calls with no PARTITION BY over more rows than memory holds.

Why: WindowExec holds whole window partitions. When its calls share a
PARTITION BY, a refused input is split by those keys (window_spill.py); with
no PARTITION BY (`row_number() OVER (ORDER BY x)`, `sum(v) OVER ()`) the
whole input is one window partition and cannot be split. Most window calls,
though, need only the rows near each row plus a little state carried from
the rows before it, so WindowExec spills its input and computes them here in
a streaming pass in window order:

  1. the input goes to an Arrow IPC file in the spill folder, each row
     numbered by its input position (`__rid`);
  2. for each distinct ORDER BY among the calls (the one without ORDER BY
     first, so that it sees input order as in memory), the rows are sorted
     with the external sort (sort_spill.ExternalSort; ties by `__rid`, so in
     input order as the in-memory stable sort has them) and read chunk by
     chunk into a buffer  [context: rows emitted | rows to emit | look-ahead].
     The buffer's values come from the in-memory code (window_layout,
     window_functions, window_aggregates) and are made global with what is
     carried across chunks;
  3. a pass's rows with its new columns are spilled again for the next
     ORDER BY; the last pass streams out. Rows come in the last ORDER BY's
     order: WindowExec promises no row order.

How each call streams (`_kind`):
  rank     row_number, rank, dense_rank, percent_rank, cume_dist, ntile:
           the buffer's positions plus its global offset, the carried
           peer-group start and dense rank of its first row, and the row
           count N from step 1.
  local    lag/lead by a constant offset, any function over a ROWS frame
           with a bounded start, last_value from UNBOUNDED PRECEDING: exact
           on the buffer once it holds the frame (context and look-ahead
           rows as many as the offsets).
  running  count/sum/avg/min/max/bool_and/bool_or from UNBOUNDED PRECEDING
           (to CURRENT ROW, n PRECEDING or m FOLLOWING; RANGE to CURRENT ROW):
           the aggregate of the rows before the buffer is one carried value
           put in front of the buffer's values, so sums run in the same
           order as in memory (float sums bit for bit).
  first    first_value / first from UNBOUNDED PRECEDING: row 0's value.
  total    frames over the whole partition (`OVER ()`, ... UNBOUNDED
           FOLLOWING): a first read carries the running state to the end,
           a second emits it.

RANGE frames to CURRENT ROW and cume_dist need whole peer groups: a buffer's
last peer group waits for the next chunk, so a peer group is held whole, as
are as many rows as a frame's or lag/lead's offset (reserved: more than
memory holds fails with MemoryLimitExceeded naming "Window (streaming)").

Not streamed (`streams` is False and WindowExec fails with
MemoryLimitExceeded as before): a PARTITION BY, DISTINCT, RANGE frames with
an offset or starting at CURRENT ROW, a bounded start to UNBOUNDED
FOLLOWING, lag/lead with an offset that is not a constant, and nth_value
and the variance family other than over a bounded ROWS frame.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa

from ...errors import DataError
from ...planner.expr import Literal, SortKey
from ..eval import evaluate
from ..spill_reading import read_ipc_file
from .sort_spill import ExternalSort, sort_table
from .values import to_type
from .window_aggregates import AGGREGATES, _sums, _valid, mean_array, sum_array
from .window_functions import FUNCTIONS, _int_arg, _ints, _pick, ntile_buckets
from .window_layout import build_layout, frame_bounds, group_calls

RID = "__rid"
RANKS = {"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile"}
RUNNING = {"count_star", "count", "sum", "avg", "min", "max", "bool_and", "bool_or"}
FIRST = {"first", "first_value"}
TOTALS = RUNNING | FIRST | {"last_value"}


@dataclass(frozen=True)
class _Kind:
    kind: str           # rank | local | running | first | total
    back: int           # context rows the buffer keeps before the rows it emits
    ahead: int          # look-ahead rows it keeps after them
    peers: bool         # the rows it emits end with a whole peer group


def _frame(call) -> tuple:
    """(mode, start, end) with the default frame spelled out. Without ORDER BY
    every row is a peer, so RANGE CURRENT ROW is the partition's edge."""
    f = call.frame
    if f is None:
        return "range", None, (0 if call.order_by else None)
    start, end = f.start, f.end
    if f.mode == "range" and not call.order_by:
        start = None if start == 0 else start
        end = None if end == 0 else end
    return f.mode, start, end


def _kind(call) -> _Kind | None:
    """How the call streams, or None when it cannot."""
    fn = call.fn
    if call.distinct or call.partition_by:
        return None
    if fn in RANKS:
        return _Kind("rank", 1, 0, fn == "cume_dist" and bool(call.order_by))
    if fn in ("lag", "lead"):
        off = 1
        if len(call.args) > 1:
            a = call.args[1]
            if not isinstance(a, Literal) or isinstance(a.value, bool) \
                    or not isinstance(a.value, (int, type(None))):
                return None
            off = abs(a.value or 0)
        return _Kind("local", max(1, off), off, False)
    if fn not in FUNCTIONS and fn not in AGGREGATES:
        return None
    mode, start, end = _frame(call)
    if mode == "range":
        if start is not None or end not in (None, 0):
            return None
    elif mode != "rows":
        return None
    if start is None and end is None:
        return _Kind("total", 1, 0, False) if fn in TOTALS else None
    if start is None:
        back, ahead, peers = max(1, -end), max(0, end), mode == "range"
        if fn in RUNNING:
            return _Kind("running", back, ahead, peers)
        if fn in FIRST:
            return _Kind("first", back, ahead, peers)
        if fn == "last_value":
            return _Kind("local", back, ahead, peers)
        return None
    if mode != "rows" or end is None:
        return None
    return _Kind("local", max(1, -start, -end), max(0, start, end), False)


def streams(node) -> bool:
    """Whether every call of the WindowExec can be computed here."""
    return bool(node.exprs) and all(_kind(c) is not None for c in node.exprs)


# -- the operator's side ---------------------------------------------------

def stream_window(node, held: list, rest, ctx, res) -> Iterator[pa.RecordBatch]:
    """The WindowExec's output, spilling its input: `held` the batches `res`
    holds (their reservation is released once they are on disk), `rest` the
    rest of the input."""
    folder = ctx.spill_folder("quiver-window-stream-")
    buffer_res = ctx.reserve("Window (streaming)", node)
    try:
        path = os.path.join(folder, "input.arrow")
        total = _spill_input(node, held, rest, path, ctx, res)
        groups = sorted(group_calls(node.exprs).values(),
                        key=lambda idxs: bool(node.exprs[idxs[0]].order_by))
        for i, idxs in enumerate(groups):
            source = _Sorted(path, node.exprs[idxs[0]].order_by, ctx, res)
            try:
                out = _Pass(node, idxs, total, ctx, buffer_res).run(source)
                if i == len(groups) - 1:
                    yield from _final(node, out, ctx)
                else:
                    done = path
                    path = _write(out, os.path.join(folder, f"pass-{i}.arrow"), ctx, res)
                    os.remove(done)
            finally:
                source.close()
                res.resize(0)
    finally:
        buffer_res.free()
        shutil.rmtree(folder, ignore_errors=True)


def _spill_input(node, held: list, rest, path: str, ctx, res) -> int:
    """Write the input with its row numbers; returns the row count."""
    fields = [pa.field(f.name, f.dtype) for f in node.input.schema]
    schema = pa.schema(fields + [pa.field(RID, pa.int64())])
    rows = 0
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        def put(b):
            nonlocal rows
            if not b.num_rows:
                return
            cols = [c if c.type == f.type else c.cast(f.type) for c, f in zip(b.columns, fields)]
            cols.append(pa.array(np.arange(rows, rows + b.num_rows, dtype=np.int64)))
            out = pa.RecordBatch.from_arrays(cols, schema=schema)
            writer.write_batch(out)
            res.record_spill(out.nbytes)
            rows += b.num_rows
        for b in held:
            put(b)
        held.clear()
        res.resize(0)
        for b in rest:
            ctx.check_cancelled()
            put(b)
    return rows


def _write(batches, path: str, ctx, res) -> str:
    writer = None
    try:
        for b in batches:
            if writer is None:
                writer = pa.ipc.new_file(path, b.schema)
            writer.write_batch(b)
            res.record_spill(b.nbytes)
    finally:
        if writer is not None:
            writer.close()
    return path


def _final(node, batches, ctx) -> Iterator[pa.RecordBatch]:
    names = [f.name for f in node.schema]
    ninputs = len(node.input.schema)             # then __rid, then the __w columns
    for b in batches:
        where = {name: i for i, name in enumerate(b.schema.names[ninputs:], ninputs)}
        cols = b.columns[:ninputs] + [b.column(where[f"__w{j}"]) for j in range(len(node.exprs))]
        out = pa.RecordBatch.from_arrays(cols, names=names)
        for start in range(0, out.num_rows, ctx.batch_size):
            yield out.slice(start, ctx.batch_size)


class _Sorted:
    """A spilled file's rows in one ORDER BY's window order (ties by `__rid`),
    readable more than once: sorted runs on disk plus the batches `res`
    could hold, merged on each read."""

    def __init__(self, path: str, order_by, ctx, res):
        self.path, self.ctx = path, ctx
        self.sort: ExternalSort | None = None
        self.tail: list[pa.RecordBatch] = []
        self.ncols = 0
        if not order_by:
            return
        keys = list(order_by) + [SortKey(None, True, False)]
        budget = ctx.effective_limit() // 2      # the rest is the streaming buffer's
        for b in read_ipc_file(path):
            ctx.check_cancelled()
            self.ncols = b.num_columns
            karr = [evaluate(k.expr, b) for k in order_by] + [b.column(RID)]
            b = pa.RecordBatch.from_arrays(
                list(b.columns) + karr,
                names=b.schema.names + [f"__k{i}" for i in range(len(karr))])
            if res.size + b.nbytes <= budget and res.try_grow(b.nbytes):
                self.tail.append(b)
                continue
            if self.sort is None:
                self.sort = ExternalSort(keys, range(self.ncols, b.num_columns), ctx, res)
            if self.tail:
                self.sort.spill(self.tail)
                self.tail = []
                res.resize(0)
            if b.nbytes <= budget and res.try_grow(b.nbytes):
                self.tail.append(b)
            else:
                self.sort.spill([b])
        if self.sort is not None and self.tail:  # on disk too: memory is the buffer's
            self.sort.spill(self.tail)
            self.tail = []
            res.resize(0)
        self.keys = keys

    def __call__(self) -> Iterator[pa.RecordBatch]:
        if not self.ncols:                       # no ORDER BY: input order
            yield from read_ipc_file(self.path)
            return
        keep = list(range(self.ncols))
        if self.sort is not None:
            pieces = self.sort.merged(self.tail)
        elif self.tail:
            table = pa.Table.from_batches(self.tail)
            pieces = sort_table(table, range(self.ncols, table.num_columns),
                                self.keys).to_batches(max_chunksize=self.ctx.batch_size)
        else:
            pieces = []
        for piece in pieces:
            piece = piece.select(keep)
            if isinstance(piece, pa.Table):
                batches = piece.to_batches()
                if not batches:
                    continue
                piece = batches[0] if len(batches) == 1 else pa.concat_batches(batches)
            if piece.num_rows:
                yield piece

    def close(self) -> None:
        if self.sort is not None:
            self.sort.close()
        self.tail = []


# -- one ORDER BY's calls over its window order ----------------------------

@dataclass
class _Acc:
    """A running aggregate over the rows before the buffer: its value (one
    row, of the summed type for sum/avg) and, for count/sum/avg, how many
    non-NULL values it saw."""
    state: pa.Array | None = None
    count: int = 0
    empty: pa.Array | None = None            # a 0-row argument, for the total's query


def _summed(x: pa.Array) -> pa.Array:
    """x in the type its SUM accumulates in (so the carried sum fits)."""
    t = x.type
    if pa.types.is_decimal(t):
        want = pa.decimal128(38, t.scale)
    elif pa.types.is_integer(t) or pa.types.is_boolean(t):
        want = pa.int64()
    elif pa.types.is_floating(t):
        want = pa.float64()
    else:
        return x
    return x if t == want else x.cast(want)


def _advance(call, acc: _Acc, x: pa.Array | None, fe: np.ndarray, d: int):
    """Values of the frames [0, fe) of `x` (buffer rows) with everything
    before the buffer in `acc`; then `acc` moved over the buffer's first `d`
    rows. Returns (values, acc)."""
    fn = call.fn
    fe = np.asarray(fe, dtype=np.int64)
    if x is not None and acc.empty is None:
        acc.empty = x.slice(0, 0)
    if fn == "count_star":
        return pa.array(acc.count + fe, pa.int64()), _Acc(None, acc.count + d, acc.empty)
    if fn == "count":
        before = np.concatenate(([0], np.cumsum(_valid(x), dtype=np.int64)))
        return (pa.array(acc.count + before[fe], pa.int64()),
                _Acc(None, acc.count + int(before[d]), acc.empty))
    q = np.append(fe, d)
    hi = int(q.max())
    x = x.slice(0, hi)
    if fn in ("sum", "avg"):
        x = _summed(x)
    state = acc.state if acc.state is not None else pa.nulls(1, x.type)
    xs = pa.concat_arrays([state, x])
    if len(xs) < len(q):                 # more frames than rows: pad, no frame reaches it
        xs = pa.concat_arrays([xs, pa.nulls(len(q) - len(xs), xs.type)])
    m = len(xs)
    order = np.argsort(q, kind="stable")             # monotone frames for min/max
    qs = np.full(m, q[order[-1]] + 1, dtype=np.int64)
    qs[:len(q)] = q[order] + 1
    fs = np.zeros(m, dtype=np.int64)
    lay = build_layout([], [], (), m)
    inv = np.empty(len(q), dtype=np.int64)
    inv[order] = np.arange(len(q), dtype=np.int64)
    if fn in ("sum", "avg"):
        s, n_valid = _sums(call, lay, xs, fs, qs)
        n_valid = n_valid - (1 if acc.count else 0) + acc.count
        sums = sum_array(s, n_valid)
        values = mean_array(s, n_valid) if fn == "avg" else sums
        last = int(inv[-1])
        return (values.take(pa.array(inv[:-1])),
                _Acc(sums.slice(last, 1), int(n_valid[last]), acc.empty))
    values = AGGREGATES[fn](call, lay, [xs], lambda: (fs, qs))
    return values.take(pa.array(inv[:-1])), _Acc(values.take(pa.array(inv[-1:])), 0, acc.empty)


class _Pass:
    """One ORDER BY's calls (`idxs` into node.exprs) over its sorted rows."""

    def __init__(self, node, idxs, total: int, ctx, res):
        self.node, self.idxs, self.total, self.ctx, self.res = node, idxs, total, ctx, res
        self.calls = [node.exprs[j] for j in idxs]
        self.order_by = self.calls[0].order_by
        self.kinds = [_kind(c) for c in self.calls]
        self.back = max(k.back for k in self.kinds)
        self.ahead = max(k.ahead for k in self.kinds)
        self.peers = any(k.peers for k in self.kinds)
        self.g = 0                   # global position of the buffer's first row
        self.c = 0                   # buffer rows already emitted (context)
        self.peer_b0 = 0             # global peer-group start of the buffer's first row
        self.dense0 = 0              # its 0-based dense rank
        self.accs = [_Acc() for _ in self.calls]
        self.firsts: list = [None] * len(self.calls)
        self.totals: list = [None] * len(self.calls)

    def run(self, source) -> Iterator[pa.RecordBatch]:
        if any(k.kind == "total" for k in self.kinds):
            self._totals(source())
        step = max(1, int(self.ctx.batch_size))
        buf = None
        for chunk in source():
            self.ctx.check_cancelled()
            buf = chunk if buf is None else pa.concat_batches([buf, chunk])
            if buf.num_rows - self.c >= step + self.ahead:
                out, buf = self._step(buf, final=False)
                self.res.resize(buf.nbytes)
                if out is not None:
                    yield out
        if buf is not None and buf.num_rows > self.c:
            out, _ = self._step(buf, final=True)
            self.res.resize(0)
            yield out

    def _args(self, call, batch) -> list[pa.Array]:
        return [to_type(evaluate(a, batch), a.dtype) for a in call.args]

    def _totals(self, chunks) -> None:
        """First read: each whole-partition call's value."""
        last = None
        for chunk in chunks:
            self.ctx.check_cancelled()
            for i, (call, kind) in enumerate(zip(self.calls, self.kinds)):
                if kind.kind != "total":
                    continue
                args = self._args(call, chunk)
                if call.fn in FIRST:
                    if self.totals[i] is None:
                        self.totals[i] = args[0].slice(0, 1)
                elif call.fn != "last_value":
                    _, self.accs[i] = _advance(call, self.accs[i], args[0] if args else None,
                                               np.zeros(0, np.int64), chunk.num_rows)
            last = chunk
        for i, (call, kind) in enumerate(zip(self.calls, self.kinds)):
            if kind.kind != "total":
                continue
            if call.fn == "last_value":
                arg = self._args(call, last)[0]
                self.totals[i] = arg.slice(len(arg) - 1, 1)
            elif call.fn not in FIRST:
                acc = self.accs[i]
                value, _ = _advance(call, acc, acc.empty, np.zeros(1, np.int64), 0)
                self.totals[i] = value

    def _step(self, buf: pa.RecordBatch, final: bool):
        """Emit what the buffer can give; returns (output batch or None, buffer kept)."""
        n, c, g = buf.num_rows, self.c, self.g
        lay = build_layout([], [evaluate(k.expr, buf) for k in self.order_by],
                           self.order_by, n)
        r1 = n if final else n - self.ahead
        if self.peers and not final:
            r1 = min(r1, int(lay.peer_b[n - 1]))
        r1 = max(r1, c)
        d = max(0, r1 - self.back)
        peer_b = np.where(lay.peer_b > 0, g + lay.peer_b, self.peer_b0)
        dense = self.dense0 + np.cumsum(lay.peer_start) - 1
        cols = []
        for i, (call, kind) in enumerate(zip(self.calls, self.kinds)):
            args = self._args(call, buf)
            if kind.kind == "rank":
                out = self._rank(call, lay, args, peer_b, dense, c, r1)
            elif kind.kind == "total":
                out = self.totals[i].take(pa.array(np.zeros(r1 - c, dtype=np.int64)))
            elif kind.kind == "local":
                fn = FUNCTIONS.get(call.fn) or AGGREGATES[call.fn]
                out = fn(call, lay, args, lambda call=call: frame_bounds(lay, call))
                out = out.slice(c, r1 - c)
            else:
                fe = frame_bounds(lay, call)[1][c:r1]
                if kind.kind == "first":
                    if g == 0 and self.firsts[i] is None:
                        self.firsts[i] = args[0].slice(0, 1)
                    out = _pick(self.firsts[i], np.zeros(len(fe), np.int64), g + fe > 0)
                else:
                    out, self.accs[i] = _advance(call, self.accs[i],
                                                 args[0] if args else None, fe, d)
            cols.append(to_type(out, call.dtype))
        out = None
        if r1 > c:
            rows = buf.slice(c, r1 - c)
            out = pa.RecordBatch.from_arrays(
                list(rows.columns) + cols,
                names=rows.schema.names + [f"__w{j}" for j in self.idxs])
        if d < n:
            self.peer_b0, self.dense0 = int(peer_b[d]), int(dense[d])
        self.g, self.c = g + d, r1 - d
        return out, buf.slice(d)

    def _rank(self, call, lay, args, peer_b, dense, c, r1) -> pa.Array:
        fn, total = call.fn, self.total
        pos = self.g + np.arange(c, r1, dtype=np.int64)
        if fn == "row_number":
            return _ints(pos + 1)
        if fn == "rank":
            return _ints(peer_b[c:r1] + 1)
        if fn == "dense_rank":
            return _ints(dense[c:r1] + 1)
        if fn == "percent_rank":
            r = peer_b[c:r1].astype(np.float64)
            return pa.array(r / max(total - 1, 1) if total > 1 else np.zeros(r1 - c),
                            pa.float64())
        if fn == "cume_dist":
            end = self.g + lay.peer_e[c:r1] if self.order_by else np.full(r1 - c, total)
            return pa.array(end / float(total), pa.float64())
        k, valid = _int_arg(args[0].slice(c, r1 - c), r1 - c)
        if np.any(valid & (k <= 0)):
            raise DataError("argument of ntile must be greater than zero")
        return ntile_buckets(k, valid, pos, total)
