"""`quiver coordinator`, `quiver worker`, `quiver local`: the cluster commands.

    quiver coordinator [--host 127.0.0.1] [--port 7070] [--state-dir D (default ~/.quiver)]
                       [--heartbeat-timeout 10] [--token T] [--tls-cert C --tls-key K]
                       [--fetch-timeout S] [--result-ttl S] [--no-journal]
                       [--exchange URI [--exchange-option K=V ...]] [--retention S]
                       [--lost-worker-ttl S]
    quiver worker --coordinator HOST:PORT [--host H] [--port P] [--slots N]
                  [--data-dir D] [--local-root PATH ...] [--token T] [--tls-root CA]
                  [--fetch-timeout S] [--connect-timeout S]
    quiver local --workers N

The coordinator prints `quiver coordinator listening on quiver://HOST:PORT`;
a worker prints one line containing `registered` once accepted; `local`
prints the address to connect to. Each runs until SIGTERM or Ctrl-C.
A worker that cannot reach its coordinator within --connect-timeout exits
with status 1 and a one-line reason.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

from .. import errors


def _until_signal() -> None:
    stop = threading.Event()

    def handler(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop.wait(0.5):
        pass


def run_coordinator(args) -> int:
    from .coordinator import Coordinator
    coord = Coordinator(host=args.host, port=args.port, state_dir=args.state_dir,
                        heartbeat_timeout=args.heartbeat_timeout, token=args.token,
                        tls_cert=args.tls_cert, tls_key=args.tls_key,
                        locality_wait=args.locality_wait, fetch_timeout=args.fetch_timeout,
                        result_ttl=args.result_ttl, journal=args.journal,
                        exchange=args.exchange, exchange_options=_options(args.exchange_option),
                        retention=args.retention, lost_worker_ttl=args.lost_worker_ttl)
    address = coord.start()
    print(f"quiver coordinator listening on quiver://{address} (state in {coord.state_dir})",
          flush=True)
    flight_sql = None
    if args.flight_sql_port is not None:
        from .flight_sql_service import start_beside
        flight_sql = start_beside(coord, args.host, args.flight_sql_port, args.tls_cert,
                                  args.tls_key)
        scheme = "grpc+tls" if args.tls_cert else "grpc"
        print(f"quiver Flight SQL endpoint on {scheme}://{flight_sql.address}", flush=True)
    web = None
    if args.web_port is not None:
        from .web_view import WebView
        web = WebView(coord, args.host, args.web_port).start()
        print(f"quiver web view on {web.url}", flush=True)
    try:
        _until_signal()
    finally:
        if web is not None:
            web.stop()
        if flight_sql is not None:
            flight_sql.shutdown()
        coord.stop()
    return 0


def _options(pairs) -> dict:
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise errors.InterfaceError(f"--exchange-option {pair!r}: use KEY=VALUE")
        out[key] = value
    return out


def run_worker(args) -> int:
    from .worker import Worker
    worker = Worker(args.coordinator, host=args.host, port=args.port, slots=args.slots,
                    data_dir=args.data_dir, local_roots=args.local_root or (),
                    token=args.token, name=args.name or "", tls_cert=args.tls_cert,
                    tls_key=args.tls_key, tls_root=args.tls_root,
                    fetch_timeout=args.fetch_timeout)
    deadline = time.monotonic() + args.connect_timeout
    while True:
        try:
            wid = worker.start(timeout=max(0.5, min(10.0, deadline - time.monotonic())))
            break
        except errors.OperationalError as exc:
            retry = "unavailable" in str(exc) or "did not answer" in str(exc)
            if not retry or time.monotonic() + 0.5 > deadline:
                worker.stop()
                if retry:
                    raise errors.OperationalError(
                        f"cannot register with coordinator {args.coordinator} within "
                        f"{args.connect_timeout:g} s: {exc}") from None
                raise
            time.sleep(0.5)
    print(f"worker {wid} registered with coordinator {args.coordinator} "
          f"(data plane {worker.address}, {worker.slots} slots)", flush=True)
    try:
        _until_signal()
    finally:
        worker.stop()
    return 0


def run_local(args) -> int:
    from .client import LocalCluster
    extra = () if args.flight_sql_port is None else ("--flight-sql-port",
                                                     str(args.flight_sql_port))
    if args.web_port is not None:
        extra += ("--web-port", str(args.web_port))
    cluster = LocalCluster(args.workers, host=args.host, token=args.token, slots=args.slots,
                           coordinator_args=extra)
    cluster.start(timeout=args.start_timeout)
    print(f"quiver local cluster with {args.workers} workers on quiver://{cluster.address}",
          flush=True)
    if cluster.flight_sql_address:
        print(f"quiver Flight SQL endpoint on grpc://{cluster.flight_sql_address}", flush=True)
    if cluster.web_url:
        print(f"quiver web view on {cluster.web_url}", flush=True)
    try:
        _until_signal()
    finally:
        cluster.stop()
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("coordinator", help="run a coordinator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7070)
    p.add_argument("--state-dir", default=None,
                   help="catalog, tables and query journal kept here (default $QUIVER_HOME "
                        "or ~/.quiver)")
    p.add_argument("--no-journal", dest="journal", action="store_false",
                   help="keep no query journal (queries do not survive a restart)")
    p.add_argument("--exchange", default=None,
                   help="store stage outputs at this fsspec URI (shared folder, s3://...)")
    p.add_argument("--exchange-option", action="append", default=[],
                   help="KEY=VALUE storage option for the exchange (repeatable)")
    p.add_argument("--retention", type=float, default=3600.0,
                   help="seconds a failed or cancelled query's outputs are kept (RESUME)")
    p.add_argument("--lost-worker-ttl", type=float, default=300.0,
                   help="seconds a lost worker stays listed in system.workers")
    p.add_argument("--heartbeat-timeout", type=float, default=10.0)
    p.add_argument("--locality-wait", type=float, default=0.5)
    p.add_argument("--token", default=None, help="shared secret (else $QUIVER_TOKEN)")
    p.add_argument("--tls-cert", default=None)
    p.add_argument("--tls-key", default=None)
    p.add_argument("--fetch-timeout", type=float, default=None,
                   help="seconds to fetch one partition from a worker (default 300)")
    p.add_argument("--flight-sql-port", type=int, default=None,
                   help="also serve Arrow Flight SQL clients on this port (0: any free one)")
    p.add_argument("--web-port", type=int, default=None,
                   help="also serve the live web view on this port (0: any free one)")
    p.add_argument("--result-ttl", type=float, default=600.0,
                   help="seconds a query result waits for its client on the workers")
    p.set_defaults(func=run_coordinator)

    p = subparsers.add_parser("worker", help="run a worker that joins a coordinator")
    p.add_argument("--coordinator", required=True, help="HOST:PORT")
    p.add_argument("--host", default="127.0.0.1", help="address to serve shuffle data on")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--slots", type=int, default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--local-root", action="append", default=[],
                   help="a folder on this worker's disk (splits under it run here)")
    p.add_argument("--name", default=None, help="worker id to ask for")
    p.add_argument("--token", default=None, help="shared secret (else $QUIVER_TOKEN)")
    p.add_argument("--tls-cert", default=None)
    p.add_argument("--tls-key", default=None)
    p.add_argument("--tls-root", default=None, help="CA certificate to trust")
    p.add_argument("--connect-timeout", type=float, default=30.0,
                   help="seconds to keep trying to register with the coordinator")
    p.add_argument("--fetch-timeout", type=float, default=None,
                   help="seconds to fetch one shuffle partition from a peer (default 300)")
    p.set_defaults(func=run_worker)

    p = subparsers.add_parser("local", help="run a coordinator and N workers here")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--slots", type=int, default=None)
    p.add_argument("--token", default=None)
    p.add_argument("--start-timeout", type=float, default=60.0)
    p.add_argument("--flight-sql-port", type=int, default=None,
                   help="the coordinator also serves Arrow Flight SQL on this port")
    p.add_argument("--web-port", type=int, default=None,
                   help="the coordinator also serves the live web view on this port")
    p.set_defaults(func=run_local)


if __name__ == "__main__":
    sys.exit(0)
