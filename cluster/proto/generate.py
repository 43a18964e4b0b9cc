"""Regenerate quiver_pb2.py / quiver_pb2_grpc.py from quiver.proto, and
flight_sql_pb2.py from flight_sql.proto.

    python -m quiver.cluster.proto.generate            # rewrite the files
    python -m quiver.cluster.proto.generate --check    # exit 1 if they are stale

The generated modules are checked in; tests/cluster/test_proto_sync.py runs
`--check` so a .proto edit without regeneration fails CI.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUTS = ("quiver_pb2.py", "quiver_pb2_grpc.py", "flight_sql_pb2.py")


def _fix_import(text: str) -> str:
    # protoc writes `import quiver_pb2`; inside the package it must be relative
    return text.replace("import quiver_pb2 as quiver__pb2",
                        "from . import quiver_pb2 as quiver__pb2")


def generate(out_dir: str) -> None:
    from grpc_tools import protoc
    import grpc_tools
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    rc = protoc.main(["grpc_tools.protoc", f"-I{HERE}", f"-I{include}",
                      f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
                      os.path.join(HERE, "quiver.proto")])
    if rc != 0:
        raise SystemExit(f"protoc failed with status {rc}")
    rc = protoc.main(["grpc_tools.protoc", f"-I{HERE}", f"-I{include}",
                      f"--python_out={out_dir}", os.path.join(HERE, "flight_sql.proto")])
    if rc != 0:
        raise SystemExit(f"protoc failed with status {rc}")
    for name in OUTPUTS:
        path = os.path.join(out_dir, name)
        with open(path) as f:
            text = _fix_import(f.read())
        with open(path, "w") as f:
            f.write(text)


def stale() -> list[str]:
    """Names of checked-in outputs that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp)
        out = []
        for name in OUTPUTS:
            fresh = open(os.path.join(tmp, name)).read()
            path = os.path.join(HERE, name)
            if not os.path.exists(path) or _content(open(path).read()) != _content(fresh):
                out.append(name)
        return out


# lines that name the generator's version, not what the .proto says: a newer
# grpcio-tools in a fresh environment changes them and nothing else
_VERSION_STAMP = re.compile(r"^(GRPC_GENERATED_VERSION = |# Protobuf Python Version: )")


def _content(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if not _VERSION_STAMP.match(ln)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    if args.check:
        bad = stale()
        for name in bad:
            print(f"{name} is out of date with its .proto", file=sys.stderr)
        return 1 if bad else 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp)
        for name in OUTPUTS:
            shutil.copy(os.path.join(tmp, name), os.path.join(HERE, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
