"""EXPLAIN text for logical plans, physical plans and stage DAGs.

    EXPLAIN SELECT ...           logical plan, physical plan, stages
    EXPLAIN ANALYZE SELECT ...   the stages again with rows and time per
                                 operator (from executor Metrics)
"""

from __future__ import annotations

from typing import Any

from .. import datatypes as dt
from . import expr as E
from . import logical as L
from . import physical as P
from .stages import StageDag
from .tree import children


def format_expr(e: Any) -> str:
    if isinstance(e, E.Column):
        return e.name
    if isinstance(e, E.Literal):
        if e.value is None:
            return "NULL"
        if isinstance(e.value, str):
            return "'" + e.value.replace("'", "''") + "'"
        if isinstance(e.value, tuple) and e.dtype == dt.INTERVAL:
            m, d, n = e.value
            return f"INTERVAL '{m} months {d} days {n} ns'"
        return str(e.value)
    if isinstance(e, E.Call):
        ops = {"add": "+", "sub": "-", "mul": "*", "div": "/", "intdiv": "//", "mod": "%",
               "eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
               "and": "AND", "or": "OR", "concat": "||"}
        if e.fn in ops and len(e.args) == 2:
            return f"({format_expr(e.args[0])} {ops[e.fn]} {format_expr(e.args[1])})"
        if e.fn == "not":
            return f"NOT {format_expr(e.args[0])}"
        return f"{e.fn}({', '.join(format_expr(a) for a in e.args)})"
    if isinstance(e, E.PythonCall):
        return f"{e.name}({', '.join(format_expr(a) for a in e.args)})"
    if isinstance(e, E.Cast):
        return f"{'TRY_CAST' if e.safe else 'CAST'}({format_expr(e.arg)} AS {dt.sql_name(e.dtype)})"
    if isinstance(e, E.Case):
        parts = " ".join(f"WHEN {format_expr(c)} THEN {format_expr(r)}"
                         for c, r in zip(e.conditions, e.results))
        tail = f" ELSE {format_expr(e.default)}" if e.default is not None else ""
        return f"CASE {parts}{tail} END"
    if isinstance(e, E.InList):
        vals = ", ".join(format_expr(v) for v in e.values)
        return f"{format_expr(e.arg)} {'NOT ' if e.negated else ''}IN ({vals})"
    if isinstance(e, E.AggCall):
        inner = "*" if e.fn == "count_star" else ", ".join(format_expr(a) for a in e.args)
        name = "count" if e.fn == "count_star" else e.fn
        text = f"{name}({'DISTINCT ' if e.distinct else ''}{inner})"
        return text + (f" FILTER (WHERE {format_expr(e.filter)})" if e.filter is not None else "")
    if isinstance(e, E.WindowCall):
        over = []
        if e.partition_by:
            over.append("PARTITION BY " + ", ".join(format_expr(p) for p in e.partition_by))
        if e.order_by:
            over.append("ORDER BY " + ", ".join(format_sort_key(k) for k in e.order_by))
        return f"{e.fn}({', '.join(format_expr(a) for a in e.args)}) OVER ({' '.join(over)})"
    if isinstance(e, E.SortKey):
        return format_sort_key(e)
    if isinstance(e, E.ScalarSubquery):
        return "(subquery)"
    if isinstance(e, E.Exists):
        return ("NOT " if e.negated else "") + "EXISTS (subquery)"
    if isinstance(e, E.InSubquery):
        return f"{format_expr(e.arg)} {'NOT ' if e.negated else ''}IN (subquery)"
    return repr(e)


def format_sort_key(k: E.SortKey) -> str:
    return (f"{format_expr(k.expr)} {'ASC' if k.ascending else 'DESC'}"
            f"{' NULLS FIRST' if k.nulls_first else ''}")


def _exprs(items) -> str:
    return ", ".join(format_expr(e) for e in items)


