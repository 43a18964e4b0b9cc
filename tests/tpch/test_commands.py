"""tpch.commands: the argparse wiring cli.py uses (`register(subparsers)`)."""

import argparse

import pytest

from quiver.tpch import commands


def _parser():
    parser = argparse.ArgumentParser(prog="quiver")
    sub = parser.add_subparsers(dest="command")
    commands.register(sub)
    return parser


def test_register_adds_tpch_gen_and_run():
    args = _parser().parse_args(["tpch", "gen", "--sf", "0.1", "--out", "d", "--parts", "4"])
    assert args.func is commands.main_tpch
    assert (args.tpch_command, args.sf, args.out, args.parts) == ("gen", 0.1, "d", 4)
    args = _parser().parse_args(["tpch", "run", "--data", "d", "--queries", "1,6",
                                 "--runs", "3", "--check", "--compare", "duckdb, datafusion",
                                 "--json", "o.json", "--connect", "local[2]",
                                 "--memory-limit", "4GB"])
    assert (args.data, args.queries, args.runs, args.check, args.compare,
            args.json_out, args.connect, args.engine, args.memory_limit) == (
        "d", "1,6", 3, True, "duckdb,datafusion", "o.json", "local[2]", "quiver", "4GB")


def test_connect_defaults_to_environment(monkeypatch):
    monkeypatch.setenv("QUIVER_CONNECT", "quiver://h:7070")
    args = _parser().parse_args(["tpch", "run", "--data", "d"])
    assert args.connect == "quiver://h:7070"


@pytest.mark.parametrize("argv", [
    ["tpch", "gen", "--sf", "0", "--out", "d"],
    ["tpch", "gen", "--sf", "x", "--out", "d"],
    ["tpch", "gen", "--sf", "1", "--out", "d", "--parts", "0"],
    ["tpch", "run", "--data", "d", "--runs", "0"],
    ["tpch", "run", "--data", "d", "--compare", "spark"],
    ["tpch", "run", "--data", "d", "--compare", "duckdb,quiver"],
    ["tpch", "run"],
])
def test_bad_arguments_are_usage_errors(argv):
    with pytest.raises(SystemExit) as info:
        _parser().parse_args(argv)
    assert info.value.code == 2


def test_tpch_without_subcommand_prints_help(capsys):
    args = _parser().parse_args(["tpch"])
    assert commands.main_tpch(args) == 2
    assert "gen" in capsys.readouterr().err
