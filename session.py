"""A session: one catalog, one set of options, and statement dispatch.

`Session.execute(sql, params)` parses and binds the text, then runs each
statement: SELECT through optimizer -> physical planner -> stage DAG ->
runner; DDL against the catalog; EXPLAIN as text. The DB-API connection
(dbapi.py) wraps a Session; the cluster coordinator runs one too.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pyarrow as pa

from . import ddl, errors
from .executor.result import Result
from .planner.physical_planner import PhysicalOptions, PhysicalPlanner
from .planner.stages import StageDag, build_stages
from .planner.runtime_filters import add_runtime_filters


@dataclass
class QueryRecord:
    query_id: int
    sql: str
    state: str = "running"
    started: float = field(default_factory=time.time)
    seconds: float | None = None
    rows: int | None = None
    error: str | None = None
    peak_memory: int | None = None     # bytes the query held at most (this process / summed over workers)
    spilled_bytes: int | None = None   # bytes it wrote to spill folders
    user: str = ""                     # the session's `user` option
    priority: int = 0                  # the session's `priority` option
    queued_seconds: float = 0.0        # time it waited for admission (cluster/admission.py)
    queued_since: float | None = None  # while state is 'queued': since when (epoch seconds)

    def waited(self, now: float) -> float:
        """Seconds spent queued, counting a wait still going on."""
        since = self.queued_since
        return self.queued_seconds + (max(0.0, now - since) if since is not None else 0.0)


SESSION_OPTIONS = ("dialect", "warehouse", "batch_size", "spill_dir", "result_window",
                   "user", "priority", "statement_timeout")
MEMORY_OPTIONS = ("memory_limit", "memory_budget", "spill_limit")   # bytes or '4GB'; budget = limit
PHYSICAL_OPTIONS = ("target_partitions", "shuffle_partitions", "broadcast_rows",
                    "join_strategy", "split_bytes", "max_join_rows", "runtime_filter_rows")


def session_options(options: dict) -> dict:
    """connect() options as Session keyword arguments; an unknown option is
    an InterfaceError (a cluster client checks them here before sending)."""
    phys = PhysicalOptions()
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key in PHYSICAL_OPTIONS:
            setattr(phys, key, value)
        elif key == "disabled_rules":
            out["disabled_rules"] = frozenset(value)
        elif key == "priority":
            out[key] = parse_priority(0 if value is None else value)
        elif key == "user":
            out[key] = None if value is None else parse_user(value)
        elif key in SESSION_OPTIONS:
            out[key] = value
        elif key in MEMORY_OPTIONS:
            from .executor.memory import parse_size
            out["spill_limit" if key == "spill_limit" else "memory_limit"] = parse_size(value)
        else:
            raise errors.InterfaceError(f"unknown connection option {key!r}")
    out["physical"] = phys
    return out


def parse_priority(value) -> int:
    """A query priority: an integer (higher runs first), 0 by default."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.ProgrammingError(f"priority must be an integer (higher runs first), "
                                      f"not {value!r}")
    return value


def parse_user(value) -> str:
    """A user name (who a query runs for: per-user limits, system.queries)."""
    if not isinstance(value, str) or not value.strip():
        raise errors.ProgrammingError(f"user must be a non-empty name, not {value!r}")
    return value.strip()


def default_user() -> str:
    """The OS user running this process (the `user` option's default)."""
    import getpass
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):          # no $USER and no passwd entry (some containers)
        return "unknown"


def open_engine(target: str | None, options: dict) -> "Session":
    """The embedded engine: a Session in this process (dbapi.TARGETS)."""
    return Session(**session_options(options))


def open_database_engine(target: str, options: dict) -> "Session":
    """A database to come back to: a Session over the catalog and warehouse
    in the folder `target` (storage/database.py; dbapi.TARGETS)."""
    from .storage.database import open_database
    db = open_database(target)
    opts = session_options(options)
    opts.setdefault("warehouse", db.warehouse)
    return Session(catalog=db.catalog, **opts)


