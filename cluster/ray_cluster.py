"""Ray as a cluster manager: `quiver.connect("ray")` (a local Ray, started if
none is running; RAY_ADDRESS is honoured) or `quiver.connect("ray://HOST:PORT")`
(Ray Client to a Ray cluster).

A Quiver coordinator runs as one Ray actor and a Quiver worker as one actor
per alive Ray node (pinned to it, restarted by Ray if it dies: it then joins
the coordinator again as a new worker). Ray only places and restarts the
processes: plans, tasks and shuffles still travel over Quiver's own gRPC and
Arrow Flight, exactly as on a cluster started by hand. Closing the
connection kills the actors, and shuts down a Ray that this connection
started.

Needs the optional extra: `pip install "quiver-sql[ray]"`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid

from .. import errors

START_TIMEOUT = 120.0


def _ray():
    try:
        import ray
    except ImportError:
        raise errors.NotSupportedError(
            "connect('ray') needs Ray: pip install \"quiver-sql[ray]\"") from None
    return ray


class _CoordinatorActor:
    """Holds a Quiver Coordinator inside a Ray actor process."""

    def __init__(self, token: str | None):
        import ray
        from .coordinator import Coordinator
        host = ray.util.get_node_ip_address()
        self.state = tempfile.mkdtemp(prefix="quiver-ray-coordinator-")
        self.coordinator = Coordinator(host=host, port=0, state_dir=self.state, token=token)
        self.address = self.coordinator.start()

    def address_of(self) -> str:
        return self.address

    def stop(self) -> None:
        self.coordinator.stop()
        shutil.rmtree(self.state, ignore_errors=True)   # the connection's own temp state


class _WorkerActor:
    """Holds a Quiver Worker inside a Ray actor process on one node."""

    def __init__(self, coordinator: str, slots: int, token: str | None, name: str):
        import ray
        from .worker import Worker
        host = ray.util.get_node_ip_address()
        self.worker = Worker(coordinator, host=host, slots=slots, token=token, name=name)
        self.worker_id = self.worker.start(timeout=60)

    def worker_id_of(self) -> str:
        return self.worker_id

    def stop(self) -> None:
        self.worker.stop()


class RayCluster:
    """The actors of one connection: a coordinator and a worker per node."""

    def __init__(self, address: str | None, token: str | None = None,
                 slots: int | None = None):
        ray = _ray()
        self.ray = ray
        self.started_ray = False
        if not ray.is_initialized():
            init_args = {"ignore_reinit_error": True, "include_dashboard": False,
                         "log_to_driver": False}
            if address:
                ray.init(address=address, **init_args)
            else:
                env_address = os.environ.get("RAY_ADDRESS")
                if env_address:
                    ray.init(address=env_address, **init_args)
                else:
                    ray.init(**init_args)
                    self.started_ray = True
        self.token = token
        self.tag = uuid.uuid4().hex[:8]
        coordinator_cls = ray.remote(num_cpus=0)(_CoordinatorActor)
        self.coordinator = coordinator_cls.remote(token)
        self.address = ray.get(self.coordinator.address_of.remote(), timeout=START_TIMEOUT)
        self.workers = []
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        worker_cls = ray.remote(num_cpus=0, max_restarts=-1)(_WorkerActor)
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        for i, node in enumerate(nodes):
            cpus = int(node.get("Resources", {}).get("CPU", 0)) or (os.cpu_count() or 2)
            strategy = NodeAffinitySchedulingStrategy(node_id=node["NodeID"], soft=False)
            actor = worker_cls.options(scheduling_strategy=strategy).remote(
                self.address, slots or cpus, token, f"ray-{self.tag}-{i + 1}")
            self.workers.append(actor)
        ray.get([w.worker_id_of.remote() for w in self.workers], timeout=START_TIMEOUT)

    def stop(self) -> None:
        ray = self.ray
        for actor in self.workers + [self.coordinator]:
            try:
                ray.get(actor.stop.remote(), timeout=15)
            except Exception:  # noqa: BLE001 - stopping: the actor may be gone already
                pass
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001
                pass
        if self.started_ray:
            ray.shutdown()


def open_engine(target: str, options: dict):
    """A cluster client of Quiver actors on Ray (dbapi.TARGETS)."""
    from ..session import session_options
    from .client import CLIENT_OPTIONS, ClusterSession
    from .security import resolve_token
    options = dict(options)
    client_opts = {k: options.pop(k) for k in CLIENT_OPTIONS if k in options}
    session_options(dict(options))            # unknown options fail before Ray starts
    token = resolve_token(client_opts.get("token"))
    address = target[len("ray://"):] if target.startswith("ray://") else None
    ray_cluster = RayCluster(f"ray://{address}" if address else None, token=token,
                             slots=client_opts.get("worker_slots"))
    try:
        return ClusterSession(ray_cluster.address, options, token=token, owned=ray_cluster,
                              fetch_timeout=client_opts.get("fetch_timeout"))
    except BaseException:
        ray_cluster.stop()
        raise
