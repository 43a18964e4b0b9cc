"""`quiver chaos`: inject a failure into a running cluster.

    quiver chaos --coordinator HOST:PORT KIND [--stage leaf|intermediate|final|any|random]
                 [--worker W] [--count N] [--seconds S] [--seed N] [--token T]
    quiver chaos --coordinator HOST:PORT random --seed N

KIND is one of chaos.KINDS (kill, freeze, slow, disconnect, fail-task,
user-error, delete-shuffle, corrupt-shuffle, fetch-stall); `random` picks a
kind and a stage position with the seed. The coordinator must run with
--chaos and the workers with --chaos (`quiver local --chaos` does both);
the fault hits the next task of that stage position (on worker W only,
when given). Prints one line: what was armed. Owns the command only; the
faults are chaos.py's.
"""

from __future__ import annotations

import grpc

from .. import errors
from .chaos import KINDS, STAGES, Fault, random_fault


def inject(coordinator: str, fault: Fault, token: str | None = None,
           tls_root: str | None = None, timeout: float = 10.0) -> str:
    """Arm `fault` at the coordinator; returns its answer, raises
    OperationalError when refused."""
    from .proto import quiver_pb2 as pb
    from .proto import quiver_pb2_grpc as rpc
    from .security import channel, grpc_error, metadata, resolve_token
    ch = channel(coordinator, tls_root)
    try:
        stub = rpc.CoordinatorStub(ch)
        resp = stub.InjectFault(pb.InjectFaultRequest(fault_json=fault.validate().to_json()),
                                metadata=metadata(resolve_token(token)), timeout=timeout)
    except grpc.RpcError as exc:
        raise grpc_error(exc, coordinator) from None
    finally:
        ch.close()
    if not resp.ok:
        raise errors.OperationalError(f"the coordinator refused the fault: {resp.message}")
    return resp.message


def run_chaos(args) -> int:
    if args.kind == "random":
        fault = random_fault(args.seed)
        if args.worker:
            fault.worker = args.worker
    else:
        fault = Fault(args.kind, args.stage, args.worker or "", args.count, args.seconds,
                      args.seed)
    print(inject(args.coordinator, fault, args.token, args.tls_root), flush=True)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "chaos", help="inject a failure into a running cluster",
        description="Arm a fault at a coordinator started with --chaos (workers with "
                    "--chaos too; `quiver local --chaos` does both): it hits the next task "
                    "of the chosen stage position. Prints what was armed.")
    p.add_argument("kind", choices=(*KINDS, "random"),
                   help="the fault; random picks a kind and a stage position from --seed")
    p.add_argument("--coordinator", required=True, metavar="HOST:PORT",
                   help="the coordinator to arm (required)")
    p.add_argument("--stage", default="any", choices=(*STAGES, "random"),
                   help="stage position of the task to hit (default: %(default)s)")
    p.add_argument("--worker", default=None,
                   help="only a task on this worker (default: any worker)")
    p.add_argument("--count", type=int, default=1,
                   help="how many tasks to hit (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=0.0,
                   help="freeze duration (0: frozen until killed), slow delay, or "
                        "disconnect and fetch-stall duration (0: 30 s) (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of random and of corrupt-shuffle's byte (default: %(default)s)")
    p.add_argument("--token", default=None,
                   help="shared secret (default: $QUIVER_TOKEN, then the config file)")
    p.add_argument("--tls-root", default=None, metavar="PEM",
                   help="CA certificate: talk TLS to the coordinator (default: plain TCP)")
    p.set_defaults(func=run_chaos)
