"""`quiver COMMAND --help` describes every command and, for every option,
what it does and its default (or that it is required or a switch)."""

import argparse

from quiver.cli import build_parser


def _commands(parser, prefix=("quiver",)):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from _commands(sub, prefix + (name,))


def test_every_command_has_a_description_and_every_option_a_default():
    missing = []
    commands = list(_commands(build_parser()))
    assert {c[1] for c, _ in commands} >= {"sql", "shell", "tpch", "coordinator", "worker",
                                           "local", "serve"}
    for path, parser in commands:
        if not parser.description:
            missing.append(f"{' '.join(path)}: no description")
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction,
                                   argparse._VersionAction)) or not action.option_strings:
                continue
            if action.help == argparse.SUPPRESS:
                continue
            name = f"{' '.join(path)} {action.option_strings[-1]}"
            text = (action.help or "") % {"default": action.default, "prog": path[-1]}
            if not action.help:
                missing.append(f"{name}: no help")
            elif isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
                continue
            elif issubclass(parser.formatter_class, argparse.ArgumentDefaultsHelpFormatter):
                continue                         # the formatter prints every default
            elif not action.required and "default" not in text.lower():
                missing.append(f"{name}: help does not give the default")
    assert not missing, "\n".join(missing)


def test_cluster_defaults_are_shown(capsys):
    parser = build_parser("coordinator")
    try:
        parser.parse_args(["coordinator", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "--heartbeat-timeout" in out and "(default: 10.0)" in out
    assert "(default: 7070)" in out and "0.0.0.0" in out and "--log-level" in out
