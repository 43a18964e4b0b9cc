"""The Arrow Flight SQL endpoint, driven by the real ADBC Flight SQL driver:
`quiver serve` (an embedded engine) and `quiver local --flight-sql-port`
(a coordinator and two workers), TPC-H Q1 and Q18 checked against the
shipped answers, prepared statements with parameters, metadata, tokens,
errors and cancel. Every process is ended by its PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

adbc = pytest.importorskip("adbc_driver_flightsql.dbapi")
import adbc_driver_flightsql as afs  # noqa: E402
import adbc_driver_manager  # noqa: E402

from quiver.cluster.lifeline import child_env  # noqa: E402
from quiver.tpch.check import check_query  # noqa: E402
from quiver.tpch.querylib import query_text  # noqa: E402

TOKEN = "flight-sql-test-token"
TABLES = ("lineitem", "orders", "customer")


def _auth(token: str) -> dict:
    return {afs.DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {token}"}


class _Server:
    """A `quiver serve` / `quiver local` process and the grpc:// URI it printed."""

    def __init__(self, args: list[str], needle: str, tmp: str):
        env = dict(os.environ, QUIVER_TOKEN=TOKEN)
        env.pop("QUIVER_CONNECT", None)
        # a lifeline: the server ends with this test process, even a killed one
        self.proc = subprocess.Popen([sys.executable, "-m", "quiver.cli", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.PIPE, text=True, env=child_env(env),
                                     cwd=tmp, start_new_session=True)
        self.uri = None
        lines: list[str] = []

        def read():
            for line in self.proc.stdout:
                lines.append(line)
                if needle in line and self.uri is None:
                    self.uri = line.split()[-1] if "grpc" in line.split()[-1] else \
                        "grpc://" + line.split("grpc://", 1)[1].split()[0]
        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + 90
        while self.uri is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"server did not start: {''.join(lines)}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    s = _Server(["serve", "--port", "0"], "Flight SQL endpoint",
                str(tmp_path_factory.mktemp("serve")))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def local2(tmp_path_factory):
    s = _Server(["local", "--workers", "2", "--slots", "2", "--flight-sql-port", "0"],
                "Flight SQL endpoint", str(tmp_path_factory.mktemp("local2")))
    yield s
    s.stop()


def _register(con, data: str) -> None:
    cur = con.cursor()
    for t in TABLES:
        cur.execute(f"CREATE EXTERNAL TABLE IF NOT EXISTS {t} STORED AS PARQUET "
                    f"LOCATION '{os.path.join(data, t)}'")
    cur.close()


def _check_tpch(uri: str, data: str) -> None:
    with adbc.connect(uri, db_kwargs=_auth(TOKEN), autocommit=True) as con:
        _register(con, data)
        for n in (1, 18):
            cur = con.cursor()
            cur.execute(query_text(n))
            table = cur.fetch_arrow_table()
            rows = [tuple(r.values()) for r in table.to_pylist()]
            result = check_query(0.01, n, table.column_names, rows)
            assert result.ok, f"Q{n}: {result}"
            cur.close()


def test_tpch_through_adbc_embedded(serve, tpch_sf001):
    _check_tpch(serve.uri, tpch_sf001)


def test_tpch_through_adbc_on_local_cluster(local2, tpch_sf001):
    _check_tpch(local2.uri, tpch_sf001)


def test_wrong_or_missing_token_is_refused(serve):
    for kwargs in (_auth("not-the-token"), {}):
        with pytest.raises(adbc_driver_manager.Error, match="(?i)token|unauthenticated"):
            with adbc.connect(serve.uri, db_kwargs=kwargs, autocommit=True) as con:
                con.cursor().execute("SELECT 1")


def test_prepared_statement_parameters_and_metadata(serve, tpch_sf001):
    with adbc.connect(serve.uri, db_kwargs=_auth(TOKEN), autocommit=True) as con:
        _register(con, tpch_sf001)
        cur = con.cursor()
        cur.execute("SELECT count(*) AS n FROM orders WHERE o_orderkey < ?", parameters=[100])
        few = cur.fetchall()[0][0]
        cur.execute("SELECT count(*) AS n FROM orders WHERE o_orderkey < ?", parameters=[1000])
        more = cur.fetchall()[0][0]
        assert 0 < few < more
        objects = con.adbc_get_objects(depth="tables").read_all().to_pylist()
        names = {t["table_name"] for c in objects for s in c["catalog_db_schemas"]
                 for t in s["db_schema_tables"]}
        assert set(TABLES) <= names
        schema = con.adbc_get_table_schema("orders")
        assert "o_orderkey" in schema.names
        assert set(con.adbc_get_table_types()) == {"TABLE", "VIEW"}


def test_errors_keep_their_class_and_the_server_lives_on(serve):
    with adbc.connect(serve.uri, db_kwargs=_auth(TOKEN), autocommit=True) as con:
        cur = con.cursor()
        with pytest.raises(adbc_driver_manager.ProgrammingError, match="no_such_table"):
            cur.execute("SELECT * FROM no_such_table")
        cur.execute("SELECT 40 + 2 AS x")
        assert cur.fetchall() == [(42,)]


def test_cancel_stops_a_running_query(serve, tpch_sf001):
    """A long query (a self-join of orders on a 3-valued column: 10^8 pairs)
    cancelled from another thread ends with a cancel error, and the endpoint
    answers the next query."""
    with adbc.connect(serve.uri, db_kwargs=_auth(TOKEN), autocommit=True) as con:
        _register(con, tpch_sf001)
        cur = con.cursor()
        slow = ("SELECT count(*) FROM orders a JOIN orders b ON a.o_orderstatus = "
                "b.o_orderstatus WHERE a.o_totalprice + b.o_totalprice > 0")
        timer = threading.Timer(1.0, cur.adbc_cancel)
        timer.start()
        try:
            with pytest.raises(adbc_driver_manager.Error, match="(?i)cancel"):
                cur.execute(slow)
                cur.fetchall()
        finally:
            timer.cancel()
        cur2 = con.cursor()
        cur2.execute("SELECT 1 AS one")
        assert cur2.fetchall() == [(1,)]
