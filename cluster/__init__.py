"""The cluster: the same stage DAG the embedded engine runs, on many processes.

    proto/quiver.proto      the gRPC control plane (generated code beside it;
                            regenerate: python -m quiver.cluster.proto.generate)
    codec.py                versioned JSON of plan data (never pickle)
    plan_wire.py            the one seam that turns stages into bytes
    tables_wire.py          small tables and parameters as Arrow IPC bytes
    cluster_scheduler.py    which task runs on which worker (state machine,
                            locality, lost workers, attempts) over the
                            executor's StageScheduler
    coordinator.py          gRPC service: workers, task delivery, client
                            queries, the persisted catalog
    cluster_runner.py       a coordinator Session's runner(dag, ctx)
    admission.py            who may start: committed memory, per-user
                            limits, priority order (state machine)
    system_tables.py        system.workers / system.queries / system.tasks
    worker.py               runs tasks in slots; reports typed failures
    flight_shuffle.py       shuffle files (Arrow IPC) served over Flight,
                            the FlightShuffleStore seam
    security.py             shared token (gRPC + Flight) and TLS
    client.py               connect_cluster('quiver://h:p' | 'local[N]'),
                            LocalCluster
    commands.py             quiver coordinator | worker | local
    stop_signals.py         how those commands (and quiver serve) wait for
                            SIGTERM / Ctrl-C
    lifeline.py             local-cluster processes die with their owner;
                            a reaper removes their temp folder

Failures, and what bounds each wait:
    worker killed           heartbeat timeout (--heartbeat-timeout) -> lost:
                            running tasks and still-needed outputs rerun
    worker stopping         LeaveCluster on SIGTERM -> 'left', same reruns at
                            once; its running tasks are cancelled so it exits
    worker frozen           every Flight fetch has a deadline (--fetch-timeout,
                            client fetch_timeout=): consumer -> FETCH_FAILED ->
                            producer reruns elsewhere; a client -> ResultLost
                            -> the SELECT runs once more
    assignment/report lost  heartbeats list the tasks a worker holds; one the
                            coordinator thinks runs there but it does not
                            hold is rerun after lost_task_grace
    cancel / client gone    the query is dropped; workers hear it from their
                            heartbeat long poll at once and stop its tasks
    undecodable task        BAD_PLAN, not retried; the worker keeps serving
    leftovers               drops go to alive workers only; a worker wipes
                            its shuffle folder on (re)registering; a streamed
                            result its client never releases expires after
                            --result-ttl
"""

import os as _os

# gRPC's fork support (on by default in grpcio's C core) re-creates its
# poller threads in a child right after fork(). A child that then closes
# its inherited descriptors before exec (pexpect and pty.fork do, and so
# may a user's code) closes the poller's epoll fd under it: the child dies
# with "epoll_wait error: Bad file descriptor" before it runs anything.
# Quiver's processes never use gRPC across a fork (they fork only to exec),
# so unless the user chose otherwise, it stays off. Must run before grpc
# (or pyarrow.flight) starts, hence here: every cluster module passes here.
_os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
