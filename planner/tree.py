"""Generic traversal for frozen-dataclass trees: plans and expressions alike.

A node class names its child fields in the class constant `_children`; a field
may hold one node, None, or a tuple of nodes. Nodes whose expressions should be
visited by `map_expressions` name those fields in `_expressions` (a field may
hold an expression, None, a tuple of expressions, or a tuple of tuples).

Every transform returns `(new_node, changed)` so the optimizer can stop at a
fixpoint; unchanged subtrees are returned as the very same objects.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, TypeVar

N = TypeVar("N")


def children(node: Any) -> tuple:
    names = getattr(node, "_children", ())
    if not names:
        return ()
    out = []
    for name in names:
        value = getattr(node, name)
        if value is None:
            continue
        if isinstance(value, tuple):
            for v in value:
                if v is not None:
                    out.append(v)
        else:
            out.append(value)
    return tuple(out)


def with_children(node: N, new_children: tuple) -> N:
    """Rebuild `node` with `new_children` in the order `children` gives."""
    it = iter(new_children)
    changes = {}
    for name in getattr(node, "_children", ()):
        value = getattr(node, name)
        if value is None:
            continue
        if isinstance(value, tuple):
            changes[name] = tuple(next(it) if v is not None else None for v in value)
        else:
            changes[name] = next(it)
    if all(_same(changes[k], getattr(node, k)) for k in changes):
        return node
    return dataclasses.replace(node, **changes)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))
    return a is b


def transform_up(node: N, fn: Callable[[Any], Any]) -> tuple[N, bool]:
    """Apply `fn` bottom-up; `fn` returns a node (the same one if unchanged)."""
    kids = children(node)
    changed = False
    if kids:
        new_kids = []
        for k in kids:
            nk, c = transform_up(k, fn)
            changed |= c
            new_kids.append(nk)
        if changed:
            node = with_children(node, tuple(new_kids))
    out = fn(node)
    return out, changed or out is not node


def transform_down(node: N, fn: Callable[[Any], Any]) -> tuple[N, bool]:
    """Apply `fn` top-down; children of the node `fn` returns are visited."""
    out = fn(node)
    changed = out is not node
    kids = children(out)
    if kids:
        new_kids = []
        kid_changed = False
        for k in kids:
            nk, c = transform_down(k, fn)
            kid_changed |= c
            new_kids.append(nk)
        if kid_changed:
            out = with_children(out, tuple(new_kids))
            changed = True
    return out, changed


def walk(node: Any) -> Iterator[Any]:
    """Pre-order iteration over a tree (one generator and a stack: nested
    generators, one per level, made every node cost a chain of resumes)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        kids = children(n)
        if kids:
            stack.extend(reversed(kids))


def expressions(node: Any) -> Iterator[Any]:
    """The top-level expressions a plan node holds (not its children's)."""
    for name in getattr(node, "_expressions", ()):
        yield from _flatten(getattr(node, name))


def _flatten(value: Any) -> Iterator[Any]:
    if value is None:
        return
    if isinstance(value, tuple):
        for v in value:
            yield from _flatten(v)
    else:
        yield value


def map_expressions(node: N, fn: Callable[[Any], Any]) -> N:
    """Rebuild a plan node with `fn` applied to each of its expressions."""
    changes = {}
    for name in getattr(node, "_expressions", ()):
        old = getattr(node, name)
        new = _map_nested(old, fn)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(node, **changes) if changes else node


def _map_nested(value: Any, fn: Callable[[Any], Any]) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple):
        new = tuple(_map_nested(v, fn) for v in value)
        return value if all(a is b for a, b in zip(new, value)) else new
    return fn(value)
