"""A hash join whose build side the pool refuses lets go of what it had
built before it spills: the abandoned key tables are unreserved, so keeping
them alive (as a handled exception's traceback did, through the whole grace
join) is memory the limit does not see."""

from __future__ import annotations

import os
import threading
import weakref

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import quiver
from quiver.executor.kernels import key_encoder
from quiver.executor.operators import join_spill


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("joinfree")
    rng = np.random.default_rng(3)
    n = 30_000
    fact = pa.table({"k": pa.array(rng.integers(0, 20_000, n)), "v": pa.array(rng.integers(0, 100, n))})
    dim = pa.table({"k": pa.array(np.arange(20_000)), "w": pa.array(np.arange(20_000) % 7)})
    for name, t in (("fact", fact), ("dim", dim)):
        os.makedirs(root / name)
        pq.write_table(t, str(root / name / "part.parquet"), row_group_size=5000)
    return str(root)


def test_refused_build_is_freed_before_the_grace_join(data, monkeypatch):
    last = threading.local()                # the newest guarded encoder of each thread
    made = []
    original_init = key_encoder.KeyEncoder.__init__

    def init(self, *args, grow_guard=None, **kw):
        original_init(self, *args, grow_guard=grow_guard, **kw)
        if grow_guard is not None:        # a join build's encoder
            last.ref = weakref.ref(self)
            made.append(1)

    checked = []
    original_grace = join_spill.grace_join

    def grace(node, over, *args, **kw):
        ref = getattr(last, "ref", None)
        checked.append(ref is not None and ref() is None)
        yield from original_grace(node, over, *args, **kw)

    monkeypatch.setattr(key_encoder.KeyEncoder, "__init__", init)
    monkeypatch.setattr(join_spill, "grace_join", grace)
    sql = "SELECT d.w, count(*), sum(f.v) FROM fact f JOIN dim d ON f.k = d.k GROUP BY d.w"
    with quiver.connect(memory_limit="96KB", batch_size=1024, join_strategy="partitioned") as con:
        for name in ("fact", "dim"):
            con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{data}/{name}'")
        got = sorted(con.execute(sql).fetchall())
        assert con.session.last_memory["spilled"] > 0
    with quiver.connect(join_strategy="partitioned") as con:
        for name in ("fact", "dim"):
            con.execute(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{data}/{name}'")
        assert got == sorted(con.execute(sql).fetchall())
    assert made and checked, "the join did not spill its build side"
    assert all(checked), "a refused build's key tables were still alive during its grace join"