def describe_node(node: Any) -> str:
    """One line for a plan node (logical or physical)."""
    name = type(node).__name__
    if isinstance(node, (L.Scan,)):
        flt = f" filters=[{_exprs(node.filters)}]" if node.filters else ""
        return f"Scan: {node.table} [{', '.join(f.name for f in node.fields)}]{flt}"
    if isinstance(node, P.ParquetScanExec):
        flt = f" filters=[{_exprs(node.filters)}]" if node.filters else ""
        files = sum(len(g) for g in node.splits)
        fmt = f" format={node.file_format}" if node.file_format != "parquet" else ""
        fetch = f" fetch={node.fetch}" if node.fetch is not None else ""
        return (f"ParquetScanExec: {node.table} [{', '.join(f.name for f in node.fields)}] "
                f"partitions={len(node.splits)} splits={files}{fmt}{flt}{fetch}")
    if isinstance(node, P.MemoryScanExec):
        return f"MemoryScanExec: {node.table} partitions={node.num_partitions}"
    if isinstance(node, (L.Filter, P.FilterExec)):
        return f"{name}: {format_expr(node.predicate)}"
    if isinstance(node, (L.Project, P.ProjectExec)):
        return f"{name}: " + ", ".join(
            f"{format_expr(e)} AS {n}" if not (isinstance(e, E.Column) and e.name == n) else n
            for e, n in zip(node.exprs, node.names))
    if isinstance(node, (L.Aggregate, P.HashAggregateExec)):
        mode = f"({node.mode}) " if isinstance(node, P.HashAggregateExec) else ""
        return (f"{name}: {mode}groups=[{_exprs(node.group_exprs)}] "
                f"aggs=[{_exprs(node.aggs)}]")
    if isinstance(node, L.Join):
        cond = format_expr(node.condition) if node.condition is not None else "true"
        return f"Join: {node.kind} on {cond}"
    if isinstance(node, P.HashJoinExec):
        keys = ", ".join(f"{format_expr(a)} = {format_expr(b)}"
                         for a, b in zip(node.left_keys, node.right_keys))
        cond = f" filter={format_expr(node.condition)}" if node.condition is not None else ""
        return f"HashJoinExec: {node.kind} {node.mode} on [{keys}]{cond}"
    if isinstance(node, P.RuntimeFilterExec):
        keys = ", ".join(f"{format_expr(a)} = {format_expr(b)}"
                         for a, b in zip(node.left_keys, node.right_keys))
        return f"RuntimeFilterExec: keys in build [{keys}] up to {node.max_build_rows} rows"
    if isinstance(node, (L.Sort, P.SortExec)):
        fetch = f" fetch={node.fetch}" if getattr(node, "fetch", None) is not None else ""
        return f"{name}: {', '.join(format_sort_key(k) for k in node.keys)}{fetch}"
    if isinstance(node, (L.Limit, P.LimitExec)):
        return f"{name}: limit={node.limit} offset={node.offset}"
    if isinstance(node, (L.Window, P.WindowExec)):
        return f"{name}: {_exprs(node.exprs)}"
    if isinstance(node, (L.Unnest, P.UnnestExec)):
        return f"{name}: unnest({format_expr(node.expr)}) AS {node.name}"
    if isinstance(node, P.ExchangeExec):
        return f"ExchangeExec: {format_partitioning(node.partitioning, node.broadcast)}"
    if isinstance(node, P.ShuffleWriteExec):
        return (f"ShuffleWriteExec: stage {node.stage_id} "
                f"{format_partitioning(node.partitioning, False)}")
    if isinstance(node, P.ShuffleReadExec):
        return (f"ShuffleReadExec: stage {node.stage_id} mode={node.mode} "
                f"partitions={node.num_partitions}")
    if isinstance(node, L.Union):
        return f"Union: {'all' if node.all else 'distinct'}"
    if isinstance(node, L.SetOp):
        return f"SetOp: {node.kind}{' all' if node.all else ''}"
    return name


def format_partitioning(part: Any, broadcast: bool) -> str:
    if isinstance(part, P.HashPartitioning):
        return f"hash([{_exprs(part.exprs)}], {part.count})"
    return "broadcast" if broadcast else "single"


def format_tree(node: Any, annotate=None, indent: int = 0) -> list[str]:
    line = "  " * indent + describe_node(node)
    if annotate is not None:
        extra = annotate(node)
        if extra:
            line += "  " + extra
    out = [line]
    for k in children(node):
        out.extend(format_tree(k, annotate, indent + 1))
    return out


def format_stages(dag: StageDag, annotate=None, stage_notes=None) -> list[str]:
    out = []
    for s in dag.stages:
        head = f"Stage {s.id}{' (final)' if s.is_final else ''}: {s.tasks} task(s)"
        if s.inputs:
            head += f", reads stage(s) {', '.join(map(str, s.inputs))}"
        if stage_notes is not None:
            note = stage_notes(s)
            if note:
                head += f", {note}"
        out.append(head)
        out.extend(format_tree(s.root, annotate, 1))
    return out


def format_stage_dag(dag: StageDag, stats=None) -> list[str]:
    """The stage DAG as a tree rooted at the final stage, each stage one line:

        Stage 2 (final): 1 task · rows 3 · 0.3 KB · 12.1 ms
        └── Stage 1: 3 tasks → hash([l_returnflag#9], 3) · rows 9 · 0.5 KB · 40.2 ms
            └── Stage 0: 2 tasks → single · rows 150,000 · ...

    `stats(stage)` (EXPLAIN ANALYZE) gives the measured part of the line. A
    stage read by two consumers is printed in full under the first and named
    again ("see above") under the second."""
    by_id = {s.id: s for s in dag.stages}
    shown: set[int] = set()
    out: list[str] = []

    def line(s) -> str:
        text = f"Stage {s.id}{' (final)' if s.is_final else ''}: {_tasks(s.tasks)}"
        if isinstance(s.root, P.ShuffleWriteExec):
            text += f" → {format_partitioning(s.root.partitioning, False)}"
        extra = stats(s) if stats is not None else ""
        return text + (f" · {extra}" if extra else "")

    def visit(s, prefix: str, branch: str, rest: str) -> None:
        if s.id in shown:
            out.append(f"{prefix}{branch}Stage {s.id} (see above)")
            return
        shown.add(s.id)
        out.append(prefix + branch + line(s))
        kids = [by_id[i] for i in s.inputs if i in by_id]
        for k, child in enumerate(kids):
            last = k == len(kids) - 1
            visit(child, prefix + rest, "└── " if last else "├── ", "    " if last else "│   ")

    visit(dag.final, "", "", "")
    return out


def _tasks(n: int) -> str:
    return f"{n} task" + ("" if n == 1 else "s")


def format_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
