"""Checksummed shuffle blocks: a flipped byte anywhere in a shuffle file, or
in a block on the wire, is detected on read every time (never a wrong
answer, never a crash in the IPC decoder), and the consumer's FetchFailed
names the producer task to rerun."""

import os
import random
import threading
import time

import pyarrow as pa
import pytest
from pyarrow import flight

from quiver.cluster import shuffle_checksum as C
from quiver.cluster.chaos import corrupt_file
from quiver.cluster.flight_shuffle import BLOCKS, FetchFailed, FetchStalled, FlightClients, \
    FlightShuffleStore, ShuffleFiles, ShuffleFlightServer, make_ticket


def _batches():
    b = pa.record_batch({"k": pa.array(range(2000), pa.int64()),
                         "s": pa.array([f"v{i % 37}" if i % 11 else None for i in range(2000)]),
                         "d": pa.array([i / 7 for i in range(2000)])})
    return [b, b.slice(100, 300), b.slice(1990)]


def test_round_trip_keeps_every_row(tmp_path):
    files = ShuffleFiles(str(tmp_path))
    batches = _batches()
    files.write("q1", 0, 0, 0, batches)
    files.write("q1", 0, 1, 0, [])
    dict_batch = pa.record_batch({"c": pa.array(["a", "b", "a"]).dictionary_encode()})
    files.write("q1", 0, 2, 0, [dict_batch])
    got = pa.Table.from_batches(list(files.read("q1", 0, 0, 0)))
    assert got.equals(pa.Table.from_batches(batches))
    assert list(files.read("q1", 0, 1, 0)) == []
    assert files.first_schema("q1", 0, 0, [0]) == batches[0].schema
    assert list(files.read("q1", 0, 2, 0))[0].equals(dict_batch)


