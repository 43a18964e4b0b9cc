"""Helpers for optimizer tests: hand-built plans over fake sources, and a tiny
row-at-a-time reference interpreter of logical plans (test code only) so a
rewrite can be checked for the same answer as the plan it replaced,
subqueries evaluated naively per outer row."""

from __future__ import annotations

import types
from collections import Counter

import pyarrow as pa
import pytest

from quiver import datatypes as dt
from quiver.planner import expr as E
from quiver.planner import logical as L


class FakeSource:
    def __init__(self, schema: pa.Schema, num_rows: int, rows=None):
        self.schema = schema
        self.num_rows = num_rows
        self.rows = rows or []        # list of dicts, for the interpreter


def scan(table: str, cols: dict, num_rows: int = 1000, rows=None, tag=None) -> L.Scan:
    """Scan whose output names are `<col>#<tag or table>`."""
    tag = tag or table
    schema = pa.schema([(c, t) for c, t in cols.items()])
    src = FakeSource(schema, num_rows if rows is None else len(rows), rows)
    fields = tuple(L.Field(f"{c}#{tag}", t) for c, t in cols.items())
    return L.Scan(table, src, fields, tuple(cols))


def col(plan: L.LogicalPlan, short: str) -> E.Column:
    for f in plan.schema:
        if f.name.split("#")[0] == short or f.name == short:
            return E.Column(f.name, f.dtype, f.nullable)
    raise KeyError(short)


def lit(v, t=dt.INT32):
    return E.Literal(v, t)


def call(fn, *args, t=dt.BOOL):
    return E.Call(fn, tuple(args), t)


def eq(a, b):
    return call("eq", a, b)


def and_(*args):
    return E.conjoin(list(args))


def project(plan, *cols_):
    cs = [c if isinstance(c, E.Expr) else col(plan, c) for c in cols_]
    return L.Project(plan, tuple(cs), tuple(c.name for c in cs))


# --- reference interpreter ------------------------------------------------------

def _cmp(fn, a, b):
    if a is None or b is None:
        return None
    return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b,
            "gt": a > b, "ge": a >= b}[fn]


def ev(e, row: dict):
    if isinstance(e, E.Column):
        return row[e.name]
    if isinstance(e, E.Literal):
        return e.value
    if isinstance(e, E.Cast):
        return ev(e.arg, row)
    if isinstance(e, E.ScalarSubquery):
        out = run(e.plan, row)
        assert len(out) <= 1
        return out[0][0] if out else None
    if isinstance(e, E.Exists):
        return (len(run(e.plan, row)) > 0) != e.negated
    if isinstance(e, E.InSubquery):
        x = ev(e.arg, row)
        vals = [r[0] for r in run(e.plan, row)]
        if x is not None and x in vals:
            res = True
        elif x is None and vals or None in vals:
            res = None
        else:
            res = False
        return (None if res is None else not res) if e.negated else res
    if isinstance(e, E.Case):
        for c, r in zip(e.conditions, e.results):
            if ev(c, row) is True:
                return ev(r, row)
        return None if e.default is None else ev(e.default, row)
    if isinstance(e, E.Call):
        fn = e.fn
        if fn == "and":
            a = ev(e.args[0], row)
            if a is False:  # short-circuit: keeps naive subqueries affordable
                return False
            b = ev(e.args[1], row)
            if b is False:
                return False
            return None if a is None or b is None else True
        if fn == "or":
            a, b = ev(e.args[0], row), ev(e.args[1], row)
            if a is True or b is True:
                return True
            return None if a is None or b is None else False
        args = [ev(a, row) for a in e.args]
        if fn == "not":
            return None if args[0] is None else not args[0]
        if fn == "coalesce":
            return next((a for a in args if a is not None), None)
        if fn == "is_null":
            return args[0] is None
        if fn == "is_not_null":
            return args[0] is not None
        if fn in ("eq", "ne", "lt", "le", "gt", "ge"):
            return _cmp(fn, *args)
        if any(a is None for a in args):
            return None
        if fn == "add":
            return args[0] + args[1]
        if fn == "sub":
            return args[0] - args[1]
        if fn == "mul":
            return args[0] * args[1]
    raise NotImplementedError(repr(e))


def _agg(a, rows):
    if a.filter is not None:
        rows = [r for r in rows if ev(a.filter, r) is True]
    if a.fn == "count_star":
        return len(rows)
    vals = [ev(a.args[0], r) for r in rows]
    vals = [v for v in vals if v is not None]
    if a.distinct:
        vals = list(dict.fromkeys(vals))
    if a.fn == "count":
        return len(vals)
    if not vals:
        return None
    return {"sum": sum, "min": min, "max": max,
            "avg": lambda v: sum(v) / len(v)}[a.fn](vals)


