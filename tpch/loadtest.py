"""A load test: many clients sharing one cluster, every answer checked.

    python -m quiver.tpch.loadtest --data tpch-sf0.1 [--clients 16] [--queries 25]
        [--workers 2] [--seed 1] [--deadline 900] [--connect quiver://HOST:PORT]

Starts `local[--workers]` (unless --connect names a running coordinator),
registers the TPC-H tables once, then runs --clients threads, each with its
own connection, each running --queries TPC-H queries drawn from a seeded mix,
checking every answer against the committed answers. Bounded in count and
in time (--deadline seconds: no new query starts after it; loopback only).
Prints p50/p95/max latency, throughput and right answers out of total, and
exits 1 if any answer was wrong or lost.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time

from .check import check_query
from .datagen import table_dirs
from .querylib import ALL_QUERIES, query_text
from .scale import detect_scale_factor


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run_load(data: str, clients: int, per_client: int, target: str | None, workers: int,
             seed: int, deadline_s: float) -> dict:
    import quiver
    sf = detect_scale_factor(data)
    owner = None
    if target is None:
        owner = quiver.connect(f"local[{workers}]")
        target = f"quiver://{owner.session.address}"
    try:
        admin = quiver.connect(target)
        for name, location in table_dirs(data).items():
            admin.execute(f"CREATE EXTERNAL TABLE IF NOT EXISTS {name} STORED AS PARQUET "
                          f"LOCATION '{os.path.abspath(location)}'")
        admin.close()
        results: list[tuple[int, int, float, str]] = []    # (client, query, seconds, outcome)
        lock = threading.Lock()
        stop_at = time.monotonic() + deadline_s
        start = time.monotonic()

        def client(i: int) -> None:
            rng = random.Random(seed * 1000 + i)
            mix = [rng.choice(ALL_QUERIES) for _ in range(per_client)]
            con = quiver.connect(target)
            try:
                for n in mix:
                    if time.monotonic() > stop_at:
                        outcome, secs = "not started (deadline)", 0.0
                    else:
                        t0 = time.perf_counter()
                        try:
                            cur = con.execute(query_text(n))
                            names = [d[0] for d in cur.description]
                            check = check_query(sf, n, names, cur.fetchall())
                            outcome = "right" if check.ok else f"WRONG: {check}"
                        except Exception as exc:  # noqa: BLE001 - counted and reported
                            outcome = f"ERROR: {type(exc).__name__}: {exc}"
                        secs = time.perf_counter() - t0
                    with lock:
                        results.append((i, n, secs, outcome))
            finally:
                con.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True)
                   for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(1.0, stop_at - time.monotonic() + 600))
        wall = time.monotonic() - start
    finally:
        if owner is not None:
            owner.close()
    done = [r for r in results if not r[3].startswith("not started")]
    latencies = [r[2] for r in done]
    return {
        "sf": sf, "clients": clients, "per_client": per_client, "total": clients * per_client,
        "finished": len(done), "right": sum(1 for r in done if r[3] == "right"),
        "problems": [r for r in results if r[3] != "right"],
        "lost": clients * per_client - len(results),
        "wall": wall, "p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95),
        "max": max(latencies) if latencies else float("nan"),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "throughput": len(done) / wall if wall > 0 else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--data", required=True, help="TPC-H Parquet folder (quiver tpch gen)")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients")
    ap.add_argument("--queries", type=int, default=25, help="queries per client")
    ap.add_argument("--workers", type=int, default=2, help="workers of the local cluster")
    ap.add_argument("--connect", default=None, help="a running coordinator instead")
    ap.add_argument("--seed", type=int, default=1, help="seed of the query mix")
    ap.add_argument("--deadline", type=float, default=900.0,
                    help="seconds after which no new query starts")
    args = ap.parse_args(argv)
    r = run_load(args.data, args.clients, args.queries, args.connect, args.workers,
                 args.seed, args.deadline)
    print(f"TPC-H SF {r['sf']:g}: {r['clients']} clients x {r['per_client']} queries "
          f"= {r['total']}")
    print(f"finished {r['finished']}, right {r['right']}/{r['total']}, lost {r['lost']}")
    print(f"latency p50 {r['p50']:.2f}s  p95 {r['p95']:.2f}s  max {r['max']:.2f}s  "
          f"mean {r['mean']:.2f}s")
    print(f"throughput {r['throughput']:.2f} queries/s over {r['wall']:.1f}s")
    for client, n, secs, outcome in r["problems"][:20]:
        print(f"  client {client} Q{n:02d} ({secs:.1f}s): {outcome[:200]}")
    return 0 if r["right"] == r["total"] and not r["lost"] else 1


if __name__ == "__main__":
    sys.exit(main())
