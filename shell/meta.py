r"""The shell's backslash commands.

    \d            list tables            \d NAME     describe a table or view
    \dt           list tables            \timing     toggle elapsed time
    \x [on|off|auto]  expanded output    \o [FILE]   send results to FILE
    \i FILE       run statements from a file
    \format table|csv|json               \q          quit        \?  help

`run(shell, line)` runs one such line against a Shell (shell.py) and says
whether it succeeded. This module knows the commands; the Shell knows how to
run SQL and show results.
"""

from __future__ import annotations

import os

from .complete import quote

HELP = r"""Statements end with ';' (they may span lines). Meta-commands:
  \d               list tables
  \d NAME          describe table or view NAME
  \dt              list tables
  \timing [on|off] show elapsed time under results (now: {timing})
  \x [on|off|auto] expanded (vertical) output; auto when too wide (now: {expanded})
  \o [FILE]        write results to FILE; without FILE, back to the screen
  \i FILE          run the statements in FILE
  \format table|csv|json   result format (now: {format})
  \q               quit (also Ctrl-D)
  \?               this help
Ctrl-C cancels a running query; Ctrl-R searches the history."""


# words people type at other engines' prompts -> what to do here
_HINTS = {
    "help": r"Type \? for help. Statements end with ';'.",
    "?": r"Type \? for help. Statements end with ';'.",
    "exit": r"Use \q or Ctrl-D to leave.",
    "quit": r"Use \q or Ctrl-D to leave.",
    ".exit": r"Use \q or Ctrl-D to leave.",
    ".quit": r"Use \q or Ctrl-D to leave.",
    ".tables": r"Use \dt to list tables (Quiver's commands start with a backslash: \?).",
    ".schema": r"Use \d NAME to describe a table (Quiver's commands start with a "
               r"backslash: \?).",
    ".help": r"Type \? for help.",
    "tables": r"Use \dt or SHOW TABLES; to list tables.",
}


def hint_for(text: str) -> str | None:
    """A hint when the whole input is a word from another engine's prompt
    (`help`, `exit`, `.tables`) rather than SQL; None otherwise."""
    word = text.strip().rstrip(";").strip().lower()
    return _HINTS.get(word)


def run(shell, line: str) -> bool:
    parts = line.strip().split(maxsplit=1)
    name = parts[0] if parts else "\\"
    arg = parts[1].strip() if len(parts) > 1 else ""
    handler = _COMMANDS.get(name)
    if handler is None:
        shell.error(f"unknown command {name}: try \\?")
        return False
    return handler(shell, arg)


def _quit(shell, arg: str) -> bool:
    shell.quit = True
    return True


def _help(shell, arg: str) -> bool:
    shell.say(HELP.format(timing=_on(shell.timing), expanded=shell.expanded,
                          format=shell.format))
    return True


def _describe(shell, arg: str) -> bool:
    if not arg:
        return shell.run_sql("SHOW TABLES")
    name = arg.rstrip(";").strip()
    if not name.startswith('"'):
        name = ".".join(quote(p) for p in name.split("."))
    return shell.run_sql(f"DESCRIBE {name}")


def _tables(shell, arg: str) -> bool:
    return shell.run_sql("SHOW TABLES")


def _timing(shell, arg: str) -> bool:
    value = _switch(shell, arg, not shell.timing)
    if value is None:
        return False
    shell.timing = value
    shell.say(f"Timing is {_on(value)}.")
    return True


def _expanded(shell, arg: str) -> bool:
    arg = arg.lower()
    if not arg:
        value = "auto" if shell.expanded == "on" else "on"
    elif arg in ("on", "off", "auto"):
        value = arg
    else:
        shell.error("\\x takes on, off or auto")
        return False
    shell.expanded = value
    shell.say(f"Expanded display is {value}.")
    return True


def _output(shell, arg: str) -> bool:
    try:
        shell.set_output(os.path.expanduser(arg) if arg else None)
    except OSError as exc:
        shell.error(f"cannot write {arg}: {exc.strerror or exc}")
        return False
    return True


def _include(shell, arg: str) -> bool:
    if not arg:
        shell.error("\\i needs a file name")
        return False
    path = os.path.expanduser(arg)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        shell.error(f"cannot read {arg}: {exc.strerror or exc}")
        return False
    return shell.run_text(text, final=True)


def _format(shell, arg: str) -> bool:
    arg = arg.lower()
    if arg not in ("table", "csv", "json"):
        shell.error("\\format takes table, csv or json")
        return False
    shell.format = arg
    shell.say(f"Output format is {arg}.")
    return True


def _switch(shell, arg: str, default: bool) -> bool | None:
    arg = arg.lower()
    if not arg:
        return default
    if arg in ("on", "off"):
        return arg == "on"
    shell.error("expected on or off")
    return None


def _on(flag: bool) -> str:
    return "on" if flag else "off"


_COMMANDS = {
    "\\q": _quit, "\\quit": _quit, "\\?": _help, "\\h": _help, "\\help": _help,
    "\\d": _describe, "\\dt": _tables, "\\timing": _timing, "\\x": _expanded,
    "\\o": _output, "\\i": _include, "\\format": _format,
}
