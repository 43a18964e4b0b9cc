"""The checked-in gRPC modules match cluster/proto/quiver.proto."""

import pytest

pytest.importorskip("grpc_tools")


def test_generated_code_matches_proto():
    from quiver.cluster.proto import generate
    assert generate.stale() == [], "run: python -m quiver.cluster.proto.generate"