def _rows(plan, outer):
    """Rows of `plan` as dicts keyed by output name (plus outer names)."""
    if isinstance(plan, L.Scan):
        out = []
        for r in plan.source.rows:
            d = dict(outer)
            d.update({f.name: r[c] for f, c in zip(plan.fields, plan.columns)})
            if all(ev(p, d) is True for p in plan.filters):
                out.append(d)
        return out
    if isinstance(plan, L.Values):
        return [dict(outer, **{f.name: ev(v, outer) for f, v in zip(plan.fields, r)})
                for r in plan.rows]
    if isinstance(plan, L.Filter):
        return [r for r in _rows(plan.input, outer) if ev(plan.predicate, r) is True]
    if isinstance(plan, L.Project):
        return [dict(outer, **{n: ev(e, r) for n, e in zip(plan.names, plan.exprs)})
                for r in _rows(plan.input, outer)]
    if isinstance(plan, (L.Sort, L.Distinct)):
        rows = _rows(plan.input, outer)
        if isinstance(plan, L.Distinct):
            seen, out = set(), []
            for r in rows:
                k = tuple(r[n] for n in plan.names)
                if k not in seen:
                    seen.add(k)
                    out.append(r)
            return out
        return rows
    if isinstance(plan, L.EnforceSingleRow):
        rows = _rows(plan.input, outer)
        assert len(rows) <= 1
        return rows
    if isinstance(plan, L.Aggregate):
        rows = _rows(plan.input, outer)
        groups: dict = {}
        for r in rows:
            groups.setdefault(tuple(ev(g, r) for g in plan.group_exprs), []).append(r)
        if not plan.group_exprs and not groups:
            groups[()] = []
        out = []
        for k, rs in groups.items():
            d = dict(outer, **dict(zip(plan.group_names, k)))
            d.update({n: _agg(a, rs) for n, a in zip(plan.agg_names, plan.aggs)})
            out.append(d)
        return out
    if isinstance(plan, L.Join):
        return _join(plan, outer)
    if isinstance(plan, L.Union):
        out = []
        for i in plan.inputs:  # by position, under the first input's names
            out += [dict(outer, **dict(zip(plan.names, (r[n] for n in i.names))))
                    for r in _rows(i, outer)]
        if not plan.all:
            seen, uniq = set(), []
            for r in out:
                k = tuple(r[n] for n in plan.names)
                if k not in seen:
                    seen.add(k)
                    uniq.append(r)
            out = uniq
        return out
    raise NotImplementedError(type(plan).__name__)


def _join(plan, outer):
    left, right = _rows(plan.left, outer), _rows(plan.right, outer)
    lnames, rnames = plan.left.names, plan.right.names

    def match(l, r):
        if plan.condition is None:
            return True
        row = {**l, **r}
        if plan.null_equals_null:     # every conjunct an equality; NULL = NULL holds
            return all(ev(c, row) is True or (
                isinstance(c, E.Call) and c.fn == "eq"
                and ev(c.args[0], row) is None and ev(c.args[1], row) is None)
                for c in E.conjuncts(plan.condition))
        return ev(plan.condition, row)
    out = []
    if plan.kind in ("semi", "anti"):
        for l in left:
            hit = any(match(l, r) is True for r in right)
            if hit == (plan.kind == "semi"):
                out.append(l)
        return out
    if plan.kind == "null_aware_anti":
        # x NOT IN (the right rows the correlation conjuncts after the first,
        # `x = column`, hold for): a NULL correlation value just fails to match
        first, *rest = E.conjuncts(plan.condition)
        for l in left:
            rows = [r for r in right if all(ev(c, {**l, **r}) is True for c in rest)]
            if all(ev(first, {**l, **r}) is False for r in rows):
                out.append(l)
        return out
    matched_r = set()
    for l in left:
        hit = False
        for j, r in enumerate(right):
            if match(l, r) is True:
                out.append({**l, **r})
                hit = True
                matched_r.add(j)
        if not hit and plan.kind in ("left", "full"):
            out.append({**l, **{n: None for n in rnames}})
    if plan.kind in ("right", "full"):
        for j, r in enumerate(right):
            if j not in matched_r:
                out.append({**{n: None for n in lnames}, **r})
    return out


def run(plan, outer=None):
    """Result rows of a plan as a list of tuples in schema order."""
    outer = outer or {}
    return [tuple(r[n] for n in plan.names) for r in _rows(plan, outer)]


def same_rows(a, b) -> bool:
    return Counter(run(a)) == Counter(run(b))


@pytest.fixture
def h():
    return types.SimpleNamespace(
        scan=scan, col=col, lit=lit, call=call, eq=eq, and_=and_, project=project,
        run=run, same_rows=same_rows, FakeSource=FakeSource, E=E, L=L, dt=dt)
