"""`quiver coordinator`, `quiver worker`, `quiver local`: the cluster commands.

    quiver coordinator [--host 127.0.0.1] [--port 7070] [--state-dir D (default ~/.quiver)]
                       [--heartbeat-timeout 10] [--token T] [--tls-cert C --tls-key K]
                       [--fetch-timeout S] [--result-ttl S] [--task-stall-timeout S] [--chaos]
                       [--no-speculation] [--no-journal]
                       [--exchange URI [--exchange-option K=V ...]] [--retention S]
                       [--lost-worker-ttl S] [--queue-timeout S] [--max-queries-per-user N]
    quiver worker --coordinator HOST:PORT [--host H] [--port P] [--slots N]
                  [--data-dir D] [--local-root PATH ...] [--token T] [--tls-root CA]
                  [--fetch-timeout S] [--connect-timeout S] [--chaos]
                  [--no-host-local-reads]
    quiver local --workers N [--chaos] [--queue-timeout S] [--max-queries-per-user N]

--fetch-timeout is a stall timeout: a fetch that receives nothing for that
long fails over (however long a healthy stream takes). --chaos accepts
injected faults (`quiver chaos`, cluster/chaos.py); off by default.
A worker reads the shuffle files of a peer whose data folder it can see
(same host or shared mount) directly instead of over Flight;
--no-host-local-reads always fetches.

The coordinator prints `quiver coordinator listening on quiver://HOST:PORT`;
a worker prints one line containing `registered` once accepted; `local`
prints the address to connect to. Each runs until SIGTERM or Ctrl-C.
A worker that cannot reach its coordinator within --connect-timeout exits
with status 1 and a one-line reason.
"""

from __future__ import annotations

import sys
import time

from .. import errors
from .stop_signals import catch_stop_signals, stop_event, until_signal


