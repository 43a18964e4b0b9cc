"""Admission control on a real cluster (a coordinator and worker processes on
loopback): queries queue for memory (state `queued` in system.queries),
start when a running one ends, time out with a clear OperationalError,
leave the queue when cancelled, are admitted by priority, and a user's
extra queries wait for that user's turn (--max-queries-per-user).

The worker's pool is 64 MB and the queries' memory_limit 48 MB, so one
query commits the whole cluster. A "gate" query (admission_gates.py, a UDF
that waits until a file exists) stays running until the test creates its
file; every gate is opened when a test ends, so no worker stays stuck."""

import contextlib
import os
import sys
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from cluster_fixtures import coordinator_with_workers, running_cluster, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
N = 1000
SUM_QUERY = "SELECT count(*), sum(v) FROM t"
SUM_ANSWER = [(N, sum(range(N)))]
LIMIT = "48MB"
WAIT = 60            # seconds: the bound of every wait below


@contextlib.contextmanager
def _udf_path():
    """Worker processes import admission_gates from this folder."""
    with pytest.MonkeyPatch.context() as mp:
        old = os.environ.get("PYTHONPATH", "")
        mp.setenv("PYTHONPATH", HERE + (os.pathsep + old if old else ""))
        if HERE not in sys.path:
            mp.syspath_prepend(HERE)
        yield


def _setup(address: str, root: str) -> None:
    data = os.path.join(root, "t")
    os.makedirs(data, exist_ok=True)
    pq.write_table(pa.table({"v": list(range(N))}), os.path.join(data, "part-0.parquet"))
    with quiver.connect(f"quiver://{address}") as con:
        con.execute(f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{data}'")
        con.create_function("wait_gate", "admission_gates:wait_gate", "BIGINT")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """An in-process coordinator (its admission queue can be looked at and
    its queue timeout changed) and one worker with a 64 MB pool."""
    root = str(tmp_path_factory.mktemp("admission"))
    with _udf_path(), coordinator_with_workers(
            root, workers=1, slots=3, worker_args=("--memory-limit", "64MB")) as (coord, _):
        _setup(coord.address, root)
        yield coord


class Gates:
    """Gate queries: `query(name)` is SQL that runs until `open(name)`."""

    def __init__(self, address: str, folder: str):
        self.address, self.folder, self.names = address, folder, []

    def query(self, name: str) -> str:
        self.names.append(name)
        with quiver.connect(f"quiver://{self.address}") as con:
            con.register(f"gate_{name}", pa.table({"gate": [os.path.join(self.folder, name)]}))
        return f"SELECT sum(wait_gate(gate)) FROM gate_{name}"

    def open(self, name: str) -> None:
        open(os.path.join(self.folder, name), "w").close()

    def open_all(self) -> None:
        for name in self.names:
            self.open(name)


@pytest.fixture
def gates(cluster, tmp_path):
    g = Gates(cluster.address, str(tmp_path))
    wait_for(lambda: _idle(cluster), WAIT, "the previous test's queries to end")
    try:
        yield g
    finally:
        g.open_all()
        wait_for(lambda: _idle(cluster), WAIT, "every query to end")


def _idle(coord) -> bool:
    with coord.cond:
        return not coord.admission.admitted and not coord.admission.queued


class Running:
    """A statement running on its own connection in a thread."""

    def __init__(self, address: str, sql: str, **options):
        self.con = quiver.connect(f"quiver://{address}", memory_limit=LIMIT, **options)
        self.sql, self.rows, self.error = sql, None, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.rows = self.con.execute(self.sql).fetchall()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            self.error = exc

    def join(self):
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), f"{self.sql!r} did not end within {WAIT} s"
        self.con.close()
        return self


def _rows(address: str, sql: str):
    """(state, user, priority, queued_seconds) of the latest system.queries row with that SQL."""
    with quiver.connect(f"quiver://{address}") as con:
        rows = con.execute("SELECT state, \"user\", priority, queued_seconds, started "
                           "FROM system.queries WHERE sql = ? ORDER BY started",
                           [sql]).fetchall()
    return rows[-1][:4] if rows else None


def _state(address: str, sql: str):
    row = _rows(address, sql)
    return row[0] if row else None


def _wait_state(address: str, sql: str, state: str):
    wait_for(lambda: _state(address, sql) == state, WAIT, f"{sql!r} to be {state}")


