"""executor/operators: one module per physical node type.

Each module registers its operator with `executor.registry.implements`
when imported; the registry imports a module the first time it runs a node
of its type (`load_all()` imports them all).
"""

from __future__ import annotations

# every operator module; executor.registry imports the one a node needs when
# it first runs such a node (so `SELECT 1` does not load the numba kernels
# of joins and aggregates), or all of them (load_all)
MODULES = (
    "aggregate", "enforce_single_row", "filter", "hash_join", "limit", "memory_scan",
    "project", "scan", "shuffle_read", "shuffle_write", "sort", "union", "values", "window",
)


def load_all() -> None:
    import importlib
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
