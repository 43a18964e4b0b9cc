"""Where a Flight SQL endpoint runs: `quiver serve` (an embedded engine
behind a port) and beside a coordinator (`--flight-sql-port`).

    quiver serve --port 31337 [--host 127.0.0.1] [--token T] [--tls-cert C --tls-key K]
    quiver coordinator --port 7070 --flight-sql-port 31337
    quiver local --workers 2 --flight-sql-port 31337

Clients connect to `grpc://HOST:PORT` (`grpc+tls://` with TLS), e.g. with
ADBC: `adbc_driver_flightsql.dbapi.connect("grpc://127.0.0.1:31337")`.
"""

from __future__ import annotations

import argparse

from .flight_sql import FlightSqlServer, serve_in_thread
from .security import read_file, resolve_token
from .stop_signals import until_signal


def _tls(cert: str | None, key: str | None):
    if not cert:
        return None
    return (read_file(cert), read_file(key))


def embedded_server(host: str, port: int, token: str | None = None, tls=None,
                    options: dict | None = None) -> FlightSqlServer:
    """A Flight SQL endpoint over embedded sessions that share one catalog."""
    from ..session import Session, session_options
    from ..storage.catalog import Catalog
    catalog = Catalog()
    opts = dict(options or {})

    def engine():
        return Session(catalog=catalog, **session_options(opts))
    return FlightSqlServer(engine, catalog.entries, host=host, port=port,
                           token=resolve_token(token), tls=tls)


def coordinator_server(coordinator, host: str, port: int, tls=None) -> FlightSqlServer:
    """A Flight SQL endpoint beside a running coordinator: each statement runs
    through a cluster client of that coordinator (so it is scheduled, retried
    and listed in system.queries like any other) on the shared catalog."""
    from .client import ClusterSession
    tls_root = coordinator.tls_cert_path

    def engine():
        return ClusterSession(coordinator.address, {}, token=coordinator.token,
                              tls_root=tls_root)
    return FlightSqlServer(engine, coordinator.catalog.entries, host=host, port=port,
                           token=coordinator.token, tls=tls)


def start_beside(coordinator, host: str, port: int, tls_cert=None, tls_key=None) -> FlightSqlServer:
    server = coordinator_server(coordinator, host, port, _tls(tls_cert, tls_key))
    serve_in_thread(server)
    return server


def run_serve(args) -> int:
    server = embedded_server(args.host, args.port, args.token, _tls(args.tls_cert, args.tls_key))
    scheme = "grpc+tls" if args.tls_cert else "grpc"
    serve_in_thread(server)
    print(f"quiver Flight SQL endpoint on {scheme}://{server.address}", flush=True)
    try:
        until_signal()
    finally:
        server.shutdown()
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "serve", help="serve an embedded engine over Arrow Flight SQL",
        description="Run an embedded Quiver engine behind an Arrow Flight SQL endpoint, "
                    "for ADBC, JDBC and ODBC clients.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=31337, help="port to listen on (0: any free one)")
    p.add_argument("--token", default=None,
                   help="clients must send 'authorization: Bearer TOKEN' (else $QUIVER_TOKEN)")
    p.add_argument("--tls-cert", default=None, help="PEM certificate: serve grpc+tls")
    p.add_argument("--tls-key", default=None, help="PEM private key of --tls-cert")
    p.set_defaults(func=run_serve)
    return p
