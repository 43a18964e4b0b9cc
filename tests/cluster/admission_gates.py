"""A Python UDF that holds a query open until the test lets it go: the
admission tests register it by import name (`admission_gates:wait_gate`)
and put this folder on the workers' PYTHONPATH.

`wait_gate(path)` waits, for each row, until a file exists at `path` (at
most GATE_SECONDS, so a failed test never leaves a worker stuck), and
returns 1 per row."""

import os
import time

import pyarrow as pa

GATE_SECONDS = 120.0


def wait_gate(paths):
    deadline = time.monotonic() + GATE_SECONDS
    for path in paths.to_pylist():
        while path and not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
    return pa.array([1] * len(paths), pa.int64())
