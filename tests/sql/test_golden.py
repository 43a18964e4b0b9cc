"""Every golden .slt file under tests/sql, under every configuration of the
verification matrix (tests/sqllogic/runner.py)."""

from __future__ import annotations

import glob
import os
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "sqllogic"))

import runner  # noqa: E402
from testdata import make_test_data  # noqa: E402

FILES = sorted(glob.glob(os.path.join(HERE, "**", "*.slt"), recursive=True))


@pytest.fixture(scope="session")
def slt_data(tmp_path_factory):
    return make_test_data(str(tmp_path_factory.mktemp("slt-data")))


@pytest.mark.parametrize("config", list(runner.MATRIX))
@pytest.mark.parametrize("path", FILES, ids=[os.path.relpath(f, HERE) for f in FILES])
def test_golden(path, config, slt_data):
    failures = runner.check_file(path, slt_data, config)
    assert not failures, "\n".join(failures)
