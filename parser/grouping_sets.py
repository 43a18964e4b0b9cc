"""GROUP BY ROLLUP / CUBE / GROUPING SETS, as a UNION ALL of plain GROUP BYs.

    SELECT a, b, sum(x) FROM t GROUP BY ROLLUP (a, b)
 == SELECT a, b, sum(x) FROM t GROUP BY a, b
    UNION ALL SELECT a, NULL AS b, sum(x) FROM t GROUP BY a
    UNION ALL SELECT NULL AS a, NULL AS b, sum(x) FROM t

In each branch a grouping column that is not in the branch's set is NULL
outside aggregate arguments (in the select list and HAVING), and
GROUPING(col, ...) is the constant bit mask of the missing columns. ORDER BY
and LIMIT move to the union (they may name output columns). This is a
rewrite of the sqlglot tree before binding; the binder never sees a
grouping set.
"""

from __future__ import annotations

import itertools

from sqlglot import exp

from .naming import display_name

_KINDS = (exp.Rollup, exp.Cube, exp.GroupingSets)


def has_grouping_sets(sel: exp.Select) -> bool:
    group = sel.args.get("group")
    return group is not None and any(isinstance(g, _KINDS) for g in group.expressions)


def _sets_of(element: exp.Expression) -> list[list[exp.Expression]]:
    """The grouping sets one GROUP BY element stands for."""
    if isinstance(element, exp.Rollup):
        cols = list(element.expressions)
        return [cols[:i] for i in range(len(cols), -1, -1)]
    if isinstance(element, exp.Cube):
        cols = list(element.expressions)
        return [[c for c, keep in zip(cols, mask) if keep]
                for mask in itertools.product((True, False), repeat=len(cols))]
    if isinstance(element, exp.GroupingSets):
        out = []
        for s in element.expressions:
            if isinstance(s, exp.Tuple):
                out.append(list(s.expressions))
            elif isinstance(s, exp.Paren):
                out.append([s.this])
            else:
                out.append([s])
        return out
    return [[element]]


def grouping_sets(sel: exp.Select) -> tuple[list[exp.Expression], list[list[exp.Expression]]]:
    """(every grouping expression, the list of sets): the cross product of
    the elements' sets (GROUP BY a, ROLLUP (b) = sets (a, b), (a))."""
    sets: list[list[exp.Expression]] = [[]]
    for element in sel.args["group"].expressions:
        sets = [left + right for left in sets for right in _sets_of(element)]
    every: list[exp.Expression] = []
    for s in sets:
        for e in s:
            if not any(_same(e, o) for o in every):
                every.append(e)
    return every, sets


def _same(a: exp.Expression, b: exp.Expression) -> bool:
    if isinstance(a, exp.Column) and isinstance(b, exp.Column) and (
            not a.table or not b.table):
        return a.name.lower() == b.name.lower()
    return a == b


def _inside_aggregate(node: exp.Expression, root: exp.Expression) -> bool:
    p = node.parent
    while p is not None and p is not root.parent:
        if isinstance(p, exp.AggFunc) or (isinstance(p, exp.Anonymous)
                                           and p.name.lower() in ("count_if", "string_agg")):
            return True
        if isinstance(p, exp.Window):
            return True
        p = p.parent
    return False


def _rewrite(node: exp.Expression, missing: list[exp.Expression],
             every: list[exp.Expression]) -> exp.Expression:
    """`node` with the missing grouping expressions as NULL (outside
    aggregates) and GROUPING(...) as constants."""
    root = node

    def fix(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Grouping):
            bits = 0
            for arg in n.expressions:
                bits = bits * 2 + (1 if any(_same(arg, m) for m in missing) else 0)
            return exp.Literal.number(bits)
        if any(_same(n, m) for m in missing) and not _inside_aggregate(n, root):
            return exp.Null()
        return n

    return root.transform(fix, copy=True)


def expand(sel: exp.Select) -> exp.Expression:
    """The UNION ALL that a SELECT with grouping sets stands for."""
    every, sets = grouping_sets(sel)
    order, limit, offset = sel.args.get("order"), sel.args.get("limit"), sel.args.get("offset")
    branches = []
    for current in sets:
        missing = [e for e in every if not any(_same(e, c) for c in current)]
        branch = sel.copy()
        for key in ("order", "limit", "offset"):
            branch.set(key, None)
        items = []
        for item in sel.expressions:
            if isinstance(item, exp.Alias) and any(
                    isinstance(m, exp.Column) and not m.table
                    and m.name.lower() == item.alias.lower() for m in missing):
                # GROUP BY ROLLUP (y) naming the select item `... AS y`
                items.append(exp.alias_(exp.Null(), item.alias, quoted=True))
                continue
            new = _rewrite(item, missing, every)
            if not isinstance(item, exp.Alias) and new != item:
                name = item.sql("duckdb") if isinstance(item, exp.Grouping) else \
                    display_name(item)
                new = exp.alias_(new, name, quoted=True)
            items.append(new)
        branch.set("expressions", items)
        if current:
            branch.set("group", exp.Group(expressions=[c.copy() for c in current]))
        else:
            branch.set("group", None)
        having = sel.args.get("having")
        if having is not None:
            branch.set("having", _rewrite(having, missing, every))
        branches.append(branch)
    union = branches[0]
    for b in branches[1:]:
        union = exp.Union(this=union, expression=b, distinct=False)
    if order is not None:
        union.set("order", order.copy())
    if limit is not None:
        union.set("limit", limit.copy())
    if offset is not None:
        union.set("offset", offset.copy())
    return union