def test_a_flipped_byte_anywhere_in_a_file_is_detected(tmp_path):
    files = ShuffleFiles(str(tmp_path))
    files.write("q1", 0, 0, 0, _batches())
    path = files.path("q1", 0, 0, 0)
    good = open(path, "rb").read()
    rng = random.Random(12)
    positions = [rng.randrange(len(good)) for _ in range(600)] + list(range(64)) \
        + list(range(len(good) - 64, len(good)))
    for pos in positions:
        bad = bytearray(good)
        bad[pos] ^= 1 << rng.randrange(8)
        with open(path, "wb") as f:
            f.write(bad)
        with pytest.raises(C.Corrupt):
            list(files.read("q1", 0, 0, 0))
    for cut in (0, 1, 8, len(good) // 2, len(good) - 1):   # truncated files too
        with open(path, "wb") as f:
            f.write(good[:cut])
        with pytest.raises(C.Corrupt):
            list(files.read("q1", 0, 0, 0))


def test_a_flipped_byte_in_a_streamed_block_is_detected():
    blocks = [(k, p, C.block_crc(k, p)) for k, p in C.encode_blocks(_batches())]
    [batch] = list(C.block_batches(blocks))
    ok = list(C.decode(C.decode_blocks(batch, "t"), "t"))
    assert pa.Table.from_batches(ok).equals(pa.Table.from_batches(_batches()))
    col = batch.column(0)
    data = col.buffers()[2].to_pybytes()
    rng = random.Random(5)
    for i in range(400):
        bad_data, kinds, crcs = bytearray(data), batch.column(1), batch.column(2)
        if i % 4:          # a payload byte
            bad_data[rng.randrange(len(bad_data))] ^= 1 << rng.randrange(8)
        else:              # a kind or a crc
            which = rng.randrange(len(kinds))
            if i % 8:
                kinds = pa.array([k ^ (1 << rng.randrange(8)) if j == which else k
                                  for j, k in enumerate(kinds.to_pylist())], pa.uint8())
            else:
                crcs = pa.array([c ^ (1 << rng.randrange(64)) if j == which else c
                                 for j, c in enumerate(crcs.to_pylist())], pa.uint64())
        arr = pa.BinaryArray.from_buffers(pa.binary(), len(col),
                                          [None, col.buffers()[1], pa.py_buffer(bytes(bad_data))])
        tampered = pa.record_batch([arr, kinds, crcs], schema=C.BLOCK_SCHEMA)
        with pytest.raises(C.Corrupt):
            list(C.decode(C.decode_blocks(tampered, "t"), "t"))


@pytest.fixture
def server(tmp_path):
    files = ShuffleFiles(str(tmp_path / "producer"))
    srv = ShuffleFlightServer(files)
    threading.Thread(target=srv.serve, daemon=True).start()
    yield files, srv
    srv.shutdown()


def test_a_corrupt_remote_or_local_file_is_a_fetch_failure_naming_the_task(tmp_path, server):
    files, srv = server
    for t in range(3):
        files.write("q2", 0, 0, t, _batches())
    corrupt_file(files.path("q2", 0, 0, 1), random.Random(3))
    clients = FlightClients(timeout=5, host_local_reads=False)    # over Flight
    try:
        remote = FlightShuffleStore(ShuffleFiles(str(tmp_path / "consumer")), "q2", "me",
                                    {0: (1, [srv.address] * 3)}, clients)
        with pytest.raises(FetchFailed) as e:
            list(remote.read(0, 0, None))
        assert e.value.kind == "checksum" and e.value.address == srv.address
        assert e.value.tasks == [0, 1, 2] and "checksum mismatch" in str(e.value)
        local = FlightShuffleStore(files, "q2", srv.address, {0: (1, [srv.address] * 3)}, clients)
        with pytest.raises(FetchFailed) as e:
            list(local.read(0, 0, None))
        assert e.value.kind == "checksum" and e.value.tasks == [1]
        os.remove(files.path("q2", 0, 0, 2))
        with pytest.raises(FetchFailed) as e:
            list(remote.read(0, 0, None))
        assert e.value.kind == "missing"
        # the plain (result) ticket refuses corrupt data too, with a clear error
        with pytest.raises(flight.FlightServerError, match="checksum mismatch"):
            list(clients.fetch(srv.address, make_ticket("q2", 0, 0, [1])))
        assert sum(b.num_rows for b in clients.fetch(srv.address, make_ticket("q2", 0, 0, [0]))) \
            == 2310
        assert sum(b.num_rows for b in clients.fetch(srv.address,
                                                     BLOCKS + make_ticket("q2", 0, 0, [0]))) > 0
    finally:
        clients.close()


class _SlowServer(flight.FlightServerBase):
    """Sends batches with a pause before each (a slow but healthy producer),
    or stops sending after the first (a stalled one)."""

    def __init__(self, pause, stall_after=None):
        super().__init__("grpc+tcp://127.0.0.1:0")
        self.pause, self.stall_after = pause, stall_after
        self.release = threading.Event()

    def do_get(self, context, ticket):
        def gen():
            for i in range(6):
                if self.stall_after is not None and i == self.stall_after:
                    self.release.wait(30)
                time.sleep(self.pause)
                yield pa.record_batch({"x": list(range(10))})
        return flight.GeneratorStream(pa.schema([("x", pa.int64())]), gen())


def test_a_fetch_fails_on_a_stall_not_on_a_long_healthy_stream():
    slow, stalled = _SlowServer(pause=0.4), _SlowServer(pause=0.0, stall_after=1)
    for s in (slow, stalled):
        threading.Thread(target=s.serve, daemon=True).start()
    clients = FlightClients(timeout=1.0)
    try:   # 6 x 0.4 s: longer than the stall timeout, but always progressing
        assert sum(b.num_rows for b in clients.fetch(f"grpc+tcp://127.0.0.1:{slow.port}", b"t")) \
            == 60
        got = []
        with pytest.raises(FetchStalled, match="fetch stall"):
            for b in clients.fetch(f"grpc+tcp://127.0.0.1:{stalled.port}", b"t"):
                got.append(b)
        assert len(got) == 1
    finally:
        stalled.release.set()
        clients.close()
        for s in (slow, stalled):
            s.shutdown()
