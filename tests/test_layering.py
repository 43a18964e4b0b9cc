"""The house rules, checked over every import statement in the package,
including the ones inside functions (ast.walk sees them all):

1. Units (each root module and each top-level folder) import only units of a
   lower rank in UNIT_RANKS, so the unit graph has no circle: the faces sit
   on top (dbapi.py, the shell, cli.py), engines below them (cluster/ never
   imports dbapi.py), then session.py above ddl.py, the executor and parser
   above the planner (neither imports the other), storage/ at the bottom
   above only errors.py and datatypes.py.
2. Within a unit, no circle between modules either.
3. parser/, planner/, executor/ and storage/ never import grpc or Arrow
   Flight; the executor never imports sqlglot, nor storage.
4. The root holds only the faces and the ground floor.
5. No module over 800 lines.
"""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_DIRS = {"tests", "build", "dist", "__pycache__"}

# a unit may import only units of a strictly lower rank
UNIT_RANKS = {
    "errors": 0, "datatypes": 0,
    "allocator": 0,         # allocator.py: settings read when pyarrow loads (ground floor)
    "storage": 1, "config": 1,      # config.py: the user's config file (ground floor)
    "planner": 2,
    "parser": 3, "executor": 3,
    "ddl": 4,
    "session": 5,
    "cluster": 6,
    "dbapi": 7,
    "quiver": 8,            # the package's __init__.py: connect() and the errors
    "shell": 9, "tpch": 9,
    "cli": 10,
    "bench": 10,            # bench/: scripts that time the engine (not in the wheel)
}
ROOT_MODULES = {"__init__.py", "errors.py", "datatypes.py", "config.py", "dbapi.py",
                "cli.py", "session.py", "ddl.py", "allocator.py"}
FOREIGN = {
    "parser": ("grpc", "pyarrow.flight"),
    "planner": ("grpc", "pyarrow.flight", "sqlglot"),
    "executor": ("grpc", "pyarrow.flight", "sqlglot", "quiver.planner.optimizer",
                 "quiver.planner.physical_planner"),
    "storage": ("grpc", "pyarrow.flight", "sqlglot"),
}


def modules() -> dict[str, tuple[str, list[str]]]:
    """module name -> (path, its package as a list of name parts)."""
    out = {}
    for dirpath, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS
                   and not d.endswith(".egg-info")]
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if rel[-1] == "__init__":
                name = ".".join(["quiver"] + rel[:-1])
                package = name.split(".")
            else:
                name = ".".join(["quiver"] + rel)
                package = name.split(".")[:-1]
            out[name] = (path, package)
    return out


MODULES = modules()


def imports_of(name: str) -> list[str]:
    """Every module `name` imports (quiver modules resolved to the module
    itself, `from . import x` to quiver.x when x is a module), at any depth."""
    path, package = MODULES[name]
    out = []
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1]
                                + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names = [a.name for a in node.names]
            if base == "quiver" and names == ["__version__"]:
                continue            # the version string: plain data, every layer may read it
            subs = [f"{base}.{n}" for n in names]
            found = [s for s in subs if s in MODULES]
            out.extend(found)
            if len(found) < len(subs):
                out.append(base)
    return out


def unit_of(module: str) -> str:
    parts = module.split(".")
    return "quiver" if len(parts) == 1 else parts[1]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_units_import_only_lower_ranks(name):
    me = unit_of(name)
    assert me in UNIT_RANKS, f"{name}: unit {me} has no rank in UNIT_RANKS"
    bad = []
    for m in imports_of(name):
        if m.split(".")[0] != "quiver":
            continue
        other = unit_of(m)
        if other != me and UNIT_RANKS.get(other, 99) >= UNIT_RANKS[me]:
            bad.append(m)
    assert not bad, f"{name} imports upward or sideways: {bad}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if unit_of(n) in FOREIGN))
def test_engine_layers_import_no_network_or_sql_text(name):
    banned = FOREIGN[unit_of(name)]
    bad = [m for m in imports_of(name) if any(m == b or m.startswith(b + ".") for b in banned)]
    assert not bad, f"{name} imports {bad}"


def module_cycles() -> list[list[str]]:
    graph = {n: {m for m in imports_of(n) if m in MODULES and m != n} for n in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v):                       # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_circles_across_units():
    crossing = [c for c in module_cycles() if len({unit_of(m) for m in c}) > 1]
    assert not crossing, crossing


def _one_circle(component: list[str]) -> list[str]:
    """One import path around a strongly connected component, first module
    repeated at the end (a, b, c, a): what to read to break it."""
    members = set(component)
    graph = {n: sorted(m for m in imports_of(n) if m in members and m != n)
             for n in component}
    start = component[0]
    path, seen = [start], {start}

    def walk(v) -> bool:
        for w in graph[v]:
            if w == start:
                path.append(w)
                return True
            if w not in seen:
                seen.add(w)
                path.append(w)
                if walk(w):
                    return True
                path.pop()
        return False
    walk(start)
    return path


def test_no_import_circles_at_all():
    """Rule 2: no circle between modules, within a unit or across units,
    counting function-local imports (a lazy import hides a circle from
    Python, not from the design)."""
    circles = module_cycles()
    assert not circles, "import circles (break each with a lower module or by " \
        "passing the callable down):\n" + "\n".join(
            f"  {c}: {' -> '.join(_one_circle(c))}" for c in circles)


def test_the_root_holds_only_the_faces():
    extra = sorted(f for f in os.listdir(ROOT) if f.endswith(".py"))
    assert set(extra) <= ROOT_MODULES, sorted(set(extra) - ROOT_MODULES)


def test_no_module_over_800_lines():
    long = []
    for path, _ in MODULES.values():
        if path.endswith(("_pb2.py", "_pb2_grpc.py")):
            continue
        n = sum(1 for _ in open(path))
        if n > 800:
            long.append(f"{os.path.relpath(path, ROOT)}: {n} lines")
    assert not long, long
