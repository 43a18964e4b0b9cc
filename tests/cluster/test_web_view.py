"""The live web view, in headless Chromium: while a three-stage query runs
on `quiver local --web-port`, the page (token in its URL) draws the query's
stage DAG with per-stage progress and the workers; without the token the
server answers 401. The screenshot is kept in the test's temp folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

import quiver
from quiver.cluster.lifeline import child_env

TOKEN = "web-view-token"
SLOW = ("SELECT o_orderstatus, count(*) AS n FROM orders a JOIN orders b USING (o_orderstatus) "
        "WHERE a.o_totalprice + b.o_totalprice > 0 GROUP BY 1")


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (CI installs Debian's chromium)")
    return path


def _browser(chromium: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--window-size=1100,800", "--virtual-time-budget=4000", *args],
                          capture_output=True, text=True, timeout=90)


def _state(url: str) -> dict:
    req = urllib.request.Request(url + "api/state", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def local_with_web(tmp_path):
    env = dict(os.environ)
    env.pop("QUIVER_CONNECT", None)
    # a lifeline: the cluster ends with this test process, even a killed one
    proc = subprocess.Popen([sys.executable, "-m", "quiver.cli", "local", "--workers", "2",
                             "--slots", "2", "--web-port", "0", "--token", TOKEN],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            stdin=subprocess.PIPE, env=child_env(env), cwd=tmp_path,
                            start_new_session=True)
    found: dict[str, str] = {}

    def read():
        for line in proc.stdout:
            if "quiver://" in line:
                found["address"] = line.split("quiver://")[1].split()[0]
            if "web view on" in line:
                found["web"] = line.split()[-1]
    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 90
    while "web" not in found or "address" not in found:
        assert proc.poll() is None and time.monotonic() < deadline, "local cluster did not start"
        time.sleep(0.05)
    yield found
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def test_page_draws_a_running_querys_dag(local_with_web, tpch_sf001, tmp_path):
    chromium = _chromium()
    web = local_with_web["web"]
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(web + "api/state", timeout=10)
    con = quiver.connect("quiver://" + local_with_web["address"], token=TOKEN,
                         join_strategy="partitioned")
    con.execute(f"CREATE EXTERNAL TABLE orders STORED AS PARQUET "
                f"LOCATION '{os.path.join(tpch_sf001, 'orders')}'")
    result: dict = {}
    runner = threading.Thread(target=lambda: result.setdefault("rows", con.execute(SLOW).fetchall()))
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while True:                     # until the query runs with its stages known
            queries = _state(web)["queries"]
            running = [q for q in queries if q["state"] == "running" and q["dags"]]
            if running or "rows" in result:
                break
            assert time.monotonic() < deadline, queries
            time.sleep(0.1)
        dom = _browser(chromium, "--dump-dom", web + f"?token={TOKEN}").stdout
        shot = tmp_path / "web-view.png"
        _browser(chromium, f"--screenshot={shot}", web + f"?token={TOKEN}")
    finally:
        runner.join(120)
        con.close()
    assert result["rows"], "the query did not finish"
    stages = re.findall(r'<g class="stage (\w+)" data-stage="(\d+)" data-done="(\d+)" '
                        r'data-tasks="(\d+)"', dom)
    assert len(stages) == 3, dom[-3000:]
    assert {s[1] for s in stages} == {"0", "1", "2"}
    assert "Stage 2 (final)" in dom and "running" in dom
    assert dom.count('class="edge"') == 2            # 0->1 (the self-join reads it twice), 1->2
    assert "w1" in dom and "w2" in dom              # the workers table
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    if os.environ.get("QUIVER_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["QUIVER_KEEP_SCREENSHOT"])
