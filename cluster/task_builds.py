"""What names a broadcast join's shared build on a worker: the key under
which the tasks of one query share it (executor/shared_builds.py, used by
executor/operators/join_broadcast_build.py).

Each task decodes its own copy of the stage plan, so a node's identity
cannot be its id(); it is its place in the stage:

    (stage id, the join's preorder position in the stage plan,
     for each stage output its build side reads: (stage id, output
     partitions, producer address of each upstream task))

Tasks of the same stage (any partition, any attempt) get the same key. Why
the producer addresses: a build holds every row it read, so it never
depends on its input files after it is made; but if an upstream task is
rerun (its worker was lost, its output failed a checksum) its new output
lives elsewhere, and a later task whose input names the new location gets
a build of its own instead of one made from the old attempt's files. Stage
outputs are deterministic (the coordinator reruns a lost producer and
expects the same rows), so the two builds hold the same rows; keying on
the locations makes that an assumption the cache does not rely on. With a
shared exchange every location reads the same (cluster/exchange.py) and a
rerun producer rewrites its own path: there the build rests on that
determinism, as every consumer of a rerun producer does. The query id is
the cache's other key half (the worker drops it with the query).
"""

from __future__ import annotations

from ..planner.physical import ShuffleReadExec
from ..planner.tree import walk


def build_key(root, node, stage_id: int, inputs: dict) -> tuple:
    """The key of `node` (a node of the plan `root` of stage `stage_id`);
    `inputs`: upstream stage id -> (output partitions, producer addresses)."""
    position = next((i for i, n in enumerate(walk(root)) if n is node), None)
    if position is None:
        raise ValueError(f"{type(node).__name__} is not in stage {stage_id}'s plan")
    reads = sorted({n.stage_id for n in walk(node.right) if isinstance(n, ShuffleReadExec)})
    located = tuple((s, *_location(inputs.get(s))) for s in reads)
    return (stage_id, position, located)


def _location(entry) -> tuple:
    if entry is None:
        return (None, ())
    partitions, addresses = entry
    return (int(partitions), tuple(addresses))
