"""The layers import only downward: parser/, planner/, executor/ and storage/
never import cluster/, grpc or Arrow Flight; storage/ knows nothing of SQL."""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORBIDDEN_EVERYWHERE = ("quiver.cluster", "grpc", "pyarrow.flight")
LAYERS = {
    "parser": FORBIDDEN_EVERYWHERE,
    "planner": FORBIDDEN_EVERYWHERE + ("quiver.parser",),
    "executor": FORBIDDEN_EVERYWHERE + ("quiver.parser", "quiver.planner.optimizer",
                                        "quiver.planner.physical_planner", "sqlglot"),
    "storage": FORBIDDEN_EVERYWHERE + ("quiver.parser", "quiver.planner.optimizer",
                                       "quiver.executor", "sqlglot"),
}


def imported_modules(path: str, package: str) -> list[str]:
    tree = ast.parse(open(path).read(), path)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                out.append(mod)
                out.extend(f"{mod}.{a.name}" for a in node.names)
            elif node.module:
                out.append(node.module)
                if node.module == "pyarrow":
                    out.extend(f"pyarrow.{a.name}" for a in node.names)
    return out


def layer_files():
    for layer in LAYERS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, layer)):
            for f in files:
                if f.endswith(".py"):
                    path = os.path.join(dirpath, f)
                    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    package = "quiver." + rel.rsplit(".", 1)[0] if "." in rel else "quiver"
                    if f == "__init__.py":
                        package = "quiver." + rel.rsplit(".", 1)[0]
                    yield layer, path, package


@pytest.mark.parametrize("layer,path,package", list(layer_files()),
                         ids=lambda v: os.path.relpath(v, ROOT) if os.sep in str(v) else None)
def test_imports_only_downward(layer, path, package):
    bad = [m for m in imported_modules(path, package)
           if any(m == f or m.startswith(f + ".") for f in LAYERS[layer])]
    assert not bad, f"{os.path.relpath(path, ROOT)} imports {bad}"


def test_no_module_over_800_lines():
    long = []
    for dirpath, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("tests", "build")]
        for f in files:
            if f.endswith(".py") and not f.endswith("_pb2.py") and not f.endswith("_pb2_grpc.py"):
                path = os.path.join(dirpath, f)
                n = sum(1 for _ in open(path))
                if n > 800:
                    long.append(f"{os.path.relpath(path, ROOT)}: {n} lines")
    assert not long, long