class Session:
    def __init__(self, catalog=None, dialect: str | None = None,
                 physical: PhysicalOptions | None = None,
                 disabled_rules: frozenset[str] = frozenset(),
                 warehouse: str | None = None,
                 runner: Callable[[StageDag, Any], list[pa.RecordBatch]] | None = None,
                 batch_size: int | None = None,
                 memory_budget: int | str | None = None, spill_dir: str | None = None,
                 memory_limit: int | str | None = None, spill_limit: int | str | None = None,
                 result_window: int | None = None, user: str | None = None,
                 priority: int = 0, statement_timeout: float | str | None = None):
        from .storage.catalog import Catalog
        self.catalog = catalog if catalog is not None else Catalog()
        self.dialect = dialect
        self.physical = physical or PhysicalOptions()
        self.disabled_rules = frozenset(disabled_rules)
        self._warehouse = warehouse or os.environ.get("QUIVER_WAREHOUSE") or None
        self.warehouse_is_temporary = self._warehouse is None
        self._remove_warehouse = None   # finalizer of a temporary warehouse, once made
        self.runner = runner
        self.batch_size = batch_size
        from .executor.memory import parse_size
        if memory_limit is None:
            memory_limit = memory_budget            # the old name, an alias
        # bytes each query may hold (None: the process pool's limit, 80% of RAM)
        self.memory_limit = parse_size(memory_limit) if memory_limit is not None else None
        self.spill_limit = parse_size(spill_limit) if spill_limit is not None else None
        self.spill_dir = spill_dir
        self.result_window = result_window      # bytes of unread result a streamed query holds
        self.user = parse_user(user) if user is not None else default_user()
        self.priority = parse_priority(priority)   # higher is admitted and served first
        from .executor.deadline import parse_duration
        # seconds a query may run before it is stopped (None: no limit)
        self.statement_timeout = parse_duration(statement_timeout)
        self.queries: list[QueryRecord] = []
        self._lock = threading.Lock()
        self._next_query = 1
        self.current_ctx = None     # the running query's ExecContext (for cancel)
        self.final_statement = True # execute() is running the last statement of its text
        self.last_memory: dict = {}  # the last query's memory report (ExecContext.memory_report)
        self.on_progress: Callable | None = None

    @property
    def warehouse(self) -> str:
        """Where CREATE TABLE AS writes a table without LOCATION. An in-memory
        session's is a temporary folder of its own, made on first use and
        removed when the session closes or the process ends."""
        if self._warehouse is None:
            import shutil
            import weakref
            self._warehouse = tempfile.mkdtemp(prefix="quiver-warehouse-")
            self._remove_warehouse = weakref.finalize(
                self, shutil.rmtree, self._warehouse, ignore_errors=True)
        return self._warehouse

    def close(self) -> None:
        """Remove the temporary warehouse (its tables go with the session)."""
        if self._remove_warehouse is not None:
            self._remove_warehouse()

    # -- entry -------------------------------------------------------------
    def execute(self, sql: str, params=None, stream: bool = False) -> Result:
        """Run every statement of `sql`, each bound after the one before it
        ran (a script's INSERT sees the table its CREATE made); the last
        one's Result. With `stream`, a final SELECT comes back as a
        ResultStream read while it runs."""
        from .parser import statements as S
        from .parser.binder import bind_each
        if re.match(r"^\s*resume\s+query\b", sql, re.I):
            raise errors.NotSupportedError(
                "RESUME QUERY needs a cluster connection (local[N] or quiver://): an "
                "embedded query keeps no stage outputs once it ends")
        statements = bind_each(sql, self.catalog, params=params, dialect=self.dialect,
                               query_runner=lambda bound: self.run_query(bound).table)
        if not len(statements):
            raise errors.ProgrammingError("no statement to execute")
        last = len(statements) - 1
        result = None
        for i, st in enumerate(statements):
            self.final_statement = i == last
            if stream and i == last and isinstance(st, S.Select) and self.runner is None:
                return self.run_query(st.query, sql, stream=True)
            result = self._run_statement(st, sql)
        return result

    def cancel(self) -> None:
        ctx = self.current_ctx
        if ctx is not None:
            ctx.cancelled.set()

    # -- statements ---------------------------------------------------------
    def _run_statement(self, st, sql: str) -> Result:
        from .parser import statements as S
        if isinstance(st, S.Select):
            return self.run_query(st.query, sql)
        if isinstance(st, S.Explain):
            return self._explain(st, sql)
        if isinstance(st, S.SetOption):
            self.set_option(st.name, st.value)
            return Result(None, -1, "SET")
        return ddl.run(self, st)

    SETTINGS = ("memory_limit", "memory_budget", "spill_limit", "batch_size", "priority",
                "statement_timeout")

    def set_option(self, name: str, value) -> None:
        """SET name = value / RESET name (value None)."""
        from .executor.memory import parse_size
        if name in ("memory_limit", "memory_budget"):
            self.memory_limit = None if value is None else parse_size(value)
        elif name == "spill_limit":
            self.spill_limit = None if value is None else parse_size(value)
        elif name == "batch_size":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise errors.ProgrammingError(f"batch_size must be a positive integer, not {value!r}")
            self.batch_size = value
        elif name == "priority":
            self.priority = 0 if value is None else parse_priority(value)
        elif name == "statement_timeout":
            from .executor.deadline import parse_duration
            self.statement_timeout = parse_duration(value)
        else:
            raise errors.ProgrammingError(
                f"unknown setting {name!r}: Quiver has {', '.join(self.SETTINGS)}")

    def plan_query(self, bound, trace: list | None = None):
        from .executor.eval import evaluate, evaluate_scalar
        from .planner.optimizer import OptimizerContext, optimize
        from .planner.statistics import remembered_estimates
        ctx = OptimizerContext(evaluate_scalar=evaluate_scalar, evaluate=evaluate)
        options = self.physical
        memory = self.query_memory_bytes()
        if options.memory_bytes is not None:
            memory = min(memory, options.memory_bytes)
        options = dataclasses.replace(options, memory_bytes=memory)
        with remembered_estimates():
            logical = optimize(bound.plan, ctx, disabled=self.disabled_rules, trace=trace)
            physical = PhysicalPlanner(options, evaluate=evaluate).plan(logical)
        dag = add_runtime_filters(build_stages(physical), options.runtime_filter_rows)
        return logical, physical, dag

    def query_memory_bytes(self) -> int:
        """What a query of this session may reserve: the reservable share of
        its memory_limit, capped by this process's pool (ExecContext.effective_limit)."""
        from .executor.memory import process_pool, reservable
        pool = process_pool()
        if self.memory_limit is None:
            return pool.reservable
        return reservable(min(self.memory_limit, pool.limit))

    def _context(self, metrics=None):
        from .executor.context import ExecContext
        from .storage.parquet import ReadCounters
        ctx = ExecContext(memory_tables=self.catalog.memory_tables(), metrics=metrics,
                          memory_limit=self.memory_limit, spill_limit=self.spill_limit,
                          spill_dir=self.spill_dir)
        if self.batch_size:
            ctx.batch_size = self.batch_size
        ctx.options.setdefault("scan_counters", ReadCounters())
        from .executor.deadline import arm
        arm(ctx, self.statement_timeout)
        return ctx

    def _close_context(self, ctx, record: QueryRecord) -> None:
        """Free what the query still holds; note its peak memory and spill."""
        memory = ctx.close()
        remote = ctx.options.get("remote_memory")     # set by a cluster runner
        if remote:
            memory = {"peak": memory["peak"] + remote["peak"],
                      "spilled": memory["spilled"] + remote["spilled"],
                      "stages": memory["stages"]}
        if ctx.options.get("remote_stages"):
            memory["stages"] = ctx.options["remote_stages"]
        record.peak_memory, record.spilled_bytes = memory["peak"], memory["spilled"]
        self.last_memory = memory

    def run_query(self, bound, sql: str = "", metrics=None,
                  dag: StageDag | None = None, stream: bool = False) -> Result:
        from .executor.local_runner import run_dag
        if stream:
            return self._stream_query(bound, sql)
        record = self._start_record(sql)
        try:
            if dag is None:
                _, _, dag = self.plan_query(bound)
            ctx = self._context(metrics)
            self.current_ctx = ctx
            try:
                if self.runner is not None:
                    batches = self.runner(dag, ctx)
                else:
                    batches = run_dag(dag, ctx, on_progress=self.on_progress)
            finally:
                self.current_ctx = None
                self._close_context(ctx, record)
            table = result_table(batches, dag.final.root.schema, bound.output_names)
        except BaseException as exc:
            record.state, record.error = "failed", str(exc)
            record.seconds = time.time() - record.started
            raise
        record.state, record.rows = "finished", table.num_rows
        record.seconds = time.time() - record.started
        result = Result(table, table.num_rows, "SELECT")
        result.query_id = str(record.query_id)
        return result

    def _stream_query(self, bound, sql: str) -> Result:
        """Start a SELECT whose result the client reads while it runs: run
        until the result window is full (or the query is done), then hand
        back a ResultStream that pulls the rest."""
        from .executor.local_runner import DagRun
        from .executor.result_stream import ResultStream
        from .executor.result_window import DEFAULT_WINDOW
        record = self._start_record(sql)
        run = ctx = None
        try:
            _, _, dag = self.plan_query(bound)
            ctx = self._context()
            self.current_ctx = ctx
            run = DagRun(dag, ctx, on_progress=self.on_progress,
                         window=self.result_window or DEFAULT_WINDOW)
            run.fill()
        except BaseException as exc:
            if run is not None:
                run.close()
            if ctx is not None:
                if self.current_ctx is ctx:
                    self.current_ctx = None
                self._close_context(ctx, record)
            self._end_record(record, None, exc)
            raise
        fields = dag.final.root.schema
        schema = pa.schema([pa.field(name, f.dtype)
                            for name, f in zip(bound.output_names, fields)])

        def done(rows, error):
            if self.current_ctx is ctx:
                self.current_ctx = None
            self._close_context(ctx, record)
            self._end_record(record, rows, error)
        result = Result(None, -1, "SELECT", stream=ResultStream(run, schema, done))
        result.query_id = str(record.query_id)
        return result

    def _end_record(self, record: QueryRecord, rows: int | None,
                    error: BaseException | None) -> None:
        if error is not None:
            record.state, record.error = "failed", str(error)
            if isinstance(error, errors.QueryCancelled) or type(error).__name__ == "_Cancelled":
                record.state = "cancelled"
        else:
            record.state, record.rows = "finished", rows
        record.seconds = time.time() - record.started

    def _start_record(self, sql: str) -> QueryRecord:
        with self._lock:
            rec = QueryRecord(self._next_query, sql, user=self.user, priority=self.priority)
            self._next_query += 1
            self.queries.append(rec)
            del self.queries[:-100]
            return rec

    def _explain(self, st, sql: str) -> Result:
        from .parser import statements as S
        from .planner import explain as X
        if not isinstance(st.statement, S.Select):
            raise errors.NotSupportedError("EXPLAIN supports SELECT statements")
        bound = st.statement.query
        trace: list = [] if st.verbose else None
        logical, physical, dag = self.plan_query(bound, trace)
        sections: list[tuple[str, str]] = []
        if st.verbose:
            sections.append(("initial_logical_plan", "\n".join(X.format_tree(bound.plan))))
            for name, plan, _secs in trace or []:
                sections.append((f"after {name}", "\n".join(X.format_tree(plan))))
        sections.append(("logical_plan", "\n".join(X.format_tree(logical))))
        sections.append(("physical_plan", "\n".join(X.format_tree(physical))))
        if st.analyze:
            from .executor.context import Metrics
            from .executor.memory import format_size
            metrics = Metrics()
            t0 = time.perf_counter()
            result = self.run_query(bound, sql, metrics=metrics, dag=dag)
            total = time.perf_counter() - t0

            def annotate(node):
                m = metrics.get(node)
                if not m:
                    return ""
                text = f"rows={m.rows} time={m.seconds * 1000:.1f}ms"
                if m.peak_memory or m.spilled:
                    text += f" peak_mem={format_size(m.peak_memory)}"
                if m.spilled:
                    text += f" spilled={format_size(m.spilled)}"
                return text
            stage_memory = self.last_memory.get("stages", {})

            def stage_notes(stage):
                peak, spilled = stage_memory.get(stage.id, (0, 0))
                if not (peak or spilled):
                    return ""
                return f"peak_mem={format_size(peak)} spilled={format_size(spilled)}"

            def stage_stats(stage):
                m = metrics.get(stage.root)
                if m is None:
                    return "not run"
                return (f"rows {m.rows:,} · {X.format_bytes(m.bytes)} · "
                        f"{m.seconds * 1000:.1f} ms task time")
            sections.append(("stage_dag", "\n".join(X.format_stage_dag(dag, stage_stats))))
            text = X.format_stages(dag, annotate, stage_notes)
            # a cluster runner adds each stage's tasks: attempt, worker, rows, bytes, time
            text.extend(getattr(metrics, "cluster_report", ()))
            text.append(f"Total: {result.rowcount} rows in {total * 1000:.1f}ms, "
                        f"peak memory {format_size(self.last_memory['peak'])}, "
                        f"spilled {format_size(self.last_memory['spilled'])}")
            sections.append(("analyzed_stages", "\n".join(text)))
        else:
            sections.append(("stage_dag", "\n".join(X.format_stage_dag(dag))))
            sections.append(("stages", "\n".join(X.format_stages(dag))))
        table = pa.table({"explain_key": [k for k, _ in sections],
                          "explain_value": [v for _, v in sections]})
        return Result(table, table.num_rows, "EXPLAIN")


def result_table(batches: list[pa.RecordBatch], fields, output_names) -> pa.Table:
    """The final batches as a table with the user's column names."""
    schema = pa.schema([pa.field(f.name, f.dtype) for f in fields])
    batches = [b if b.schema.names == schema.names else b.rename_columns(schema.names)
               for b in batches]
    batches = [b.cast(schema) if b.schema != schema else b for b in batches]
    table = pa.Table.from_batches(batches, schema=schema)
    return table.rename_columns(list(output_names))

