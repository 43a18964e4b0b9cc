"""Each engine of a TPC-H comparison in its own process.

Owns `ProcessDriver`, which starts one child Python process per engine
(`python -m quiver.tpch.peers --engine duckdb --data DIR ...`), and the
child's loop (`main`). The parent sends one JSON line per query on the
child's stdin; the child registers the tables once, runs the query's
warm-up and timed runs, checks the answer when asked, measures its own
process tree's peak RSS (memwatch.PeakRSS) and answers with one JSON line on
stdout, prefixed by `@@tpch ` so that anything else an engine prints is
ignored. A child that dies (say, killed for memory) is reported as that
query's error, and a fresh one starts for the next query. Every wait for a
child is bounded (`query_timeout` seconds per execution of a query, the
warm-ups included): a child that does not answer in time (DataFusion under
a 2GB limit sat idle inside one SF10 query) is killed and the query
reported as timed out.

So the engines run in the same session, query by query in turn, on the same
files, and one engine's memory never counts against another's.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .check import CheckResult
from .report import EngineRun

PREFIX = "@@tpch "
# seconds one execution of one query may take before the child is stopped
DEFAULT_QUERY_TIMEOUT = 3600.0


def _send(obj: dict) -> None:
    sys.stdout.write(PREFIX + json.dumps(obj) + "\n")
    sys.stdout.flush()


class ProcessDriver:
    """One engine in a child process; `measure()` runs one query there."""

    def __init__(self, name: str, data_dir: str, target: str | None = None,
                 memory_limit: str | None = None, answers_root: Path | None = None,
                 query_timeout: float = DEFAULT_QUERY_TIMEOUT):
        self.name = name
        self.query_timeout = query_timeout
        self.args = [sys.executable, "-m", "quiver.tpch.peers", "--engine", name,
                     "--data", str(data_dir)]
        if target:
            self.args += ["--connect", target]
        if memory_limit:
            self.args += ["--memory-limit", str(memory_limit)]
        if answers_root is not None:
            self.args += ["--answers", str(answers_root)]
        self.proc: subprocess.Popen | None = None
        self._buf = b""
        self._log = tempfile.TemporaryFile(mode="w+")

    def start(self) -> None:
        """Start the child and wait until its tables are registered."""
        self._log.seek(0)
        self._log.truncate()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, bufsize=0)
        self._buf = b""
        reply = self._reply(self.query_timeout)
        if "error" in reply:
            self.close()
            raise RuntimeError(f"{self.name}: {reply['error']}")

    def _reply(self, seconds: float) -> dict:
        """The child's next answer, waiting at most `seconds`."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + seconds
        while True:
            line = self._line(deadline)
            if line is None:
                break
            if line.startswith(PREFIX):
                return json.loads(line[len(PREFIX):])
        if self.proc.poll() is None:          # no answer in time: stop it
            self.proc.kill()
            self.proc.wait(30)
            self.proc = None
            return {"error": f"no answer from {self.name} within {seconds:g} s "
                             f"(--query-timeout): its process was stopped"}
        status = self.proc.wait()
        self._log.seek(0)
        tail = " ".join(self._log.read().strip().splitlines()[-3:])
        self.proc = None
        return {"error": f"the {self.name} process exited with status {status}"
                         + (f": {tail}" if tail else "")}

    def _line(self, deadline: float) -> str | None:
        """The child's next stdout line; None at its end or at the deadline."""
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def measure(self, n: int, runs: int, warmup: int, sf: float | None) -> EngineRun:
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(
                {"query": n, "runs": runs, "warmup": warmup, "sf": sf}) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass                              # _reply reports how it ended
        return _engine_run(self._reply(self.query_timeout * max(1, runs + warmup)))

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                proc.stdin.close()
                proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(10)


def _engine_run(reply: dict) -> EngineRun:
    check = reply.get("check")
    return EngineRun(times=reply.get("times") or [], error=reply.get("error"),
                     cpu_times=reply.get("cpu_times") or [],
                     peak_rss=reply.get("peak_rss"), peak_process=reply.get("peak_process"),
                     rows=reply.get("rows"),
                     check=None if check is None else CheckResult(check["ok"], check["message"]))


# --- the child --------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    from .datagen import table_dirs
    from .engines import engine_factory
    from .in_process import InProcessDriver, RunnerError
    p = argparse.ArgumentParser(prog="python -m quiver.tpch.peers")
    p.add_argument("--engine", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--connect", default=None)
    p.add_argument("--memory-limit", default=None)
    p.add_argument("--answers", default=None)
    args = p.parse_args(argv)
    os.environ.pop("QUIVER_CONNECT", None) if args.connect is None else None
    try:
        driver = InProcessDriver(
            args.engine, engine_factory(args.engine, args.connect, args.memory_limit),
            table_dirs(args.data), Path(args.answers) if args.answers else None)
    except (RunnerError, ValueError) as exc:
        _send({"error": str(exc)})
        return 2
    _send({"ready": True})
    try:
        for line in sys.stdin:
            req = json.loads(line)
            run = driver.measure(req["query"], req["runs"], req["warmup"], req.get("sf"))
            _send(run.to_dict())
    finally:
        driver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
