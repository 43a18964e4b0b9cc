"""HashJoinExec on a foreign-key join (every probe row matches exactly one
build row, so the probe batch is passed through without a take) and on the
same data with a few probe rows unmatched or matched twice; against DuckDB."""

import _hash_join_lib as H  # noqa: E402  (tests/executor/conftest.py)

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

from quiver.executor.context import ExecContext  # noqa: E402
from quiver.planner.physical import HashJoinExec  # noqa: E402


@pytest.mark.parametrize("variant", ["fk", "missing", "duplicate"])
def test_foreign_key_join_matches_duckdb(variant):
    rng = np.random.default_rng(7)
    pk = np.arange(50)
    right = pa.table({"rk": pa.array(pk, pa.int64()),
                      "rv": pa.array([f"r{i}" for i in pk])})
    lk = rng.integers(0, 50, 300)
    if variant == "missing":
        lk[::17] = 999
    if variant == "duplicate":
        right = pa.concat_tables([right, right.slice(3, 2)])
    left = pa.table({"lk": pa.array(lk, pa.int64()), "lv": pa.array(np.arange(300))})
    lnode, rnode = H.leaf(left, chunk=64), H.leaf(right, chunk=64)
    node = HashJoinExec(lnode, rnode, "inner", (H.col("lk", lnode),), (H.col("rk", rnode),),
                        None, "partitioned", False)
    got = H.run_join(node, ExecContext(batch_size=64))
    want = H.duck("SELECT lk, lv, rk, rv FROM l JOIN r ON lk = rk", l=left, r=right)
    assert H.rows(got) == H.rows(want)
