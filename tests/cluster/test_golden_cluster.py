"""The golden SQL files on the three-worker cluster (quiver://), under two
columns of the verification matrix (the whole matrix runs under
QUIVER_TEST_RUNNER=local[3] in tests/sql). Each connection gets a private
catalog, as an embedded connection would."""

import glob
import os
import sys

import pytest

import quiver

HERE = os.path.dirname(__file__)
SQL = os.path.join(HERE, "..", "sql")
sys.path.insert(0, os.path.join(HERE, "..", "sqllogic"))

import runner  # noqa: E402
from testdata import make_test_data  # noqa: E402

FILES = sorted(glob.glob(os.path.join(SQL, "**", "*.slt"), recursive=True))


@pytest.fixture(scope="module")
def slt_data(tmp_path_factory):
    return make_test_data(str(tmp_path_factory.mktemp("slt-data")))


@pytest.mark.parametrize("config", ["default", "many_partitions"])
@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_golden_file_on_cluster(path, config, slt_data, cluster3, monkeypatch):
    embedded_connect = quiver.connect

    def connect(target=None, **options):
        return embedded_connect(f"quiver://{cluster3.address}", private_catalog=True, **options)
    monkeypatch.setattr(quiver, "connect", connect)
    failures = runner.check_file(path, slt_data, config)
    assert not failures, "\n".join(failures)
