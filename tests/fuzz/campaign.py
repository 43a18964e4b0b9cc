"""A long differential-fuzzing campaign against DuckDB, in chunks (not part
of the default test run, which keeps a small seeded sample in
test_differential.py).

    python tests/fuzz/campaign.py --queries 20000 --chunk 500 --seed 1000 --out /tmp/fuzz-campaign

Chunk i runs `--chunk` queries from seed `--seed + i` (test_differential's
generator and matrix rotation) and appends one JSON line of counts to
OUT/summary.jsonl and each failing query to OUT/failures.txt, so a run can be
watched, stopped and resumed (`--resume` skips chunks already summarized).
A MemoryLimitExceeded in the 128KB tiny_memory configuration is counted
apart too ('memory_limit'). A Quiver DataError on a query DuckDB answered is counted apart
('data_error'): DuckDB may skip evaluating a failing expression (it short-
circuits), so each one needs a look before it is called a bug.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "sqllogic"))

import test_differential as td  # noqa: E402
from testdata import make_test_data  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    summary = os.path.join(args.out, "summary.jsonl")
    done = set()
    if args.resume and os.path.exists(summary):
        done = {json.loads(line)["seed"] for line in open(summary)}
    scratch = tempfile.mkdtemp(prefix="quiver-fuzz-campaign-")
    atexit.register(shutil.rmtree, scratch, True)      # the test data goes when it ends
    data = make_test_data(scratch)
    chunks = (args.queries + args.chunk - 1) // args.chunk
    totals = {"ok": 0, "skip": 0, "fail": 0, "data_error": 0, "memory_limit": 0}
    for i in range(chunks):
        seed = args.seed + i
        if seed in done:
            continue
        t0 = time.time()
        counts, failures = td.run_many(data, args.chunk, seed)
        data_errors = [f for f in failures if "] DataError:" in f.split("\n")[0]]
        counts["data_error"] = len(data_errors)
        counts["fail"] -= len(data_errors)
        # MemoryLimitExceeded under the 128KB tiny_memory configuration: a
        # window with no PARTITION BY cannot be split to fit; any other
        # configuration running out of memory stays a failure
        tight = [f for f in failures
                 if f.startswith("#") and "[tiny_memory] MemoryLimitExceeded:" in f.split("\n")[0]]
        counts["memory_limit"] = len(tight)
        counts["fail"] -= len(tight)
        for k in totals:
            totals[k] += counts[k]
        with open(os.path.join(args.out, "failures.txt"), "a") as f:
            for msg in failures:
                f.write(f"seed {seed} {msg}\n\n")
        with open(summary, "a") as f:
            f.write(json.dumps({"seed": seed, "n": args.chunk, **counts,
                                "seconds": round(time.time() - t0, 1)}) + "\n")
        print(f"chunk seed={seed}: {counts}  totals={totals}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
