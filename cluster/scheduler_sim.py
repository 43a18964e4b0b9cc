"""How fast the coordinator schedules: ClusterScheduler with virtual workers.

No sockets, no threads, no worker processes: `workers` virtual workers with
`slots` slots each take tasks through `ClusterScheduler.assign` and report
them through `task_finished` on a simulated clock (a task runs `duration`
simulated seconds, +-50%; a worker with a free slot and nothing to do asks
again every `poll` seconds, as a worker's long poll does against the real
coordinator). Only the time spent inside the scheduler's calls
(assign, task_finished, and the submits) is measured, as wall time (and
this process's CPU time, which another busy process on the machine does
not inflate); the simulation's own bookkeeping is not.

The queries are real DAGs: the embedded Session plans
`SELECT k, sum(v) FROM t GROUP BY k` over two small Parquet files (a scan
stage writing a hash shuffle -> an aggregate stage), then the stages are
widened (`--scan-share` of a query's tasks scan, the rest aggregate; the
scan's splits cycle over the two files' splits, so locality sees real
paths). `--queries` such queries share the `--tasks` tasks and are
submitted at once (fair sharing interleaves them).

Printed: for each tenth of the tasks (in launch order), the scheduler's
seconds, calls and microseconds per task launched in that slice (wall and
CPU; flat means the cost per task does not grow with the tasks done or
waiting),
then the total tasks scheduled per second of scheduler time. It checks that
every task was launched and finished exactly once and every query completed.

    PYTHONPATH=... python -m quiver.cluster.scheduler_sim --workers 1000 --slots 4 --tasks 100000
    PYTHONPATH=... python -m quiver.cluster.scheduler_sim --workers 100,1000 --tasks 10000,100000

(--workers and --tasks may list several sizes, run pairwise; --budget stops
a run after that many seconds of scheduler time, reporting the slices done.)
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

from ..planner import physical as P
from ..planner.stages import StageDag
from ..planner.tree import transform_up
from .cluster_scheduler import ClusterScheduler


def plan_dag(data_dir: str):
    """A real two-stage DAG (scan -> hash shuffle -> aggregate) over two
    small Parquet files written under `data_dir`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..parser import bind
    from ..planner.physical_planner import PhysicalOptions
    from ..session import Session
    os.makedirs(os.path.join(data_dir, "t"), exist_ok=True)
    for i in range(2):
        pq.write_table(pa.table({"k": list(range(i * 50, i * 50 + 50)), "v": [1] * 50}),
                       os.path.join(data_dir, "t", f"f{i}.parquet"))
    s = Session(physical=PhysicalOptions(target_partitions=2, shuffle_partitions=3))
    s.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data_dir}/t'")
    [st] = bind("SELECT k, sum(v) FROM t GROUP BY k", s.catalog)
    _, _, dag = s.plan_query(st.query)
    return dag


def widen(dag: StageDag, tasks: int, scan_share: float) -> StageDag:
    """The same DAG with `tasks` tasks: the scan stage gets scan_share of
    them (its splits cycled to that many partitions), the aggregate the
    rest (the shuffle's partition count with it)."""
    scan, agg = dag.stages
    n_scan = max(1, int(tasks * scan_share))
    n_agg = max(1, tasks - n_scan)

    def grow(node):
        if isinstance(node, P.ParquetScanExec):
            splits = tuple(node.splits[i % len(node.splits)] for i in range(n_scan))
            return dataclasses.replace(node, splits=splits)
        if isinstance(node, P.ShuffleWriteExec):
            return dataclasses.replace(node, partitioning=dataclasses.replace(
                node.partitioning, count=n_agg))
        return node
    scan_root, _ = transform_up(scan.root, grow)
    return StageDag((dataclasses.replace(scan, root=scan_root, tasks=n_scan),
                     dataclasses.replace(agg, tasks=n_agg)))


@dataclass
class Result:
    workers: int
    slots: int
    tasks: int
    queries: int
    launched: int = 0
    finished: int = 0
    sched_seconds: float = 0.0                     # wall time inside the scheduler
    cpu_seconds: float = 0.0                       # this process's CPU time in there
    calls: int = 0
    sim_seconds: float = 0.0
    slices: list = field(default_factory=list)     # (tasks, seconds, calls, cpu s) per slice
    complete: bool = False
    launches: Counter = field(default_factory=Counter)   # (query, stage, partition) -> n
    finishes: Counter = field(default_factory=Counter)
    queries_done: int = 0
    exactly_once: bool | None = None     # every task launched and finished once (None: unchecked)


