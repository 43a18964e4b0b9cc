"""GROUP BY ROLLUP / CUBE / GROUPING SETS (and GROUPING(...)), as a UNION ALL
of plain GROUP BYs under an outer SELECT.

    SELECT a, b, sum(x), rank() OVER (PARTITION BY a ORDER BY b)
    FROM t GROUP BY ROLLUP (a, b) ORDER BY 1
 == SELECT g0 AS a, g1 AS b, a0 AS "sum(x)", rank() OVER (PARTITION BY g0 ORDER BY g1)
    FROM (SELECT a AS g0, b AS g1, sum(x) AS a0 FROM t GROUP BY a, b
          UNION ALL SELECT a, NULL, sum(x) FROM t GROUP BY a
          UNION ALL SELECT NULL, NULL, sum(x) FROM t) AS gs
    ORDER BY 1

Each branch computes the grouping expressions (NULL when not in its set),
the aggregate calls and the GROUPING(...) bit masks (constants per branch)
of the query; HAVING stays in the branches. The outer SELECT reads those
columns in place of the expressions, so window functions, DISTINCT and
ORDER BY see the whole grouped result, as SQL says. A branch for the empty
set aggregates the whole input to one row even when no aggregate is called
(`grand_total` meta). A SELECT with a plain GROUP BY that calls GROUPING(...)
goes the same way, with one set. This is a rewrite of the sqlglot tree before
binding; the binder never sees a grouping set.
"""

from __future__ import annotations

import itertools

from sqlglot import exp

from .naming import display_name

_KINDS = (exp.Rollup, exp.Cube, exp.GroupingSets)
_ANON_AGGS = ("count_if", "string_agg", "arg_min", "arg_max", "median", "quantile_cont",
              "quantile_disc", "approx_count_distinct", "first", "last", "list",
              "array_agg", "bool_and", "bool_or", "product", "mode")
GRAND_TOTAL = "grand_total"


def _owned(sel: exp.Select, node: exp.Expression) -> bool:
    """Is `node` part of `sel` itself, not of a subquery inside it?"""
    return node.find_ancestor(exp.Select) is sel


def has_grouping_sets(sel: exp.Select) -> bool:
    """Does this SELECT need the rewrite: grouping sets, or GROUPING(...)
    with a plain GROUP BY?"""
    group = sel.args.get("group")
    if group is None:
        return False
    if any(isinstance(g, _KINDS) for g in group.expressions):
        return True
    return any(_owned(sel, g) for g in sel.find_all(exp.Grouping))

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


def _is_window_function(node: exp.Expression) -> bool:
    parent = node.parent
    return isinstance(parent, exp.Window) and node.arg_key == "this"


def _is_aggregate(node: exp.Expression) -> bool:
    if isinstance(node, exp.Grouping):
        return False
    if isinstance(node, exp.AggFunc):
        return True
    return isinstance(node, exp.Anonymous) and node.name.lower() in _ANON_AGGS


def _inside_aggregate(node: exp.Expression, root: exp.Expression) -> bool:
    """Is `node` an argument of an aggregate call (not of a window function,
    which runs over the grouped rows)?"""
    p = node.parent
    while p is not None and p is not root.parent:
        if _is_aggregate(p) and not _is_window_function(p):
            return True
        p = p.parent
    return False


def _grouping_bits(ctx, n: exp.Grouping, missing, every) -> int:
    bits = 0
    for arg in n.expressions:
        if not any(_same(arg, e) for e in every):
            raise ctx.error(f"GROUPING argument '{arg.sql('duckdb')}' must be a grouping "
                            f"column", n)
        bits = bits * 2 + (1 if any(_same(arg, m) for m in missing) else 0)
    return bits


def _rewrite(ctx, node: exp.Expression, missing: list[exp.Expression],
             every: list[exp.Expression]) -> exp.Expression:
    """`node` with the missing grouping expressions as NULL (outside
    aggregates) and GROUPING(...) as constants."""
    root = node

    def fix(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Grouping):
            return exp.Literal.number(_grouping_bits(ctx, n, missing, every))
        if any(_same(n, m) for m in missing) and not _inside_aggregate(n, root):
            return exp.Null()
        return n

    return root.transform(fix, copy=True)


def _aggregates(sel: exp.Select) -> list[exp.Expression]:
    """The aggregate calls of this SELECT (not nested in another one, not
    window functions, not inside subqueries), each once."""
    out: list[exp.Expression] = []
    roots = list(sel.expressions)
    for key in ("order", "qualify"):
        if sel.args.get(key) is not None:
            roots.append(sel.args[key])

    def visit(node: exp.Expression) -> None:
        if isinstance(node, (exp.Select, exp.Subquery)):
            return
        if _is_aggregate(node) and not _is_window_function(node):
            if not any(node == o for o in out):
                out.append(node)
            return
        for child in node.iter_expressions():
            visit(child)

    for r in roots:
        visit(r)
    return out


