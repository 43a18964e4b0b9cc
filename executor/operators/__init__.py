"""executor/operators: one module per physical node type.

Importing this package imports every operator module, and each module
registers its operator with `executor.registry.implements`. The registry
imports this package the first time it runs a node.

Several operator modules are being written in parallel; until they all exist,
a module that is *missing* (ModuleNotFoundError for exactly that module's
name) is skipped so the others still register. Any other import error, and
a missing dependency *inside* an operator module, is raised as usual.
Running a node whose module was skipped raises NotSupportedError from the
registry ("no operator for ...").
"""

from __future__ import annotations

import importlib

OPERATOR_MODULES = (
    "scan", "memory_scan", "values", "filter", "project", "aggregate",
    "hash_join", "sort", "limit", "window", "union", "enforce_single_row",
    "shuffle_write", "shuffle_read",
)

MISSING: list[str] = []     # operator modules not written yet (see docstring)


def _import_all() -> None:
    for name in OPERATOR_MODULES:
        full = f"{__name__}.{name}"
        try:
            importlib.import_module(full)
        except ModuleNotFoundError as e:
            if e.name != full:
                raise
            MISSING.append(name)


_import_all()
