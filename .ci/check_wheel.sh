#!/usr/bin/env bash
# Test what users install: build the wheel, install it into a fresh virtual
# environment outside the source tree, and run Quiver from another folder.
# A module missing from the wheel fails here (every module is imported, then
# the TPC-H check and a local[2] cluster query run on the installed package).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/quiver-wheel.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# build from a clean copy: an in-tree build/ left by an earlier build would
# put stale modules into the wheel
mkdir -p "$work/src"
tar -C "$src" --exclude=./.git --exclude=./build --exclude=./dist --exclude='*.egg-info' \
    --exclude=__pycache__ -cf - . | tar -C "$work/src" -xf -
python3 -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/src"
python3 -m venv "$work/venv"
wheel=$(ls "$work"/dist/quiver_sql-*.whl)
"$work/venv/bin/python" -m pip install --quiet "${wheel}[tpch]"
cd "$work"
"$work/venv/bin/quiver" --version
"$work/venv/bin/python" - <<'PY'
import importlib, pkgutil, sys
import quiver
assert not quiver.__file__.startswith(sys.argv[0] or "/nonexistent"), quiver.__file__
mods = [m.name for m in pkgutil.walk_packages(quiver.__path__, "quiver.")]
for name in mods:
    importlib.import_module(name)
print(f"imported {len(mods)} modules from {quiver.__file__}")
PY
"$work/venv/bin/quiver" tpch gen --sf 0.01 --out "$work/tpch"
"$work/venv/bin/quiver" tpch run --data "$work/tpch" --check --no-progress
"$work/venv/bin/python" - "$work/tpch" <<'PY'
import sys
import quiver
data = sys.argv[1]
with quiver.connect("local[2]") as con:
    for t in ("lineitem", "orders", "customer"):
        con.execute(f"CREATE EXTERNAL TABLE {t} STORED AS PARQUET LOCATION '{data}/{t}'")
    sql = open(quiver.__path__[0] + "/tpch/queries/q03.sql").read()
    rows = con.execute(sql).fetchall()
    assert len(rows) == 10, rows
    print(f"local[2] answered TPC-H Q3: {len(rows)} rows")
PY
echo "wheel check passed"