def test_a_query_queues_for_memory_and_runs_when_the_first_ends(cluster, gates):
    address = cluster.address
    first = Running(address, gates.query("a"))
    _wait_state(address, first.sql, "running")
    second = Running(address, SUM_QUERY)
    _wait_state(address, SUM_QUERY, "queued")
    assert second.con.session.status()["state"] == "queued"
    with cluster.cond:
        assert cluster.memory_capacity() == 64 << 20
        assert cluster.admission.committed() == 48 << 20
    assert second.thread.is_alive() and second.rows is None
    gates.open("a")
    first.join()
    second.join()
    assert first.error is None and first.rows == [(1,)]
    assert second.error is None and second.rows == SUM_ANSWER
    state, user, priority, queued = _rows(address, SUM_QUERY)
    assert (state, priority) == ("finished", 0) and user and queued > 0
    assert _rows(address, first.sql)[3] == 0.0


def test_queue_timeout_fails_clearly_and_the_coordinator_answers_the_next(cluster, gates):
    address = cluster.address
    first = Running(address, gates.query("b"))
    _wait_state(address, first.sql, "running")
    cluster.admission.queue_timeout = 1.0
    try:
        late = Running(address, SUM_QUERY).join()
    finally:
        cluster.admission.queue_timeout = 300.0
    assert isinstance(late.error, quiver.OperationalError), late.error
    assert "waited 1 s in the admission queue (--queue-timeout 1) for memory: 48.0 MiB of " \
           "64.0 MiB committed on each worker by 1 running query, and it needs 48.0 MiB" \
           in str(late.error)
    assert _state(address, SUM_QUERY) == "failed"
    with cluster.cond:
        assert not cluster.admission.queued
    gates.open("b")
    assert first.join().rows == [(1,)]
    with quiver.connect(f"quiver://{address}", memory_limit=LIMIT) as con:
        assert con.execute(SUM_QUERY).fetchall() == SUM_ANSWER


def test_a_later_high_priority_query_is_admitted_before_an_earlier_low_one(cluster, gates):
    address = cluster.address
    first = Running(address, gates.query("c"))
    _wait_state(address, first.sql, "running")
    low = Running(address, gates.query("low"))
    _wait_state(address, low.sql, "queued")
    high_sql = gates.query("high")
    high = Running(address, f"SET priority = 5; {high_sql}")
    _wait_state(address, high.sql, "queued")
    gates.open("c")
    _wait_state(address, high.sql, "running")
    assert _state(address, low.sql) == "queued"
    assert _rows(address, high.sql)[2] == 5 and _rows(address, low.sql)[2] == 0
    gates.open("high")
    _wait_state(address, low.sql, "running")
    gates.open("low")
    for r in (first, high, low):
        r.join()
        assert r.error is None and r.rows == [(1,)], r.error


def test_cancel_of_a_queued_query_takes_it_out_of_the_queue(cluster, gates):
    address = cluster.address
    first = Running(address, gates.query("d"))
    _wait_state(address, first.sql, "running")
    queued = Running(address, SUM_QUERY, priority=3)
    _wait_state(address, SUM_QUERY, "queued")
    with cluster.cond:
        assert [t.priority for t in cluster.admission.queued] == [3]
    queued.con.cancel()
    queued.thread.join(WAIT)
    assert not queued.thread.is_alive(), "execute() did not return after cancel()"
    assert isinstance(queued.error, quiver.errors.QueryCancelled), queued.error
    queued.con.close()
    with cluster.cond:
        assert not cluster.admission.queued
    assert _state(address, SUM_QUERY) == "cancelled"
    gates.open("d")
    assert first.join().rows == [(1,)]


def test_a_users_second_query_waits_for_their_first_and_others_are_not_held(tmp_path):
    root = str(tmp_path)
    with _udf_path(), running_cluster(1, root, slots=3, coordinator_args=(
            "--max-queries-per-user", "1", "--queue-timeout", "120")) as c:
        _setup(c.address, root)
        g = Gates(c.address, os.path.join(root, "gates"))
        os.makedirs(g.folder)
        try:
            first = Running(c.address, g.query("alice"), user="alice")
            _wait_state(c.address, first.sql, "running")
            second = Running(c.address, SUM_QUERY, user="alice")
            _wait_state(c.address, SUM_QUERY, "queued")
            other_sql = "SELECT count(*) FROM t WHERE v >= 0"
            other = Running(c.address, other_sql, user="bob").join()
            assert other.error is None and other.rows == [(N,)]
            assert _rows(c.address, other_sql)[:2] == ("finished", "bob")
            assert _state(c.address, SUM_QUERY) == "queued"
            g.open("alice")
            first.join()
            second.join()
            assert second.error is None and second.rows == SUM_ANSWER
            state, user, _, queued = _rows(c.address, SUM_QUERY)
            assert (state, user) == ("finished", "alice") and queued > 0
        finally:
            g.open_all()
