"""A worker decodes each stage plan once: the tasks of a stage share the
decoded plan (as the embedded engine's tasks share theirs), and an entry is
used only for the bytes it was decoded from."""

from quiver.cluster import worker as W


def test_tasks_of_a_stage_share_one_decoded_plan(monkeypatch):
    decoded = []
    monkeypatch.setattr(W, "stage_from_bytes", lambda data: decoded.append(data) or object())
    cache = W._PlanCache()
    a = cache.get("q1", 0, b"plan-a")
    assert cache.get("q1", 0, b"plan-a") is a
    assert decoded == [b"plan-a"]
    # other bytes under the same key (a replanned stage) are decoded again
    b = cache.get("q1", 0, b"plan-b")
    assert b is not a and decoded == [b"plan-a", b"plan-b"]
    # other stages and queries have their own entries
    assert cache.get("q1", 1, b"plan-b") is not b
    assert cache.get("q2", 0, b"plan-b") is not b


def test_only_the_last_stages_are_kept(monkeypatch):
    decoded = []
    monkeypatch.setattr(W, "stage_from_bytes", lambda data: decoded.append(data) or object())
    cache = W._PlanCache()
    for stage in range(cache.SIZE + 1):
        cache.get("q", stage, b"p")
    assert len(decoded) == cache.SIZE + 1
    cache.get("q", cache.SIZE, b"p")         # the newest: still there
    assert len(decoded) == cache.SIZE + 1
    cache.get("q", 0, b"p")                  # the oldest: evicted, decoded again
    assert len(decoded) == cache.SIZE + 2
