"""Every golden .slt file under tests/sql, under every configuration of the
verification matrix (tests/sqllogic/runner.py).

Embedded by default; with QUIVER_TEST_RUNNER=local[3] the same files run
against one local cluster started for the test session."""

from __future__ import annotations

import glob
import os
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "sqllogic"))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))

import runner  # noqa: E402
from cluster_fixtures import cluster_target  # noqa: E402,F401  (a fixture)
from testdata import make_test_data  # noqa: E402

FILES = sorted(glob.glob(os.path.join(HERE, "**", "*.slt"), recursive=True))


@pytest.fixture(scope="session")
def slt_data(tmp_path_factory):
    return make_test_data(str(tmp_path_factory.mktemp("slt-data")))


@pytest.mark.parametrize("config", list(runner.MATRIX))
@pytest.mark.parametrize("path", FILES, ids=[os.path.relpath(f, HERE) for f in FILES])
def test_golden(path, config, slt_data, cluster_target):
    failures = runner.check_file(path, slt_data, config, cluster_target)
    assert not failures, "\n".join(failures)
