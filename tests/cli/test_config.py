"""~/.quiver/config.toml (here: the file $QUIVER_CONFIG names) gives
defaults: explicit arguments win, then environment variables, then the
file; a key Quiver does not know is an error naming the file."""

import pytest

import quiver
from quiver.cli import build_parser, main
from quiver.cluster.security import resolve_token


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    monkeypatch.setenv("QUIVER_CONFIG", str(path))
    monkeypatch.delenv("QUIVER_CONNECT", raising=False)
    monkeypatch.delenv("QUIVER_TOKEN", raising=False)
    return path


def test_connect_defaults_come_from_the_file(config_file, monkeypatch):
    config_file.write_text('[connect]\ndialect = "spark"\ntoken = "s3cret"\n')
    with quiver.connect() as con:
        assert con.session.dialect == "spark"
        assert con.execute("SELECT 7 DIV 2").fetchall() == [(3,)]      # Spark's DIV
    with quiver.connect(dialect="duckdb") as con:                       # explicit wins
        assert con.session.dialect == "duckdb"
    assert resolve_token(None) == "s3cret"
    monkeypatch.setenv("QUIVER_TOKEN", "from-env")
    assert resolve_token(None) == "from-env"
    assert resolve_token("given") == "given"


def test_connect_target_from_the_file_and_env_wins(config_file, monkeypatch):
    config_file.write_text('[connect]\ntarget = "nowhere[3]"\n')
    with pytest.raises(quiver.InterfaceError, match="nowhere"):
        quiver.connect()
    monkeypatch.setenv("QUIVER_CONNECT", "embedded")
    with quiver.connect() as con:
        assert con.execute("SELECT 1").fetchall() == [(1,)]


def test_unknown_keys_and_bad_files_name_the_file(config_file, capsys):
    config_file.write_text('[connect]\nno_such_option = 1\n')
    with pytest.raises(quiver.InterfaceError, match="no_such_option.*config.toml"):
        quiver.connect()
    config_file.write_text('[worker]\nslot = 3\n')
    assert main(["worker", "--coordinator", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "[worker] has no option 'slot'" in err and str(config_file) in err
    config_file.write_text('[connect\n')
    with pytest.raises(quiver.InterfaceError, match="cannot read config file"):
        quiver.connect()


def test_command_options_default_from_their_section(config_file):
    config_file.write_text('[coordinator]\nheartbeat-timeout = 20\nhost = "0.0.0.0"\n'
                           '[tpch.run]\nruns = 3\n')
    args = build_parser("coordinator").parse_args(["coordinator"])
    assert (args.heartbeat_timeout, args.host, args.port) == (20, "0.0.0.0", 7070)
    args = build_parser("coordinator").parse_args(["coordinator", "--heartbeat-timeout", "5"])
    assert args.heartbeat_timeout == 5.0
    args = build_parser("tpch").parse_args(["tpch", "run", "--data", "d"])
    assert args.runs == 3
