"""statement_timeout: a query that runs longer than its time limit stops
with QueryTimedOut (an OperationalError saying so), the connection answers
the next query, and the limit is set by connect(), SET and RESET."""

import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.errors import QueryCancelled, QueryTimedOut
from quiver.executor.deadline import parse_duration

N = 30_000
# a nested-loop join of 30,000 x 30,000 rows: seconds of work, stopped early
SLOW = "SELECT count(*) FROM t a JOIN t b ON a.v < b.v"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("timeout")
    rng = np.random.default_rng(1)
    for i in range(2):
        pq.write_table(pa.table({"k": np.arange(i * N // 2, (i + 1) * N // 2),
                                 "v": rng.integers(0, 1_000_000, N // 2)}),
                       root / f"part-{i}.parquet")
    return str(root)


def _connect(data, **options):
    con = quiver.connect(**options)
    con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
    return con


def _timers():
    """The time limits' timer threads still alive, after giving cancelled
    ones a moment to exit (a cancelled Timer's thread ends on its own)."""
    deadline = time.monotonic() + 10
    while True:
        alive = [t for t in threading.enumerate() if t.name == "quiver-statement-timeout"]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


@pytest.mark.parametrize("text,seconds", [
    (30, 30.0), (2.5, 2.5), ("30s", 30.0), ("500ms", 0.5), ("5min", 300.0),
    ("1h", 3600.0), ("2 minutes", 120.0), (" 10 ", 10.0), (0, None), ("0", None), (None, None)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "10 parsecs", "-5", -1, "1e3s", True])
def test_bad_durations_are_refused_in_the_users_words(bad):
    with pytest.raises(quiver.ProgrammingError, match="statement_timeout"):
        parse_duration(bad)


def test_a_query_over_its_time_limit_stops_and_the_connection_lives_on(data):
    with _connect(data, statement_timeout="200ms") as con:
        started = time.monotonic()
        with pytest.raises(QueryTimedOut) as e:
            con.execute(SLOW).fetchall()
        assert time.monotonic() - started < 30       # stopped, not run to the end
        assert isinstance(e.value, quiver.OperationalError)
        assert isinstance(e.value, QueryCancelled)
        assert "statement_timeout = 200 ms" in str(e.value)
        # a short query under the same limit runs
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(N,)]
        assert ("cancelled", str(e.value)) in [(q.state, q.error) for q in con.session.queries]
    assert not _timers()                      # every query's timer went with it


def test_set_and_reset(data):
    with _connect(data) as con:
        con.execute("SET statement_timeout = '150ms'")
        with pytest.raises(QueryTimedOut, match="150 ms"):
            con.execute(SLOW).fetchall()
        con.execute("RESET statement_timeout")
        assert con.session.statement_timeout is None
        con.execute("SET statement_timeout = '1h'")
        assert con.execute("SELECT count(*) FROM t WHERE v >= 0").fetchall() == [(N,)]
        with pytest.raises(quiver.ProgrammingError, match="statement_timeout"):
            con.execute("SET statement_timeout = 'whenever'")
        assert con.session.statement_timeout == 3600.0


def test_a_cancel_is_still_a_cancel(data):
    with _connect(data, statement_timeout="1h") as con:
        cur = con.cursor()
        threading.Timer(0.3, con.session.cancel).start()
        with pytest.raises(QueryCancelled) as e:
            cur.execute(SLOW).fetchall()
        assert not isinstance(e.value, QueryTimedOut)


def test_a_streamed_result_read_past_the_limit_stops(data):
    # the limit covers the whole query, also while the client reads it
    with _connect(data, statement_timeout="300ms", batch_size=1000) as con:
        with pytest.raises(QueryTimedOut):
            cur = con.execute("SELECT a.k, b.k FROM t a JOIN t b ON a.v < b.v")
            while cur.fetchmany(10_000):
                pass
        assert con.execute("SELECT 1").fetchall() == [(1,)]
