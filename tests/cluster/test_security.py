"""Refusals: wrong token (gRPC and Flight), unknown worker, malformed
requests; the coordinator keeps serving afterwards. TLS end to end.

Coordinator and worker run in this process (same code as the commands,
no process start-up), on 127.0.0.1 with free ports."""

import datetime
import ipaddress
import json

import grpc
import pyarrow as pa
import pytest
from pyarrow import flight

import quiver
from cluster_fixtures import coordinator_and_worker
from quiver.cluster.coordinator import Coordinator
from quiver.cluster.flight_shuffle import FlightClients, make_ticket
from quiver.cluster.proto import quiver_pb2 as pb
from quiver.cluster.proto import quiver_pb2_grpc as rpc
from quiver.cluster.worker import Worker

TOKEN = "s3cret-token"


@pytest.fixture
def secured(tmp_path):
    with coordinator_and_worker(str(tmp_path), {"token": TOKEN}, token=TOKEN) as cw:
        yield cw


def query_ok(address, **kw):
    with quiver.connect(f"quiver://{address}", **kw) as con:
        con.register("t", pa.table({"x": [1, 2, 3]}))
        return con.execute("SELECT sum(x) FROM t").fetchall()


def test_right_token_works_and_wrong_token_is_refused(secured):
    coord, _ = secured
    assert query_ok(coord.address, token=TOKEN) == [(6,)]
    with pytest.raises(quiver.OperationalError, match="authentication failed"):
        quiver.connect(f"quiver://{coord.address}", token="wrong")
    with pytest.raises(quiver.OperationalError, match="authentication failed"):
        quiver.connect(f"quiver://{coord.address}")
    assert query_ok(coord.address, token=TOKEN) == [(6,)]


def test_a_worker_with_a_wrong_token_cannot_register(secured, tmp_path):
    coord, _ = secured
    bad = Worker(coord.address, slots=1, data_dir=str(tmp_path / "bad"), token="wrong")
    try:
        with pytest.raises(quiver.OperationalError, match="authentication failed"):
            bad.start()
    finally:
        bad.stop()
    assert query_ok(coord.address, token=TOKEN) == [(6,)]


def test_flight_refuses_requests_without_the_token(secured):
    _, worker = secured
    worker.files.write("q1", 0, 0, 0, [pa.record_batch({"x": [1]})])
    good = FlightClients(TOKEN)
    assert [b.num_rows for b in good.fetch(worker.address, make_ticket("q1", 0, 0, [0]))] == [1]
    for token in (None, "wrong"):
        with pytest.raises(flight.FlightUnauthenticatedError):
            list(FlightClients(token).fetch(worker.address, make_ticket("q1", 0, 0, [0])))
    with pytest.raises(flight.FlightServerError, match="malformed ticket"):
        list(good.fetch(worker.address, b"../../etc/passwd"))


def test_unknown_worker_and_malformed_requests_are_refused(secured):
    coord, _ = secured
    md = (("x-quiver-token", TOKEN),)
    stub = rpc.CoordinatorStub(grpc.insecure_channel(coord.address))
    with pytest.raises(grpc.RpcError) as e:
        stub.Heartbeat(pb.HeartbeatRequest(worker_id="nobody"), metadata=md, timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND and "unknown worker" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        stub.PollTasks(pb.PollTasksRequest(worker_id="nobody", free_slots=1), metadata=md,
                       timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        stub.ReportTaskStatus(pb.TaskStatus(worker_id="nobody", ok=True), metadata=md, timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        stub.RegisterWorker(pb.RegisterWorkerRequest(protocol_version=1, slots=0,
                                                     flight_address="x"), metadata=md, timeout=5)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        stub.RegisterWorker(pb.RegisterWorkerRequest(protocol_version=99, slots=1),
                            metadata=md, timeout=5)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    for bad in (pb.ExecuteQueryRequest(sql="SELECT 1", options_json="{nope"),
                pb.ExecuteQueryRequest(sql="SELECT 1", params=b"not arrow")):
        with pytest.raises(grpc.RpcError) as e:
            stub.ExecuteQuery(bad, metadata=md, timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    resp = stub.ExecuteQuery(pb.ExecuteQueryRequest(sql="SELECT 1", options_json=json.dumps(
        {"no_such_option": 1})), metadata=md, timeout=10)
    assert not resp.ok and resp.error_class == "InterfaceError"
    resp = stub.ExecuteQuery(pb.ExecuteQueryRequest(sql="SELEC 1"), metadata=md, timeout=10)
    assert not resp.ok and resp.error_class == "ParseError"
    with pytest.raises(grpc.RpcError) as e:
        stub.RegisterTable(pb.RegisterTableRequest(name="t", location_json="[1"), metadata=md,
                           timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # a raw bad message on the wire
    raw = grpc.insecure_channel(coord.address).unary_unary(
        "/quiver.cluster.Coordinator/ExecuteQuery",
        request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError):
        raw(b"\xff\xff\xff\xff garbage", metadata=md, timeout=5)
    assert query_ok(coord.address, token=TOKEN) == [(6,)]


def test_errors_from_tasks_keep_their_class_and_name_the_place(secured):
    coord, _ = secured
    with quiver.connect(f"quiver://{coord.address}", token=TOKEN) as con:
        con.register("t", pa.table({"x": [1, 0, 3]}))
        with pytest.raises(quiver.DataError, match=r"(?s)zero.*stage \d+, task \d+, worker w"):
            con.execute("SELECT 10 // x FROM t").fetchall()
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(3,)]


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls_end_to_end(tmp_path):
    pytest.importorskip("cryptography")
    cert, key = _self_signed(tmp_path)
    coord = Coordinator(port=0, state_dir=str(tmp_path / "coord"), token=TOKEN,
                        tls_cert=cert, tls_key=key)
    coord.start()
    worker = Worker(coord.address, slots=1, data_dir=str(tmp_path / "w"), token=TOKEN,
                    tls_cert=cert, tls_key=key, tls_root=cert)
    try:
        worker.start()
        assert worker.address.startswith("grpc+tls://")
        assert query_ok(coord.address, token=TOKEN, tls_root=cert) == [(6,)]
        with pytest.raises(quiver.OperationalError):
            quiver.connect(f"quiver://{coord.address}", token=TOKEN)     # plaintext refused
    finally:
        worker.stop()
        coord.stop()