def _setup_logging(level: str) -> None:
    """Log lines on stderr: time, level, who, what (a local cluster sends
    each process's stderr to its own file under logs/)."""
    import logging
    logging.basicConfig(level=getattr(logging, level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_coordinator(args) -> int:
    catch_stop_signals()
    _setup_logging(args.log_level)
    from .coordinator import Coordinator
    coord = Coordinator(host=args.host, port=args.port, state_dir=args.state_dir,
                        heartbeat_timeout=args.heartbeat_timeout, token=args.token,
                        tls_cert=args.tls_cert, tls_key=args.tls_key,
                        locality_wait=args.locality_wait, fetch_timeout=args.fetch_timeout,
                        result_ttl=args.result_ttl, task_stall_timeout=args.task_stall_timeout,
                        chaos=args.chaos, speculation=not args.no_speculation,
                        journal=args.journal,
                        exchange=args.exchange, exchange_options=_options(args.exchange_option),
                        retention=args.retention, lost_worker_ttl=args.lost_worker_ttl,
                        queue_timeout=args.queue_timeout,
                        max_queries_per_user=args.max_queries_per_user)
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
        until_signal()
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
    catch_stop_signals()
    _setup_logging(args.log_level)
    from .worker import Worker
    worker = Worker(args.coordinator, host=args.host, port=args.port, slots=args.slots,
                    data_dir=args.data_dir, local_roots=args.local_root or (),
                    token=args.token, name=args.name or "", tls_cert=args.tls_cert,
                    tls_key=args.tls_key, tls_root=args.tls_root,
                    fetch_timeout=args.fetch_timeout, memory_limit=args.memory_limit,
                    chaos=args.chaos, host_local_reads=not args.no_host_local_reads)
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
            if stop_event.wait(0.5):
                worker.stop()
                return 0
    print(f"worker {wid} registered with coordinator {args.coordinator} "
          f"(data plane {worker.address}, {worker.slots} slots)", flush=True)
    try:
        until_signal()
    finally:
        worker.stop()
    return 0


def run_local(args) -> int:
    catch_stop_signals()
    _setup_logging(args.log_level)
    from .client import LocalCluster
    extra = () if args.flight_sql_port is None else ("--flight-sql-port",
                                                     str(args.flight_sql_port))
    if args.web_port is not None:
        extra += ("--web-port", str(args.web_port))
    extra += ("--queue-timeout", f"{args.queue_timeout:g}",
              "--max-queries-per-user", str(args.max_queries_per_user))
    worker_args = ("--memory-limit", str(args.memory_limit)) if args.memory_limit else ()
    flag = ("--chaos",) if args.chaos else ()
    cluster = LocalCluster(args.workers, host=args.host, token=args.token, slots=args.slots,
                           coordinator_args=extra + flag, worker_args=worker_args + flag,
                           log_level=args.log_level)
    cluster.start(timeout=args.start_timeout)
    print(f"quiver local cluster with {args.workers} workers on quiver://{cluster.address} "
          f"(files in {cluster.root})", flush=True)
    if cluster.flight_sql_address:
        print(f"quiver Flight SQL endpoint on grpc://{cluster.flight_sql_address}", flush=True)
    if cluster.web_url:
        print(f"quiver web view on {cluster.web_url}", flush=True)
    try:
        until_signal()
    finally:
        cluster.stop()
    return 0


def _size(text: str) -> int:
    import argparse
    from ..executor.memory import parse_size
    try:
        return parse_size(text)
    except errors.ProgrammingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


LOG_LEVELS = ("debug", "info", "warning", "error")


def _common(p, what: str) -> None:
    p.add_argument("--token", default=None,
                   help="shared secret every call must carry (default: $QUIVER_TOKEN; "
                        "none: calls are not checked)")
    p.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                   help=f"what the {what} logs on stderr (default: %(default)s)")


def _count(text: str) -> int:
    import argparse
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {text!r}")
    return n


def _admission(p) -> None:
    """The coordinator's admission options (cluster/admission.py)."""
    p.add_argument("--queue-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="how long a query may wait in the admission queue (for memory, or "
                        "for its user's turn) before it fails (default: %(default)s)")
    p.add_argument("--max-queries-per-user", type=_count, default=0, metavar="N",
                   help="queries one user (the connection's `user` option) runs at once; "
                        "more wait in the queue; 0: no limit (default: %(default)s)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "coordinator", help="run a coordinator",
        description="Run a coordinator: it keeps the catalog, plans queries and schedules "
                    "their tasks on the workers that join it. Prints the address clients "
                    "connect to; runs until SIGTERM or Ctrl-C.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 0.0.0.0 for every interface, needed when "
                        "workers or clients run on other machines (default: %(default)s)")
    p.add_argument("--port", type=int, default=7070,
                   help="port to listen on, 0 for any free one (default: %(default)s)")
    p.add_argument("--state-dir", default=None,
                   help="folder for the catalog, the tables created by CREATE TABLE AS and "
                        "the query journal, kept across restarts (default: $QUIVER_HOME, "
                        "else ~/.quiver)")
    p.add_argument("--no-journal", dest="journal", action="store_false",
                   help="keep no query journal: queries do not survive a restart "
                        "(default: journal on)")
    p.add_argument("--exchange", default=None, metavar="URI",
                   help="store stage outputs at this fsspec location (a shared folder, "
                        "s3://...), so a lost worker costs no recomputation (default: on "
                        "the workers)")
    p.add_argument("--exchange-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a storage option for --exchange (repeatable; default: none)")
    p.add_argument("--retention", type=float, default=3600.0, metavar="SECONDS",
                   help="how long a failed or cancelled query's outputs are kept for "
                        "RESUME QUERY (default: %(default)s)")
    p.add_argument("--lost-worker-ttl", type=float, default=300.0, metavar="SECONDS",
                   help="how long a lost worker stays listed in system.workers "
                        "(default: %(default)s)")
    p.add_argument("--heartbeat-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="a worker silent this long is declared lost and its work rerun "
                        "elsewhere (default: %(default)s)")
    p.add_argument("--locality-wait", type=float, default=0.5, metavar="SECONDS",
                   help="how long a task waits for a free slot on a worker near its data "
                        "before running elsewhere (default: %(default)s)")
    p.add_argument("--tls-cert", default=None, metavar="PEM",
                   help="certificate: serve TLS (with --tls-key; default: plain TCP)")
    p.add_argument("--tls-key", default=None, metavar="PEM",
                   help="private key of --tls-cert (default: none)")
    p.add_argument("--fetch-timeout", type=float, default=None, metavar="SECONDS",
                   help="seconds a fetch from a worker may receive nothing before it is "
                        "given up (default: 10)")
    p.add_argument("--flight-sql-port", type=int, default=None,
                   help="also serve Arrow Flight SQL clients on this port, 0 for any free "
                        "one (default: off)")
    p.add_argument("--web-port", type=int, default=None,
                   help="also serve the live web view on this port, 0 for any free one "
                        "(default: off)")
    p.add_argument("--result-ttl", type=float, default=600.0, metavar="SECONDS",
                   help="how long a query result waits on the workers for its client "
                        "(default: %(default)s)")
    p.add_argument("--task-stall-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="a task that makes no progress this long is rerun elsewhere "
                        "(default: %(default)s)")
    _admission(p)
    p.add_argument("--chaos", action="store_true",
                   help="accept injected faults (quiver chaos; default: off)")
    p.add_argument("--no-speculation", action="store_true",
                   help="never start a backup attempt of a straggling task "
                        "(default: speculation on)")
    _common(p, "coordinator")
    p.set_defaults(func=run_coordinator)

    p = subparsers.add_parser(
        "worker", help="run a worker that joins a coordinator",
        description="Run a worker: it registers with the coordinator, runs tasks in its "
                    "slots and serves their output to other workers and clients over Arrow "
                    "Flight. Prints a line containing 'registered' once accepted.")
    p.add_argument("--coordinator", required=True, metavar="HOST:PORT",
                   help="the coordinator to join (required)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to serve shuffle data on, which the other workers and "
                        "clients also use to reach this worker: on several machines, this "
                        "machine's address, e.g. 10.0.0.12 (default: %(default)s)")
    p.add_argument("--port", type=int, default=0,
                   help="port for shuffle data, 0 for any free one (default: %(default)s)")
    p.add_argument("--slots", type=int, default=None,
                   help="tasks run at once (default: the number of CPUs)")
    p.add_argument("--data-dir", default=None,
                   help="folder for shuffle files and spills (default: a temp folder, "
                        "removed on exit)")
    p.add_argument("--local-root", action="append", default=[], metavar="PATH",
                   help="a folder on this worker's disk: splits under it run here "
                        "(repeatable; default: none)")
    p.add_argument("--name", default=None,
                   help="worker id to ask for (default: the coordinator picks w1, w2, ...)")
    p.add_argument("--memory-limit", type=_size, default=None, metavar="SIZE",
                   help="this worker's memory pool, e.g. 8GB (default: 80%% of RAM)")
    p.add_argument("--tls-cert", default=None, metavar="PEM",
                   help="certificate: serve shuffle data over TLS (default: plain TCP)")
    p.add_argument("--tls-key", default=None, metavar="PEM",
                   help="private key of --tls-cert (default: none)")
    p.add_argument("--tls-root", default=None, metavar="PEM",
                   help="CA certificate to trust for the coordinator and peers "
                        "(default: plain TCP)")
    p.add_argument("--connect-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="how long to keep trying to register with the coordinator "
                        "(default: %(default)s)")
    p.add_argument("--fetch-timeout", type=float, default=None, metavar="SECONDS",
                   help="seconds a shuffle fetch from a peer may receive nothing before "
                        "it is given up (default: 10)")
    p.add_argument("--chaos", action="store_true",
                   help="carry out injected faults (quiver chaos; default: off)")
    p.add_argument("--no-host-local-reads", action="store_true",
                   help="fetch every peer's shuffle output over Flight, even when its "
                        "data folder is readable here (default: read such files directly)")
    _common(p, "worker")
    p.set_defaults(func=run_worker)

    p = subparsers.add_parser(
        "local", help="run a coordinator and N workers here",
        description="Run a coordinator and N workers on this machine until Ctrl-C; they "
                    "stop with this command, even if it is killed. Logs go to the "
                    "logs/ folder under the folder it prints.")
    p.add_argument("--workers", type=int, default=2,
                   help="worker processes to start (default: %(default)s)")
    p.add_argument("--memory-limit", type=_size, default=None, metavar="SIZE",
                   help="each worker's memory pool, e.g. 4GB (default: 80%% of RAM)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address every process listens on (default: %(default)s)")
    p.add_argument("--slots", type=int, default=None,
                   help="task slots per worker (default: CPUs / workers, at least 1)")
    p.add_argument("--start-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for every process to start (default: %(default)s)")
    p.add_argument("--chaos", action="store_true",
                   help="coordinator and workers accept injected faults (quiver chaos; "
                        "default: off)")
    p.add_argument("--flight-sql-port", type=int, default=None,
                   help="the coordinator also serves Arrow Flight SQL on this port "
                        "(default: off)")
    p.add_argument("--web-port", type=int, default=None,
                   help="the coordinator also serves the live web view on this port "
                        "(default: off)")
    _admission(p)
    _common(p, "coordinator and workers")
    p.set_defaults(func=run_local)


if __name__ == "__main__":
    sys.exit(0)
