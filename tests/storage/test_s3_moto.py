"""Tables on S3, against an S3 endpoint on loopback (moto in server mode,
started and stopped by the test), with credentials from the usual AWS
environment variables: Hive partition pruning reads no object of a pruned
partition, and row-group pruning fetches fewer bytes (counted from moto's
request recording), embedded and on local[2]."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver

s3fs = pytest.importorskip("s3fs")
BUCKET = "quiver-test"
ROWS_2023 = 1_200_000           # three row groups of 400,000 rows: about 10 MB


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    exe = shutil.which("moto_server")
    if exe is None:
        pytest.skip("moto[server] is not installed")
    port = _free_port()
    cwd = tmp_path_factory.mktemp("moto")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "moto did not start"
                time.sleep(0.1)
        mp = pytest.MonkeyPatch()
        mp.setenv("AWS_ACCESS_KEY_ID", "quiver-test-key")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "quiver-test-secret")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        _write_sales(endpoint)
        yield endpoint
        mp.undo()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _write_sales(endpoint: str) -> None:
    fs = s3fs.S3FileSystem(endpoint_url=endpoint)
    fs.mkdir(BUCKET)
    for year in (2020, 2021, 2022):
        table = pa.table({"amount": np.arange(1000, dtype=np.int64),
                          "note": pa.array([f"y{year}"] * 1000)})
        with fs.open(f"{BUCKET}/sales/year={year}/part-0.parquet", "wb") as f:
            pq.write_table(table, f)
    rng = np.random.default_rng(7)
    table = pa.table({"amount": np.arange(ROWS_2023, dtype=np.int64),
                      "note": pa.array(rng.integers(0, 10**9, ROWS_2023).astype(str))})
    with fs.open(f"{BUCKET}/sales/year=2023/part-0.parquet", "wb") as f:
        pq.write_table(table, f, row_group_size=ROWS_2023 // 3)


def _recorder(endpoint: str, action: str) -> bytes:
    req = urllib.request.Request(f"{endpoint}/moto-api/recorder/{action}",
                                 method="GET" if action == "download-recording" else "POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


def _requests(endpoint: str, run) -> list[dict]:
    """The S3 requests `run()` makes."""
    _recorder(endpoint, "reset-recording")
    _recorder(endpoint, "start-recording")
    try:
        run()
    finally:
        _recorder(endpoint, "stop-recording")
    lines = _recorder(endpoint, "download-recording").decode().splitlines()
    return [json.loads(x) for x in lines if x.strip()]


def _bytes_of(requests: list[dict], key_part: str) -> int:
    total = 0
    for r in requests:
        if r["method"] != "GET" or key_part not in r["url"]:
            continue
        rng = {k.lower(): v for k, v in r["headers"].items()}.get("range", "")
        if rng.startswith("bytes="):
            lo, _, hi = rng[len("bytes="):].partition("-")
            total += int(hi) - int(lo) + 1 if hi else 0
    return total


def _check(con, endpoint: str) -> None:
    con.execute(f"CREATE EXTERNAL TABLE sales STORED AS PARQUET LOCATION 's3://{BUCKET}/sales/' "
                f"OPTIONS ('endpoint_url' '{endpoint}')")
    total = con.execute("SELECT count(*), sum(amount) FROM sales").fetchall()
    assert total == [(3000 + ROWS_2023, 3 * 499500 + ROWS_2023 * (ROWS_2023 - 1) // 2)]

    got = {}
    reqs = _requests(endpoint, lambda: got.setdefault("rows", con.execute(
        "SELECT count(*) FROM sales WHERE year = 2023 AND amount < 1000").fetchall()))
    assert got["rows"] == [(1000,)]
    touched = {r["url"] for r in reqs if r["method"] in ("GET", "HEAD")}
    for year in (2020, 2021, 2022):
        assert not [u for u in touched if f"year={year}/" in u], "a pruned partition was read"
    pruned = _bytes_of(reqs, "year=2023/")

    reqs = _requests(endpoint, lambda: con.execute(
        "SELECT count(*) FROM sales WHERE year = 2023 AND length(note) > 0").fetchall())
    whole = _bytes_of(reqs, "year=2023/")
    assert 0 < pruned < whole / 2, (pruned, whole)   # one row group of three, not all


def test_s3_embedded(s3):
    with quiver.connect() as con:
        _check(con, s3)


def test_s3_on_local_cluster(s3):
    with quiver.connect("local[2]", worker_slots=1) as con:
        _check(con, s3)
