"""Shared fixture: TPC-H SF 0.01 generated once per test session (about a
second), with the large tables split in 2 files so multi-file folders are
exercised."""

import pytest


@pytest.fixture(scope="session")
def sf001_data(tmp_path_factory):
    # tpchgen-cli is a test dependency: a missing generator fails, not skips
    from quiver.tpch.datagen import generate
    out = tmp_path_factory.mktemp("tpch-sf0.01")
    generate(0.01, str(out), parts=2)
    return str(out)
