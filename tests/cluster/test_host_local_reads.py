"""Host-local shuffle reads: a worker (or a client) that can see a producer's
data folder reads the shuffle files there instead of fetching them over
Flight. The folder's identity decides, never its path alone, and a direct
read fails the way a Flight fetch does (FetchFailed naming the task)."""

import os
import random
import threading

import pyarrow as pa
import pytest
from pyarrow import flight

from quiver.cluster.chaos import corrupt_file
from quiver.cluster.flight_shuffle import DIR_MARKER, FetchFailed, FlightClients, \
    FlightShuffleStore, ShuffleFiles, ShuffleFlightServer, make_ticket


def _batch(start: int, n: int = 1000) -> pa.RecordBatch:
    return pa.record_batch({"k": pa.array(range(start, start + n), pa.int64()),
                            "s": pa.array([f"v{i % 7}" for i in range(n)])})


class Gets:
    """A server's on_get hook counting Flight fetches (set after discovery:
    a hook present at discovery means the folder is not offered)."""

    def __init__(self):
        self.count = 0

    def __call__(self, *args):
        self.count += 1


@pytest.fixture
def producer(tmp_path):
    files = ShuffleFiles(str(tmp_path / "producer"))
    for t in range(3):
        files.write("q1", 0, 0, t, [_batch(1000 * t)])
    srv = ShuffleFlightServer(files)
    threading.Thread(target=srv.serve, daemon=True).start()
    yield files, srv
    srv.shutdown()


def _store(tmp_path, srv, clients) -> FlightShuffleStore:
    return FlightShuffleStore(ShuffleFiles(str(tmp_path / "consumer")), "q1", "me",
                              {0: (1, [srv.address] * 3)}, clients)


def _keys(batches) -> list[int]:
    return pa.Table.from_batches(list(batches)).column("k").to_pylist()


def test_a_readable_peer_folder_is_read_without_flight(tmp_path, producer):
    files, srv = producer
    clients = FlightClients(timeout=5)
    peer = clients.peer_files(srv.address)
    assert peer is not None and peer.root == files.root
    srv.on_get = gets = Gets()
    assert _keys(_store(tmp_path, srv, clients).read(0, 0, None)) == list(range(3000))
    # a result partition too, tasks in the ticket's order
    assert _keys(clients.fetch_result(srv.address, make_ticket("q1", 0, 0, [2, 0]))) \
        == list(range(2000, 3000)) + list(range(1000))
    assert gets.count == 0


def test_a_folder_with_another_identity_is_fetched_over_flight(tmp_path, producer):
    files, srv = producer
    clients = FlightClients(timeout=5)
    assert clients.peer_files(srv.address) is not None
    # the path now holds another folder (another host's, a remounted disk)
    with open(f"{files.root}/{DIR_MARKER}", "w") as f:
        f.write("someone-else")
    assert clients.peer_files(srv.address) is None
    srv.on_get = gets = Gets()
    assert _keys(_store(tmp_path, srv, clients).read(0, 0, None)) == list(range(3000))
    assert gets.count == 1                      # one fetch for the three tasks


def test_off_by_option_or_while_a_chaos_hook_watches_fetches(tmp_path, producer):
    files, srv = producer
    assert FlightClients(timeout=5, host_local_reads=False).peer_files(srv.address) is None
    srv.on_get = Gets()
    assert FlightClients(timeout=5).peer_files(srv.address) is None


def test_a_missing_or_corrupt_peer_file_is_a_fetch_failure_naming_the_task(tmp_path, producer):
    files, srv = producer
    clients = FlightClients(timeout=5)
    store = _store(tmp_path, srv, clients)
    corrupt_file(files.path("q1", 0, 0, 1), random.Random(3))
    with pytest.raises(FetchFailed) as e:
        list(store.read(0, 0, None))
    assert (e.value.kind, e.value.tasks, e.value.address) == ("checksum", [1], srv.address)
    files.write("q1", 0, 0, 1, [_batch(1000)])
    os.remove(files.path("q1", 0, 0, 2))
    with pytest.raises(FetchFailed) as e:
        list(store.read(0, 0, None))
    assert (e.value.kind, e.value.tasks) == ("missing", [2])
    # a result whose file is gone is left to Flight, which says so
    with pytest.raises(flight.FlightServerError, match="no shuffle output"):
        list(clients.fetch_result(srv.address, make_ticket("q1", 0, 0, [2])))


def test_a_folder_keeps_its_identity(tmp_path):
    a = ShuffleFiles(str(tmp_path / "a"))
    name = a.identity()
    assert name and a.identity() == name
    assert ShuffleFiles(str(tmp_path / "a"), create=False).identity() == name
    assert ShuffleFiles(str(tmp_path / "b")).identity() != name
