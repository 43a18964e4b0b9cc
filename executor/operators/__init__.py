"""executor/operators: one module per physical node type.

Importing this package imports every operator module, and each module
registers its operator with `executor.registry.implements`. The executor
package imports this one, so every operator is registered before any runs.
"""

from __future__ import annotations

from . import (  # noqa: F401  (imported to register their operators)
    aggregate, enforce_single_row, filter, hash_join, limit, memory_scan,
    project, runtime_filter, scan, shuffle_read, shuffle_write, sort, union, unnest, values,
    window,
)