def _groupings(sel: exp.Select) -> list[exp.Grouping]:
    out: list[exp.Grouping] = []
    for g in sel.find_all(exp.Grouping):
        if _owned(sel, g) and not any(g == o for o in out):
            out.append(g)
    return out


def _alias_targets(sel: exp.Select) -> dict[str, exp.Expression]:
    return {item.alias.lower(): item.this for item in sel.expressions
            if isinstance(item, exp.Alias)}


def expand(ctx, sel: exp.Select) -> exp.Expression:
    """The outer SELECT over the UNION ALL that a SELECT with grouping sets
    stands for."""
    every, sets = grouping_sets(sel)
    aliases = _alias_targets(sel)
    aggs = _aggregates(sel)
    groupings = _groupings(sel)

    # the names the branches give their columns
    group_names = []
    for i, e in enumerate(every):
        if isinstance(e, exp.Column) and not e.table and e.name.lower() in aliases:
            group_names.append(e.name)        # GROUP BY names a select alias
        else:
            group_names.append(f"__g{i}")
    agg_names = [f"__a{i}" for i in range(len(aggs))]
    grouping_names = [f"__r{i}" for i in range(len(groupings))]

    branches = []
    for current in sets:
        missing = [e for e in every if not any(_same(e, c) for c in current)]
        branch = sel.copy()
        for key in ("order", "limit", "offset", "distinct", "qualify", "windows", "with_",
                    "with"):
            if key in branch.args:
                branch.set(key, None)
        items = []
        for e, name in zip(every, group_names):
            value = aliases.get(name.lower(), e) if not name.startswith("__g") else e
            if any(_same(e, m) for m in missing):
                # a NULL of the expression's type, so the branches' columns
                # meet in that type whatever the order of the sets
                value = exp.Case(ifs=[exp.If(this=exp.false(), true=exp.First(this=value.copy()))])
            items.append(exp.alias_(value.copy(), name, quoted=True))
        items += [exp.alias_(a.copy(), n, quoted=True) for a, n in zip(aggs, agg_names)]
        items += [exp.alias_(exp.Literal.number(_grouping_bits(ctx, g, missing, every)), n,
                             quoted=True) for g, n in zip(groupings, grouping_names)]
        if not items:
            items = [exp.alias_(exp.Literal.number(0), "__none", quoted=True)]
        branch.set("expressions", items)
        if current:
            branch.set("group", exp.Group(expressions=[c.copy() for c in current]))
        else:
            branch.set("group", None)
            branch.meta[GRAND_TOTAL] = True
        having = sel.args.get("having")
        if having is not None:
            branch.set("having", _rewrite(ctx, having, missing, every))
        branches.append(branch)
    union = branches[0]
    for b in branches[1:]:
        union = exp.Union(this=union, expression=b, distinct=False)

    def ref(name: str) -> exp.Column:
        return exp.column(name, table="__gs", quoted=True)

    def substitute(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Grouping):
            for g, name in zip(groupings, grouping_names):
                if n == g:
                    return ref(name)
        if _is_aggregate(n) and not _is_window_function(n):
            for a, name in zip(aggs, agg_names):
                if n == a:
                    return ref(name)
        if isinstance(n, (exp.Expression)) and not isinstance(n, (exp.Identifier, exp.Star)):
            for e, name in zip(every, group_names):
                if _same(n, e):
                    return ref(name)
        return n

    outer = exp.Select()
    items = []
    for item in sel.expressions:
        if isinstance(item, exp.Alias):
            if item.alias.lower() in {n.lower() for n in group_names}:
                new = exp.alias_(ref(next(n for n in group_names
                                          if n.lower() == item.alias.lower())),
                                 item.alias, quoted=True)
            else:
                new = exp.alias_(item.this.transform(substitute, copy=True), item.alias,
                                 quoted=True)
        else:
            name = item.sql("duckdb") if isinstance(item, exp.Grouping) else \
                display_name(item)
            new = exp.alias_(item.transform(substitute, copy=True), name, quoted=True)
        items.append(new)
    outer.set("expressions", items)
    alias = exp.TableAlias(this=exp.to_identifier("__gs", quoted=True))
    outer.set("from_", exp.From(this=exp.Subquery(this=union, alias=alias)))
    for key in ("order", "qualify"):
        if sel.args.get(key) is not None:
            outer.set(key, sel.args[key].transform(substitute, copy=True))
    for key in ("limit", "offset", "distinct"):
        if sel.args.get(key) is not None:
            outer.set(key, sel.args[key].copy())
    if sel.args.get("windows"):
        outer.set("windows", [w.transform(substitute, copy=True) for w in sel.args["windows"]])
    return outer