def simulate(dag: StageDag, workers: int, slots: int, tasks: int, queries: int = 4,
             duration: float = 1.0, poll: float = 0.1, slices: int = 10, seed: int = 1,
             budget: float = float("inf"), check: bool = True) -> Result:
    rng = random.Random(seed)
    clock, cpu = time.perf_counter, time.process_time
    res = Result(workers, slots, tasks, queries)
    cs = ClusterScheduler()
    for i in range(workers):
        cs.add_worker(f"w{i}", f"grpc+tcp://10.0.{i // 250}.{i % 250}:9000", slots, now=0.0)
    per_query = [tasks // queries + (q < tasks % queries) for q in range(queries)]
    dags = [widen(dag, n, 0.8) for n in per_query]
    total = sum(s.tasks for d in dags for s in d.stages)
    res.tasks = total
    t0 = clock()
    jobs = [cs.submit(f"q{q}", d, 0.0) for q, d in enumerate(dags)]
    res.sched_seconds += clock() - t0
    busy = dict.fromkeys(cs.workers, 0)
    polling: set[str] = set()
    events: list = []
    seq = 0
    for i, w in enumerate(cs.workers):
        heapq.heappush(events, (i * 1e-6, seq, "poll", w, None))
        seq += 1
        polling.add(w)
    step = max(1, total // slices)
    mark = (0.0, 0, 0.0)                      # seconds, calls, cpu seconds at the slice's start
    now = 0.0

    def ask(w: str, now: float) -> None:
        nonlocal seq
        free = slots - busy[w]
        if free <= 0:
            return
        t, c = clock(), cpu()
        launches = cs.assign(w, free, now)
        res.sched_seconds += clock() - t
        res.cpu_seconds += cpu() - c
        res.calls += 1
        for launch in launches:
            busy[w] += 1
            res.launched += 1
            if check:
                res.launches[(launch.query_id, launch.task.stage, launch.task.partition)] += 1
            end = now + duration * (0.5 + rng.random())
            heapq.heappush(events, (end, seq, "finish", w, launch))
            seq += 1
            if res.launched % step == 0:
                end_slice()
        if not launches and w not in polling and res.finished < total:
            heapq.heappush(events, (now + poll, seq, "poll", w, None))
            seq += 1
            polling.add(w)

    def end_slice() -> None:
        nonlocal mark
        res.slices.append((step, res.sched_seconds - mark[0], res.calls - mark[1],
                           res.cpu_seconds - mark[2]))
        mark = (res.sched_seconds, res.calls, res.cpu_seconds)

    while events and res.sched_seconds < budget:
        now, _, kind, w, launch = heapq.heappop(events)
        if kind == "poll":
            polling.discard(w)
            ask(w, now)
            continue
        t, c = clock(), cpu()
        cs.task_finished(w, launch.query_id, launch.task, True, now)
        res.sched_seconds += clock() - t
        res.cpu_seconds += cpu() - c
        res.calls += 1
        busy[w] -= 1
        res.finished += 1
        if check:
            res.finishes[(launch.query_id, launch.task.stage, launch.task.partition)] += 1
        ask(w, now)
    if res.launched % step:                           # the last, partial slice
        res.slices.append((res.launched % step, res.sched_seconds - mark[0],
                           res.calls - mark[1], res.cpu_seconds - mark[2]))
    res.sim_seconds = now
    res.queries_done = sum(1 for j in jobs if j.done and j.error is None)
    res.complete = res.finished == total and res.queries_done == queries
    if check:
        res.exactly_once = (len(res.launches) == total and res.launches == res.finishes
                            and set(res.launches.values()) == {1})
    return res


def report(res: Result, out=sys.stdout) -> None:
    print(f"{res.workers} workers x {res.slots} slots, {res.tasks} tasks in {res.queries} "
          f"queries: launched {res.launched}, finished {res.finished}, "
          f"queries done {res.queries_done}/{res.queries}, simulated {res.sim_seconds:.1f} s"
          + ("" if res.complete else "  (INCOMPLETE: stopped at the budget)")
          + ("" if res.exactly_once is None else
             f"; each task launched and finished exactly once: {res.exactly_once}"), file=out)
    print("  slice   tasks   sched s    calls   us/task   cpu us/task", file=out)
    for i, (n, secs, calls, cpu) in enumerate(res.slices):
        print(f"  {i + 1:5d} {n:7d} {secs:9.3f} {calls:8d} {1e6 * secs / n:9.1f} "
              f"{1e6 * cpu / n:13.1f}", file=out)
    rate = res.launched / res.sched_seconds if res.sched_seconds else float("inf")
    print(f"  total: {res.sched_seconds:.2f} s in the scheduler, {res.calls} calls, "
          f"{rate:,.0f} tasks scheduled per second "
          f"({1e6 / rate if rate else 0:.1f} us per task, launch and finish; "
          f"{res.cpu_seconds:.2f} s of CPU)", file=out)
    out.flush()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m quiver.cluster.scheduler_sim",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default="1000", help="workers (comma list: several runs)")
    ap.add_argument("--tasks", default="100000", help="tasks (comma list, paired with --workers)")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--queries", type=int, default=4)
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds per task")
    ap.add_argument("--budget", type=float, default=float("inf"),
                    help="stop a run after this many seconds inside the scheduler")
    ap.add_argument("--profile", action="store_true", help="cProfile the run (top 25)")
    a = ap.parse_args(argv)
    workers = [int(x) for x in a.workers.split(",")]
    tasks = [int(x) for x in a.tasks.split(",")]
    if len(workers) != len(tasks):
        ap.error("--workers and --tasks list the same number of sizes")
    with tempfile.TemporaryDirectory() as d:
        dag = plan_dag(d)
        for nw, nt in zip(workers, tasks):
            if a.profile:
                import cProfile
                import pstats
                prof = cProfile.Profile()
                res = prof.runcall(simulate, dag, nw, a.slots, nt, a.queries, a.duration,
                                   budget=a.budget, check=False)
                report(res)
                pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            else:
                report(simulate(dag, nw, a.slots, nt, a.queries, a.duration, budget=a.budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
