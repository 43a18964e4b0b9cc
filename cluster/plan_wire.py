"""The one place the cluster turns stages into bytes and back.

Plans travel as the versioned JSON of `quiver.cluster.codec` (never pickle).
Everything else in cluster/ calls these two functions, so the wire format
has a single seam.
"""

from __future__ import annotations

from ..planner.stages import Stage


def stage_to_bytes(stage: Stage) -> bytes:
    from .codec import encode_stage
    return encode_stage(stage)


def stage_from_bytes(data: bytes) -> Stage:
    from .codec import decode_stage
    return decode_stage(data)


def dag_to_bytes(dag) -> bytes:
    """A whole StageDag (the query journal keeps it to resume the query)."""
    from .codec import encode_dag
    return encode_dag(dag)


def dag_from_bytes(data: bytes):
    from .codec import decode_dag
    return decode_dag(data)
