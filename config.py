"""User defaults from a TOML file: `~/.quiver/config.toml`, or the file the
environment variable QUIVER_CONFIG names (an empty QUIVER_CONFIG: none).

    [connect]                      # quiver.connect(), quiver shell / sql / tpch run
    target = "quiver://10.0.0.5:7070"
    token = "s3cret"               # shared secret, for clients and servers alike
    dialect = "duckdb"             # any other key: a connect() option

    [coordinator]                  # defaults for `quiver coordinator` options
    host = "0.0.0.0"
    heartbeat_timeout = 20
    [worker]                       # ... `quiver worker`; likewise [local], [sql], ...
    slots = 8

What is given explicitly wins, then an environment variable
(QUIVER_CONNECT, QUIVER_TOKEN), then this file, then the built-in default.
A section for a command may set any of its options (named as in --help,
with `-` or `_`); an unknown one is an error naming the file.

Imports nothing of Quiver but errors: every layer may ask it.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import InterfaceError

_cache: dict[str, tuple[float, dict]] = {}


def path() -> str | None:
    """The config file to read, or None (QUIVER_CONFIG set to '')."""
    given = os.environ.get("QUIVER_CONFIG")
    if given is not None:
        return os.path.expanduser(given) or None
    return os.path.expanduser(os.path.join("~", ".quiver", "config.toml"))


def load() -> dict[str, Any]:
    """The whole file as a dict ({} when there is none)."""
    p = path()
    if not p:
        return {}
    try:
        mtime = os.stat(p).st_mtime
    except OSError:
        if os.environ.get("QUIVER_CONFIG"):
            raise InterfaceError(f"config file {p} (from $QUIVER_CONFIG) does not exist") from None
        return {}
    hit = _cache.get(p)
    if hit is not None and hit[0] == mtime:
        return hit[1]
    import tomllib
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InterfaceError(f"cannot read config file {p}: {exc}") from None
    for name, value in data.items():
        if not isinstance(value, dict):
            raise InterfaceError(f"config file {p}: {name!r} must be a [section]")
    _cache[p] = (mtime, data)
    return data


def section(name: str) -> dict[str, Any]:
    return dict(load().get(name, {}))


def connect_target() -> str | None:
    """[connect] target, if set."""
    target = section("connect").get("target")
    if target is not None and not isinstance(target, str):
        raise InterfaceError(f"config file {path()}: [connect] target must be a string")
    return target or None


def connect_token() -> str | None:
    """[connect] token, if set (after an explicit token and $QUIVER_TOKEN)."""
    token = section("connect").get("token")
    return str(token) if token else None


def connect_options() -> dict[str, Any]:
    """[connect] keys other than target and token: connect() options."""
    opts = section("connect")
    opts.pop("target", None)
    opts.pop("token", None)
    return opts


def command_defaults(command: str, values: dict, known: set[str]) -> dict[str, Any]:
    """A command's section (`values`, e.g. [worker]) as argparse defaults
    (`-` read as `_`); a key that is not one of its option names (`known`)
    is an error."""
    out = {}
    for key, value in values.items():
        dest = key.replace("-", "_")
        if dest not in known:
            raise InterfaceError(
                f"config file {path()}: [{command}] has no option {key!r} "
                f"(it has: {', '.join(sorted(k.replace('_', '-') for k in known))})")
        out[dest] = value
    return out
