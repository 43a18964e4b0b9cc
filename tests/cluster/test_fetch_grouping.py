"""A hash partition is fetched once per worker (its rows are unordered
across producer tasks); a whole output keeps the producers' order."""

from quiver.cluster.flight_shuffle import _by_address, _runs


def test_hash_partitions_fetch_once_per_address():
    addrs = ["a", "b", "a", "b", "a", "c"]
    assert _by_address(addrs) == [("a", [0, 2, 4]), ("b", [1, 3]), ("c", [5])]
    assert _runs(addrs) == [("a", [0]), ("b", [1]), ("a", [2]), ("b", [3]), ("a", [4]),
                            ("c", [5])]
    assert sorted(t for _, ts in _by_address(addrs) for t in ts) == list(range(6))
    assert _by_address([]) == []
