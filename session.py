"""A session: one catalog, one set of options, and statement dispatch.

`Session.execute(sql, params)` parses and binds the text, then runs each
statement: SELECT through optimizer -> physical planner -> stage DAG ->
runner; DDL against the catalog; EXPLAIN as text. The DB-API connection
(dbapi.py) wraps a Session; the cluster coordinator runs one too.
"""

from __future__ import annotations

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


@dataclass
class QueryRecord:
    query_id: int
    sql: str
    state: str = "running"
    started: float = field(default_factory=time.time)
    seconds: float | None = None
    rows: int | None = None
    error: str | None = None


SESSION_OPTIONS = ("dialect", "warehouse", "batch_size", "memory_budget", "spill_dir")
PHYSICAL_OPTIONS = ("target_partitions", "shuffle_partitions", "broadcast_rows",
                    "join_strategy", "split_bytes")


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
        elif key in SESSION_OPTIONS:
            out[key] = value
        else:
            raise errors.InterfaceError(f"unknown connection option {key!r}")
    out["physical"] = phys
    return out


def open_engine(target: str | None, options: dict) -> "Session":
    """The embedded engine: a Session in this process (dbapi.TARGETS)."""
    return Session(**session_options(options))


class Session:
    def __init__(self, catalog=None, dialect: str | None = None,
                 physical: PhysicalOptions | None = None,
                 disabled_rules: frozenset[str] = frozenset(),
                 warehouse: str | None = None,
                 runner: Callable[[StageDag, Any], list[pa.RecordBatch]] | None = None,
                 batch_size: int | None = None,
                 memory_budget: int | None = None, spill_dir: str | None = None):
        from .storage.catalog import Catalog
        self.catalog = catalog if catalog is not None else Catalog()
        self.dialect = dialect
        self.physical = physical or PhysicalOptions()
        self.disabled_rules = frozenset(disabled_rules)
        self.warehouse = warehouse or os.environ.get("QUIVER_WAREHOUSE") or os.path.join(
            tempfile.gettempdir(), f"quiver-warehouse-{os.getpid()}")
        self.runner = runner
        self.batch_size = batch_size
        self.memory_budget = memory_budget      # bytes per stateful operator
        self.spill_dir = spill_dir
        self.queries: list[QueryRecord] = []
        self._lock = threading.Lock()
        self._next_query = 1
        self.current_ctx = None     # the running query's ExecContext (for cancel)
        self.on_progress: Callable | None = None

    # -- entry -------------------------------------------------------------
    def execute(self, sql: str, params=None) -> Result:
        from .parser import bind
        if re.match(r"^\s*resume\s+query\b", sql, re.I):
            raise errors.NotSupportedError(
                "RESUME QUERY needs a cluster connection (local[N] or quiver://): an "
                "embedded query keeps no stage outputs once it ends")
        statements = bind(sql, self.catalog, params=params, dialect=self.dialect)
        if not statements:
            raise errors.ProgrammingError("no statement to execute")
        result = Result()
        for st in statements:
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
        return ddl.run(self, st)

    def plan_query(self, bound, trace: list | None = None):
        from .executor.eval import evaluate, evaluate_scalar
        from .planner.optimizer import OptimizerContext, optimize
        ctx = OptimizerContext(evaluate_scalar=evaluate_scalar)
        logical = optimize(bound.plan, ctx, disabled=self.disabled_rules, trace=trace)
        physical = PhysicalPlanner(self.physical, evaluate=evaluate).plan(logical)
        return logical, physical, build_stages(physical)

    def run_query(self, bound, sql: str = "", metrics=None,
                  dag: StageDag | None = None) -> Result:
        from .executor.context import ExecContext
        from .executor.local_runner import run_dag
        record = self._start_record(sql)
        try:
            if dag is None:
                _, _, dag = self.plan_query(bound)
            ctx = ExecContext(memory_tables=self.catalog.memory_tables(), metrics=metrics)
            if self.batch_size:
                ctx.batch_size = self.batch_size
            if self.memory_budget:
                ctx.memory_budget = self.memory_budget
            ctx.spill_dir = self.spill_dir
            from .storage.parquet import ReadCounters
            ctx.options.setdefault("scan_counters", ReadCounters())
            self.current_ctx = ctx
            try:
                if self.runner is not None:
                    batches = self.runner(dag, ctx)
                else:
                    batches = run_dag(dag, ctx, on_progress=self.on_progress)
            finally:
                self.current_ctx = None
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

    def _start_record(self, sql: str) -> QueryRecord:
        with self._lock:
            rec = QueryRecord(self._next_query, sql)
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
            metrics = Metrics()
            t0 = time.perf_counter()
            result = self.run_query(bound, sql, metrics=metrics, dag=dag)
            total = time.perf_counter() - t0

            def annotate(node):
                m = metrics.get(node)
                return f"rows={m.rows} time={m.seconds * 1000:.1f}ms" if m else ""
            text = X.format_stages(dag, annotate)
            # a cluster runner adds each stage's tasks: attempt, worker, rows, bytes, time
            text.extend(getattr(metrics, "cluster_report", ()))
            text.append(f"Total: {result.rowcount} rows in {total * 1000:.1f}ms")
            sections.append(("analyzed_stages", "\n".join(text)))
        else:
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

