"""Every wait for an engine's child process is bounded: a child that does
not answer in time is stopped and the query reported as timed out."""

import sys
import time

import pytest

from quiver.tpch.peers import PREFIX, ProcessDriver

CHILD = """
import json, sys, time
def send(obj):
    sys.stdout.write("other output first\\n")
    sys.stdout.write({prefix!r} + json.dumps(obj) + "\\n")
    sys.stdout.flush()
send({{"ready": True}})
for line in sys.stdin:
    q = json.loads(line)["query"]
    if q == 13:
        time.sleep(120)                 # hangs
    send({{"times": [0.25], "rows": q}})
"""


@pytest.fixture
def driver(tmp_path):
    """driver(timeout) -> a ProcessDriver running the fake child; closed
    (its process ended) after the test."""
    made = []

    def make(timeout):
        script = tmp_path / "child.py"
        script.write_text(CHILD.format(prefix=PREFIX))
        d = ProcessDriver("fake", str(tmp_path), query_timeout=timeout)
        d.args = [sys.executable, str(script)]
        made.append(d)
        return d
    yield make
    for d in made:
        d.close()


def test_answers_are_read_past_other_output(driver):
    d = driver(30)
    run = d.measure(3, 1, 0, None)
    assert run.error is None and run.times == [0.25] and run.rows == 3
    assert d.measure(4, 2, 1, None).rows == 4


def test_a_child_that_does_not_answer_is_stopped(driver):
    d = driver(0.5)
    t0 = time.monotonic()
    run = d.measure(13, 1, 0, None)
    assert time.monotonic() - t0 < 20
    assert "no answer from fake within 0.5 s" in run.error
    assert d.proc is None                       # killed, not left behind
    assert d.measure(5, 1, 0, None).rows == 5   # a fresh child for the next query


def test_the_timeout_is_per_execution(driver):
    # 3 executions (2 runs + 1 warm-up) of a query get 3 times the timeout
    d = driver(0.2)
    t0 = time.monotonic()
    run = d.measure(13, 2, 1, None)
    assert 0.5 <= time.monotonic() - t0 < 20
    assert "within 0.6 s" in run.error


def test_cli_passes_the_timeout(monkeypatch, tmp_path):
    from quiver.tpch import commands, runner
    seen = {}

    def fake_run(*a, **k):
        seen.update(k)
        raise runner.RunnerError("stop here")
    monkeypatch.setattr(runner, "run", fake_run)
    import argparse
    parser = argparse.ArgumentParser(prog="quiver")
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["tpch", "run", "--data", str(tmp_path), "--query-timeout", "7"])
    assert commands.main_tpch(args) == 2
    assert seen.get("query_timeout") == 7.0
