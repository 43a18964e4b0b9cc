"""Rule: merge a Project into the Project above it and drop identity Projects.

    Project(a + 1 AS x)                    Project(o_x * 2 + 1 AS x)
      Project(o_x * 2 AS a)          ->      Scan(...)
        Scan(...)

Two Projects merge when the lower one's computed (non-column) expressions
are each read at most once above, so nothing is computed twice. A Project
that passes its input's columns through unchanged, in order and under the
same names, disappears (the schema's names and types stay the same).
"""

from __future__ import annotations

from collections import Counter

from ..expr import Column
from ..logical import LogicalPlan, Project
from ..tree import transform_up, walk
from .util import is_deterministic, substitute


def merge_projections(plan: LogicalPlan, ctx) -> LogicalPlan:
    def fn(node):
        if not isinstance(node, Project):
            return node
        if isinstance(node.input, Project):
            merged = _merge(node, node.input)
            if merged is not None:
                node = merged
        return node.input if _is_identity(node) else node

    return transform_up(plan, fn)[0]


def _is_identity(node) -> bool:
    if not isinstance(node, Project):
        return False
    fields = node.input.schema
    return (len(fields) == len(node.exprs)
            and all(isinstance(e, Column) and e.name == f.name == n
                    for e, f, n in zip(node.exprs, fields, node.names)))


def _merge(upper: Project, lower: Project) -> Project | None:
    mapping = dict(zip(lower.names, lower.exprs))
    uses = Counter(x.name for e in upper.exprs for x in walk(e) if isinstance(x, Column))
    for name, e in mapping.items():
        if not isinstance(e, Column) and (uses[name] > 1 or not is_deterministic(e)):
            return None
    exprs = tuple(substitute(e, mapping) for e in upper.exprs)
    return Project(lower.input, exprs, upper.names)
