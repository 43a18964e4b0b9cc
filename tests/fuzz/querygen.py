"""Seeded random SQL query generator for differential testing against DuckDB.

Queries range over the golden-test tables (tests/sqllogic/testdata.py) and use
only SQL that both Quiver and DuckDB read the same way. Every generated query
comes with a flag saying whether its row order is total (ORDER BY over every
output column), so callers know whether to compare in order or as multisets.

    gen = QueryGen(seed)
    q = gen.query()        # Query(sql=..., ordered=bool)
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# column types: int, double, decimal, str, date, bool
TABLES: dict[str, list[tuple[str, str]]] = {
    "nums": [("id", "int"), ("i", "int"), ("k", "int"), ("d", "double"), ("m", "decimal"),
             ("s", "str"), ("dt", "date"), ("b", "bool")],
    "dim": [("k", "int"), ("name", "str"), ("grp", "str")],
    "skew": [("key", "int"), ("v", "int")],
    "empty": [("a", "int"), ("s", "str")],
    "events": [("event_id", "int"), ("amount", "double"), ("kind", "str"), ("year", "int"),
               ("region", "str")],
    # type edges: unsigned integers, BIGINTs near 2^63, DECIMAL(38,0) / (38,10)
    "edges": [("id", "int"), ("u8", "int"), ("i8", "int"), ("u16", "int"), ("u32", "int"), ("i32", "int"),
              ("u64", "int"), ("i64", "int"), ("g", "int"), ("d380", "decimal"),
              ("d3810", "decimal")],
}
# tables drawn for a FROM item, with weights (skew is big: joined only on small keys)
FROM_WEIGHTS = {"nums": 6, "dim": 3, "skew": 1, "empty": 1, "events": 3, "edges": 2}
# join key pairs (left table.col, right table.col) that keep results small
JOIN_KEYS = [
    ("nums", "k", "dim", "k"), ("nums", "k", "nums", "k"), ("nums", "i", "nums", "k"),
    ("nums", "id", "nums", "id"), ("nums", "s", "nums", "s"), ("nums", "dt", "nums", "dt"),
    ("nums", "s", "events", "kind"), ("nums", "i", "dim", "k"), ("dim", "grp", "dim", "grp"),
    ("dim", "k", "skew", "key"), ("nums", "k", "skew", "key"), ("events", "kind", "events", "kind"),
    ("events", "year", "events", "year"), ("nums", "k", "empty", "a"), ("empty", "s", "dim", "name"),
    ("dim", "name", "nums", "s"), ("nums", "id", "events", "event_id"), ("nums", "b", "nums", "b"),
    ("edges", "g", "dim", "k"), ("edges", "u8", "nums", "i"), ("edges", "i8", "nums", "k"),
    ("edges", "u64", "edges", "i64"), ("edges", "d380", "edges", "d3810"),
    ("edges", "g", "edges", "g"), ("edges", "u16", "edges", "u16"), ("edges", "d3810", "nums", "m"),
]
STR_LITS = ["'apple'", "'banana'", "''", "'Grape'", "'ümlaut'", "'fig'", "'name3'", "'a'",
            "'b'", "'click'", "'buy'", "'eu'", "'zzz'"]
LIKE_PATS = ["'a%'", "'%an%'", "'_i_'", "'%e'", "'name_'", "'%'", "'G%'", "'%ü%'", "''"]
DATE_LITS = ["DATE '2020-01-01'", "DATE '2021-06-15'", "DATE '2022-09-26'", "DATE '2020-12-31'"]


@dataclass
class Query:
    sql: str
    ordered: bool = False


@dataclass
class Rel:
    alias: str
    table: str
    columns: list | None = None     # [(name, type)] of a derived table
    sql: str | None = None          # "(SELECT ...)" of a derived table

    def cols(self, typ=None):
        return [f"{self.alias}.{c}" for c, t in self.schema() if typ is None or t == typ]

    def schema(self):
        return self.columns if self.columns is not None else TABLES[self.table]

    def ref(self) -> str:
        return f"{self.sql or self.table} {self.alias}"


class QueryGen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.n_alias = 0
        self.sub_ok = True      # may predicates nest subqueries (not inside subqueries)

    # ---- helpers -------------------------------------------------------
    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def alias(self) -> str:
        self.n_alias += 1
        return f"t{self.n_alias}"

    def table(self) -> str:
        names = list(FROM_WEIGHTS)
        return self.r.choices(names, [FROM_WEIGHTS[n] for n in names])[0]

    def col(self, scope: list[Rel], typ: str):
        cands = [c for rel in scope for c in rel.cols(typ)]
        return self.pick(cands) if cands else None

    # ---- expressions ---------------------------------------------------
    def literal(self, typ: str) -> str:
        r = self.r
        if typ == "int":
            return str(r.randint(-20, 60))
        if typ == "double":
            return f"{r.uniform(-100, 100):.3f}e0"
        if typ == "decimal":
            return f"{r.randint(-999, 999) / 100:.2f}"
        if typ == "str":
            return self.pick(STR_LITS)
        if typ == "date":
            return self.pick(DATE_LITS)
        if typ == "ts":
            return self.pick(["TIMESTAMP '2021-03-01 10:30:00'", "TIMESTAMP '2020-06-15 00:00:00'"])
        return self.pick(["TRUE", "FALSE"])

    def expr(self, typ: str, scope: list[Rel], depth: int = 2) -> str:
        col = self.col(scope, typ)
        if depth <= 0 or self.chance(0.35):
            if col is not None and self.chance(0.8):
                return col
            if typ == "bool":
                return self.pred(scope, 0)
            return self.literal(typ)
        return getattr(self, f"_expr_{typ}")(scope, depth - 1)

    def _common(self, typ, scope, depth):
        """CASE / COALESCE / NULLIF forms shared by every type."""
        e = lambda: self.expr(typ, scope, depth)  # noqa: E731
        k = self.r.randint(0, 3)
        if k == 0:
            return f"CASE WHEN {self.pred(scope, depth)} THEN {e()} ELSE {e()} END"
        if k == 1:
            return f"COALESCE({e()}, {e()})"
        if k == 2:
            return f"CASE WHEN {self.pred(scope, depth)} THEN {e()} END"
        return f"CASE {e()} WHEN {e()} THEN {e()} WHEN {e()} THEN {e()} ELSE {e()} END"

    def _expr_int(self, scope, depth):
        e = lambda: self.expr("int", scope, depth)  # noqa: E731
        k = self.r.randint(0, 11)
        if k in (0, 1):
            return f"({e()} {self.pick(['+', '-'])} {e()})"
        if k == 2:
            return f"({e()} * {self.r.randint(-3, 3)})"
        if k == 3:
            return f"({e()} % {self.pick(['3', '7', '-4'])})"
        if k == 4:
            return f"({e()} // {self.pick(['2', '5', '-3'])})"
        if k == 5:
            return f"abs({e()})"
        if k == 6:
            return f"length({self.expr('str', scope, depth)})"
        if k == 7:
            part = self.pick(["year", "month", "day", "dow", "doy", "quarter"])
            src = self.expr(self.pick(["date", "date", "ts"]), scope, depth)
            return f"extract({part} FROM {src})"
        if k == 8:
            return f"(- {e()})"
        if k == 9:
            st = self.pick(['double', 'decimal', 'str', 'bool'])
            src = self.expr(st, scope, depth)
            if st == "str" or self.chance(0.3):     # strings: only TRY_CAST
                return f"TRY_CAST({src} AS {self.pick(['BIGINT', 'INTEGER'])})"
            return f"CAST({src} AS {self.pick(['BIGINT', 'INTEGER', 'SMALLINT'])})"
        if k == 10 and self.chance(0.5):
            fn = self.pick(["strpos", "ascii", "date_diff"])
            if fn == "date_diff":
                return (f"date_diff({self.pick(['%s' % chr(39) + 'day' + chr(39), chr(39) + 'month' + chr(39), chr(39) + 'year' + chr(39)])}, "
                        f"{self.expr('date', scope, depth)}, {self.expr('date', scope, depth)})")
            if fn == "ascii":
                return f"ascii({self.expr('str', scope, depth)})"
            return f"strpos({self.expr('str', scope, depth)}, {self.pick(['a', 'an', 'e', ''])!r})"
        if k == 10:
            return f"{self.pick(['greatest', 'least'])}({e()}, {e()})"
        return self._common("int", scope, depth)

    def _expr_double(self, scope, depth):
        e = lambda: self.expr("double", scope, depth)  # noqa: E731
        k = self.r.randint(0, 9)
        if k in (0, 1):
            return f"({e()} {self.pick(['+', '-'])} {e()})"
        if k == 2:
            return f"({e()} * {self.literal('double')})"
        if k == 3:
            return f"({self.expr('int', scope, depth)} / NULLIF({self.expr('int', scope, depth)}, 0))"
        if k == 4:
            return f"abs({e()})"
        if k == 5:
            return f"round({e()}, {self.r.randint(0, 2)})"
        if k == 6:
            return f"CAST({self.expr(self.pick(['int', 'decimal']), scope, depth)} AS DOUBLE)"
        if k == 7:
            return f"({e()} / NULLIF({e()}, 0e0))"
        if k == 8 and self.chance(0.6):
            other = self.expr(self.pick(["int", "decimal"]), scope, depth)
            return f"({e()} {self.pick(['+', '-', '*'])} {other})"
        if k == 9 and self.chance(0.6):
            k2 = self.r.randint(0, 4)
            if k2 == 0:
                return f"COALESCE({e()}, {self.expr(self.pick(['int', 'decimal']), scope, depth)})"
            if k2 == 1:
                return f"{self.pick(['floor', 'ceil', 'sign'])}({e()})"
            if k2 == 2:
                return (f"({self.expr('decimal', scope, depth)} / "
                        f"NULLIF({self.expr('decimal', scope, depth)}, 0))")
            if k2 == 3:
                return f"CASE WHEN {self.pred(scope, depth)} THEN {e()} ELSE {self.expr('int', scope, depth)} END"
            return f"sqrt(abs({e()}))"
        return self._common("double", scope, depth)

    def _expr_decimal(self, scope, depth):
        e = lambda: self.expr("decimal", scope, depth)  # noqa: E731
        k = self.r.randint(0, 7)
        if k in (0, 1):
            return f"({e()} {self.pick(['+', '-'])} {e()})"
        if k == 2:
            return f"({e()} * {self.pick(['2', '-1', '0.5', '1.25'])})"
        if k == 3:
            return f"abs({e()})"
        if k == 4:
            return f"CAST({self.expr('int', scope, depth)} AS DECIMAL(12, 2))"
        if k == 5:
            return f"round({e()}, {self.r.randint(0, 1)})"
        if k == 6 and self.chance(0.6):
            return f"({e()} {self.pick(['+', '-'])} {self.expr('int', scope, depth)})"
        if k == 7 and self.chance(0.7):
            k2 = self.r.randint(0, 5)
            if k2 == 0:
                return f"({e()} * {e()})"
            if k2 == 1:
                return f"CAST({self.expr('double', scope, depth)} AS DECIMAL(14, 2))"
            if k2 == 2:
                return f"CAST({e()} AS DECIMAL(18, {self.r.randint(0, 4)}))"
            if k2 == 3:
                return f"COALESCE({e()}, {self.expr('int', scope, depth)})"
            if k2 == 4:
                return f"CASE WHEN {self.pred(scope, depth)} THEN {e()} ELSE {self.expr('int', scope, depth)} END"
            return f"{self.pick(['floor', 'ceil'])}({e()})"
        return self._common("decimal", scope, depth)

    def _expr_str(self, scope, depth):
        e = lambda: self.expr("str", scope, depth)  # noqa: E731
        k = self.r.randint(0, 10)
        if k == 0:
            return f"upper({e()})"
        if k == 1:
            return f"lower({e()})"
        if k == 2:
            return f"substr({e()}, {self.r.randint(1, 3)}, {self.r.randint(0, 4)})"
        if k == 3:
            return f"({e()} || {e()})"
        if k == 4:
            return f"concat({e()}, {e()})"
        if k == 5:
            return f"CAST({self.expr('int', scope, depth)} AS VARCHAR)"
        if k == 6:
            return f"replace({e()}, {self.pick(['a', 'e', 'an'])!r}, {self.pick(['X', '', 'yy'])!r})"
        if k == 7:
            return f"trim({e()})"
        if k == 8 and self.chance(0.7):
            k2 = self.r.randint(0, 6)
            if k2 == 0:
                return f"{self.pick(['left', 'right'])}({e()}, {self.r.randint(0, 4)})"
            if k2 == 1:
                return f"{self.pick(['lpad', 'rpad'])}({e()}, {self.r.randint(0, 8)}, '*')"
            if k2 == 2:
                return f"reverse({e()})"
            if k2 == 3:
                return f"CAST({self.expr('date', scope, depth)} AS VARCHAR)"
            if k2 == 4:
                return f"split_part({e()}, {self.pick(['a', 'e', 'n'])!r}, {self.r.randint(1, 2)})"
            if k2 == 5:
                return f"NULLIF({e()}, {e()})"
            return f"{self.pick(['greatest', 'least'])}({e()}, {e()})"
        return self._common("str", scope, depth)

    def _expr_date(self, scope, depth):
        e = lambda: self.expr("date", scope, depth)  # noqa: E731
        k = self.r.randint(0, 4)
        if k == 0:
            return f"({e()} + {self.r.randint(-40, 40)})"
        if k == 1:
            return f"({e()} - {self.r.randint(0, 400)})"
        if k == 2 and self.chance(0.5):
            return f"{self.pick(['greatest', 'least'])}({e()}, {e()})"
        return self._common("date", scope, depth)

    def _expr_ts(self, scope, depth):
        d = lambda: self.expr("date", scope, depth)  # noqa: E731
        k = self.r.randint(0, 5)
        if k == 0:
            return f"date_trunc({self.pick(['year', 'quarter', 'month', 'week', 'day'])!r}, {d()})"
        if k == 1:
            return f"CAST({d()} AS TIMESTAMP)"
        if k == 2:
            return f"({d()} {self.pick(['+', '-'])} INTERVAL {self.r.randint(0, 40)} {self.pick(['DAY', 'MONTH', 'HOUR'])})"
        if k == 3:
            return f"({self.expr('ts', scope, depth)} + INTERVAL {self.r.randint(0, 90)} MINUTE)"
        return self._common("ts", scope, depth)

    def _expr_bool(self, scope, depth):
        return self.pred(scope, depth)

    def cmp_type(self):
        return self.r.choices(["int", "double", "decimal", "str", "date", "bool", "ts"],
                              [5, 3, 2, 3, 2, 1, 1])[0]

    def simple_pred(self, scope: list[Rel]) -> str:
        """column <op> literal shapes that scans can prune files and row
        groups with (statistics, Hive partition values)."""
        rel = self.pick(scope)
        name, typ = self.pick(rel.schema())
        col = f"{rel.alias}.{name}"
        lit = {"year": lambda: str(self.r.randint(2020, 2024)),
               "id": lambda: str(self.r.randint(-5, 205)),
               "v": lambda: str(self.r.randint(-5, 1005)),
               "key": lambda: str(self.pick([1, 2, 49, 50, 0]))}.get(name, lambda: self.literal(typ))
        k = self.r.randint(0, 5)
        if k == 0 or typ == "bool":
            return f"({col} IS {self.pick(['', 'NOT '])}NULL)"
        if k in (1, 2):
            return f"({col} {self.pick(['=', '<>', '<', '<=', '>', '>='])} {lit()})"
        if k == 3:
            return f"({lit()} {self.pick(['=', '<', '>='])} {col})"
        if k == 4:
            return f"({col} {self.pick(['', 'NOT '])}IN ({', '.join(lit() for _ in range(self.r.randint(1, 3)))}))"
        return f"({col} {self.pick(['', 'NOT '])}BETWEEN {lit()} AND {lit()})"

    def pred(self, scope: list[Rel], depth: int = 2) -> str:
        r = self.r
        if self.chance(0.25):
            p = self.simple_pred(scope)
            if depth > 0 and self.chance(0.4):
                p = f"({p} {self.pick(['AND', 'OR'])} {self.pred(scope, depth - 1)})"
            return f"(NOT {p})" if self.chance(0.15) else p
        k = r.randint(0, 12 if depth > 0 else 7)
        t = self.cmp_type()
        e = lambda typ=t: self.expr(typ, scope, max(depth - 1, 0))  # noqa: E731
        if k in (0, 1, 2):
            t2 = t
            if t in ("int", "double", "decimal") and self.chance(0.3):
                t2 = self.pick(["int", "double", "decimal"])
            elif t in ("date", "ts") and self.chance(0.4):
                t2 = self.pick(["date", "ts"])
            return f"({e()} {self.pick(['=', '<>', '<', '<=', '>', '>='])} {e(t2)})"
        if k == 3:
            return f"({e()} IS {self.pick(['', 'NOT '])}NULL)"
        if k == 4:
            items = ", ".join(self.literal(t) if self.chance(0.8) else "NULL"
                              for _ in range(r.randint(1, 4)))
            return f"({e()} {self.pick(['', 'NOT '])}IN ({items}))"
        if k == 5:
            if t == "bool":
                t = "int"
            return (f"({e(t)} {self.pick(['', 'NOT '])}BETWEEN {self.literal(t)} "
                    f"AND {self.literal(t)})")
        if k == 6:
            return f"({e('str')} {self.pick(['LIKE', 'NOT LIKE', 'ILIKE'])} {self.pick(LIKE_PATS)})"
        if k == 7:
            col = self.col(scope, "bool")
            if col:
                return col
            return f"({e()} IS {self.pick(['', 'NOT '])}DISTINCT FROM {e()})"
        if k in (8, 9):
            op = self.pick(["AND", "OR"])
            return f"({self.pred(scope, depth - 1)} {op} {self.pred(scope, depth - 1)})"
        if k == 10:
            if self.sub_ok and self.chance(0.15):
                return f"(NOT {self.subquery_pred(scope)})"
            return f"(NOT {self.pred(scope, depth - 1)})"
        if k == 9 and self.sub_ok and self.chance(0.15):
            return f"({self.pred(scope, depth - 1)} OR {self.subquery_pred(scope)})"
        if k == 11:
            return f"({e()} IS {self.pick(['', 'NOT '])}DISTINCT FROM {e()})"
        return f"(({self.pred(scope, depth - 1)}) IS {self.pick(['', 'NOT '])}{self.pick(['TRUE', 'FALSE', 'NULL'])})"

    # ---- subqueries ----------------------------------------------------
    def subquery_pred(self, scope: list[Rel]) -> str:
        """IN / NOT IN / EXISTS / scalar-subquery comparisons, correlated or not."""
        r = self.r
        saved, self.sub_ok = self.sub_ok, False
        try:
            return self._subquery_pred(scope)
        finally:
            self.sub_ok = saved

    def _subquery_pred(self, scope: list[Rel]) -> str:
        r = self.r
        inner = Rel(self.alias(), self.table())
        corr = ""
        if self.chance(0.5):
            typ = self._type_of(self.pick(inner.cols()))
            outer_col = self.col(scope, typ)
            if outer_col:
                corr = f"{self.col([inner], typ)} = {outer_col}"
        where_parts = [p for p in [corr, self.pred([inner], 1) if self.chance(0.5) else ""] if p]
        where = f" WHERE {' AND '.join(where_parts)}" if where_parts else ""
        k = r.randint(0, 3)
        if k == 0:
            typ = self._type_of(self.pick(inner.cols()))
            outer = self.expr(typ, scope, 1)
            neg = self.pick(["", "NOT "])
            return (f"({outer} {neg}IN (SELECT {self.col([inner], typ)} "
                    f"FROM {inner.ref()}{where}))")
        if k == 1:
            return f"({self.pick(['', 'NOT '])}EXISTS (SELECT 1 FROM {inner.ref()}{where}))"
        # scalar subquery with an aggregate
        typ = self.pick([t for t in ("int", "double", "decimal", "str", "date")
                         if self.col([inner], t)])
        agg = self.pick(["min", "max"] + (["sum", "count"] if typ in ("int", "decimal") else []))
        sub = f"(SELECT {agg}({self.col([inner], typ)}) FROM {inner.ref()}{where})"
        if agg == "count":
            typ = "int"
        outer = self.expr(typ, scope, 1)
        return f"({outer} {self.pick(['=', '<', '>=', '<>'])} {sub})"

    @staticmethod
    def _type_of(qualified: str | None):
        if qualified is None:
            return None
        return None if "." not in qualified else _COLTYPE.get(qualified.split(".", 1)[1])

    # ---- FROM clause ----------------------------------------------------
    def derived(self) -> Rel:
        """A grouped derived table: (SELECT key, aggregates FROM t GROUP BY key)."""
        base = Rel(self.alias(), self.pick(["nums", "nums", "events", "skew", "dim"]))
        kt = self.pick(["int", "str", "date", "bool"])
        key = self.col([base], kt) or self.col([base], "int")
        kt = _COLTYPE[key.split(".")[1]]
        cols = [("g", kt), ("cnt", "int")]
        sel = [f"{key} AS g", "count(*) AS cnt"]
        for i in range(self.r.randint(1, 2)):
            t = self.pick(["int", "double", "decimal", "str"])
            c = self.col([base], t)
            if c is None:
                continue
            fn = self.pick(["min", "max"] + (["sum"] if t != "str" else []))
            out_t = "decimal" if (fn == "sum" and t == "decimal") else t
            if fn == "sum" and t == "int":
                out_t = "int"
            sel.append(f"{fn}({c}) AS a{i}")
            cols.append((f"a{i}", out_t))
        saved, self.sub_ok = self.sub_ok, False
        where = f" WHERE {self.pred([base], 1)}" if self.chance(0.4) else ""
        self.sub_ok = saved
        sql = f"(SELECT {', '.join(sel)} FROM {base.ref()}{where} GROUP BY {key})"
        return Rel(self.alias(), "derived", cols, sql)

    def from_clause(self) -> tuple[str, list[Rel]]:
        if self.chance(0.1):
            d = self.derived()
            if self.chance(0.5):
                return d.ref(), [d]
            other = Rel(self.alias(), self.pick(["nums", "dim", "events"]))
            t = d.columns[0][1]
            oc = self.col([other], t)
            if oc:
                kind = self.pick(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
                return f"{d.ref()} {kind} {other.ref()} ON {d.alias}.g = {oc}", [d, other]
            return d.ref(), [d]
        if self.chance(0.4):
            rel = Rel(self.alias(), self.table())
            return f"{rel.table} {rel.alias}", [rel]
        frm, scope = self._join2()
        if self.chance(0.2):
            third = Rel(self.alias(), self.pick(["dim", "nums", "events"]))
            for typ in ("int", "str"):
                a, b = self.col(scope, typ), self.col([third], typ)
                if a and b:
                    kind = self.pick(["JOIN", "LEFT JOIN", "FULL JOIN", "RIGHT JOIN"])
                    return f"{frm} {kind} {third.ref()} ON {a} = {b}", scope + [third]
        return frm, scope

    def _join2(self) -> tuple[str, list[Rel]]:
        lt, lc, rt, rc = self.pick(JOIN_KEYS)
        if self.chance(0.5):
            lt, lc, rt, rc = rt, rc, lt, lc
        a, b = Rel(self.alias(), lt), Rel(self.alias(), rt)
        kind = self.r.choices(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN"],
                              [5, 4, 2, 2, 1])[0]
        if kind == "CROSS JOIN":
            if "skew" in (lt, rt) or (lt == "nums" and rt == "nums"):
                kind = "JOIN"
            else:
                return f"{a.table} {a.alias} CROSS JOIN {b.table} {b.alias}", [a, b]
        on = f"{a.alias}.{lc} = {b.alias}.{rc}"
        small = {"dim", "events", "empty"}
        if self.chance(0.25) and (lt in small or rt in small) and "skew" not in (lt, rc):
            # non-equi conditions: nested-loop joins (also RIGHT / FULL)
            on = self.pick([f"{a.alias}.{lc} < {b.alias}.{rc}",
                            f"({on} OR {self.pred([a, b], 0)})",
                            f"{a.alias}.{lc} <> {b.alias}.{rc} AND {self.pred([a, b], 0)}"])
        if self.chance(0.3):
            on += f" AND {self.pred([a, b], 1)}"
        return f"{a.table} {a.alias} {kind} {b.table} {b.alias} ON {on}", [a, b]

    def where(self, scope) -> str:
        if self.chance(0.3):
            return ""
        parts = [self.pred(scope, 2)]
        if self.chance(0.25):
            parts.append(self.subquery_pred(scope))
        return " WHERE " + " AND ".join(parts)

    # ---- query shapes ---------------------------------------------------
    def typed_select(self, types, scope) -> list[str]:
        return [self.expr(t, scope, 2) for t in types]

    def rand_types(self, lo=1, hi=4):
        return [self.cmp_type() for _ in range(self.r.randint(lo, hi))]

    def order_limit(self, types: list[str]) -> tuple[str, bool]:
        """ORDER BY every output column (so the order is total) and maybe a
        LIMIT. Computed doubles may differ between engines in the last bits,
        which would break ties differently: they sort last."""
        if not self.chance(0.4):
            return "", False
        n_cols = len(types)
        cols = self.r.sample(range(1, n_cols + 1), n_cols)
        cols.sort(key=lambda i: types[i - 1] == "double")
        keys = []
        for i in cols:
            key = str(i)
            if self.chance(0.5):
                key += self.pick([" ASC", " DESC"])
            if self.chance(0.5):
                key += self.pick([" NULLS FIRST", " NULLS LAST"])
            keys.append(key)
        tail = " ORDER BY " + ", ".join(keys)
        if self.chance(0.6):
            tail += f" LIMIT {self.r.randint(0, 15)}"
            if self.chance(0.3):
                tail += f" OFFSET {self.r.randint(0, 5)}"
        return tail, True

    def select_query(self) -> Query:
        frm, scope = self.from_clause()
        types = self.rand_types()
        cols = self.typed_select(types, scope)
        if self.chance(0.15):
            cols.append(self.scalar_subquery(scope))
            types.append("double")
        distinct = "DISTINCT " if self.chance(0.15) else ""
        sel = ", ".join(f"{c} AS c{i}" for i, c in enumerate(cols))
        tail, ordered = self.order_limit(types)
        return Query(f"SELECT {distinct}{sel} FROM {frm}{self.where(scope)}{tail}", ordered)

    def scalar_subquery(self, scope) -> str:
        inner = Rel(self.alias(), self.table())
        typ = self.pick([t for t in ("int", "double", "decimal", "str") if self.col([inner], t)])
        outer_col = self.col(scope, typ)
        where = ""
        if outer_col and self.chance(0.6):
            where = f" WHERE {self.col([inner], typ)} = {outer_col}"
        agg = self.pick(["count", "max", "min"])
        return f"(SELECT {agg}({self.col([inner], typ)}) FROM {inner.ref()}{where})"

    def agg_expr(self, scope) -> tuple[str, str]:
        """(SQL, result type) of a random aggregate."""
        r = self.r
        k = r.randint(0, 8)
        if k == 0:
            return "count(*)", "int"
        if k == 1:
            return f"count({self.expr(self.cmp_type(), scope, 1)})", "int"
        if k == 2:
            return f"count(DISTINCT {self.expr(self.cmp_type(), scope, 1)})", "int"
        if k in (3, 4):
            t = self.pick(["int", "double", "decimal"])
            fn = self.pick(["sum", "avg"])
            return f"{fn}({self.expr(t, scope, 1)})", ("double" if fn == "avg" else t)
        if k == 5:
            t = self.pick(["int", "decimal"])
            return f"sum(DISTINCT {self.expr(t, scope, 1)})", t
        if k == 6:
            if self.chance(0.5):
                t = self.pick(["int", "double", "decimal"])
                fn = self.pick(["stddev_samp", "stddev_pop", "var_samp", "var_pop"])
                return f"{fn}({self.expr(t, scope, 1)})", "double"
            return f"{self.pick(['bool_and', 'bool_or'])}({self.pred(scope, 1)})", "bool"
        t = self.pick(["int", "double", "decimal", "str", "date"])
        return f"{self.pick(['min', 'max'])}({self.expr(t, scope, 1)})", t

    def agg_query(self) -> Query:
        frm, scope = self.from_clause()
        ktypes = self.rand_types(0, 2)
        keys = [self.expr(t, scope, 1) for t in ktypes]
        # a bare integer in GROUP BY is a position, not a constant
        keys = [f"({k} + 0)" if re.fullmatch(r"[-() \d]+", k) else k for k in keys]
        typed = [self.agg_expr(scope) for _ in range(self.r.randint(1, 3))]
        aggs = [a for a, _ in typed]
        cols = keys + aggs
        types = ktypes + [t for _, t in typed]
        sel = ", ".join(f"{c} AS c{i}" for i, c in enumerate(cols))
        if keys and self.chance(0.25):
            return self.grouping_sets_query(frm, scope, keys, ktypes, typed)
        sql = f"SELECT {sel} FROM {frm}{self.where(scope)}"
        if keys:
            sql += " GROUP BY " + ", ".join(keys)
        if self.chance(0.35):
            sql += f" HAVING {self.pick(['count(*)', aggs[0] if aggs[0].startswith('count') else 'count(*)'])} > {self.r.randint(0, 5)}"
            if self.chance(0.3):
                sql += f" OR min({self.expr('int', scope, 0)}) < {self.r.randint(-10, 10)}"
        tail, ordered = self.order_limit(types)
        return Query(sql + tail, ordered)

    def grouping_sets_query(self, frm, scope, keys, ktypes, typed) -> Query:
        """ROLLUP / CUBE / GROUPING SETS, sometimes with no aggregate at all,
        with GROUPING(...) and windows over the grouped result."""
        kind = self.r.randint(0, 3)
        if kind == 0:
            group = f"ROLLUP ({', '.join(keys)})"
        elif kind == 1:
            group = f"CUBE ({', '.join(keys)})"
        elif kind == 2:
            sets = ["(" + ", ".join(keys) + ")", "()"] + [f"({k})" for k in keys]
            group = f"GROUPING SETS ({', '.join(self.r.sample(sets, self.r.randint(1, len(sets))))})"
        else:
            group = f"{keys[0]}, ROLLUP ({', '.join(keys[1:] or keys[:1])})"
        cols, types = list(keys), list(ktypes)
        if self.chance(0.7):
            cols += [a for a, _ in typed]
            types += [t for _, t in typed]
        if self.chance(0.4):
            cols.append(f"GROUPING({', '.join(self.r.sample(keys, self.r.randint(1, len(keys))))})")
            types.append("int")
        if self.chance(0.3):
            part = self.pick([keys[0], f"GROUPING({keys[0]})"])
            agg = next((a for a, t in typed if t in ("int", "decimal", "str", "date")), "count(*)")
            cols.append(self.pick([
                f"rank() OVER (PARTITION BY {part} ORDER BY {agg} NULLS LAST)",
                f"count(*) OVER (PARTITION BY {part})",
                f"sum(count(*)) OVER (PARTITION BY {part})",
            ]))
            types.append("int")
        distinct = "DISTINCT " if self.chance(0.1) else ""
        sel = ", ".join(f"{c} AS c{i}" for i, c in enumerate(cols))
        sql = f"SELECT {distinct}{sel} FROM {frm}{self.where(scope)} GROUP BY {group}"
        if self.chance(0.2):
            sql += f" HAVING count(*) > {self.r.randint(0, 3)}"
        tail, ordered = self.order_limit(types)
        return Query(sql + tail, ordered)

    def setop_query(self) -> Query:
        types = self.rand_types(1, 3)
        sides = []
        for _ in range(2):
            frm, scope = self.from_clause()
            cols = self.typed_select(types, scope)
            sides.append(f"SELECT {', '.join(cols)} FROM {frm}{self.where(scope)}")
        op = self.r.choices(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL",
                             "EXCEPT ALL"], [3, 3, 3, 3, 1, 1])[0]
        sql = f"{sides[0]} {op} {sides[1]}"
        tail, ordered = self.order_limit(types)
        if tail:
            sql = f"SELECT * FROM ({sql}) u{tail}"
        return Query(sql, ordered)

    def window_query(self) -> Query:
        rel = Rel(self.alias(), self.pick(["nums", "nums", "events", "skew", "dim", "edges"]))
        scope = [rel]
        uniq = {"nums": "id", "dim": "k", "edges": "id"}.get(rel.table)
        if self.chance(0.25):
            return self.window_over_agg(rel)
        types = self.rand_types(1, 2)
        cols = [self.expr(t, scope, 1) for t in types]
        for _ in range(self.r.randint(1, 3)):
            cols.append(self.window_expr(rel, uniq))
            types.append("double")
        sel = ", ".join(f"{c} AS c{i}" for i, c in enumerate(cols))
        tail, ordered = self.order_limit(types)
        return Query(f"SELECT {sel} FROM {rel.table} {rel.alias}{self.where(scope)}{tail}", ordered)

    def window_over_agg(self, rel: Rel) -> Query:
        """Windows over a grouped result: rank() OVER (ORDER BY sum(x)) ..."""
        scope = [rel]
        key = self.col(scope, self.pick(["int", "str", "date"])) or self.col(scope, "int")
        agg, at = self.agg_expr(scope)
        while at in ("bool", "double"):    # a computed double may tie in one engine only
            agg, at = self.agg_expr(scope)
        win = self.pick([
            f"rank() OVER (ORDER BY {agg} DESC NULLS LAST)",
            f"dense_rank() OVER (ORDER BY {agg})",
            f"sum(count(*)) OVER ()",
            f"row_number() OVER (ORDER BY {key})",
            f"count(*) OVER (ORDER BY {agg})",
            f"lag({key}) OVER (ORDER BY {key})",
        ])
        types = ["x", at, "double"]
        group = key
        if self.chance(0.3):
            group = f"ROLLUP ({key})"
            # the total row and a NULL key's group tie on the key: order them
            # by GROUPING too, or row_number/lag depend on the engine's order
            win = win.replace(f"(ORDER BY {key})", f"(ORDER BY {key}, GROUPING({key}))")
            win = self.pick([win, f"rank() OVER (PARTITION BY GROUPING({key}) ORDER BY {agg})",
                             f"count(*) OVER (PARTITION BY {key})",
                             f"sum({agg}) OVER (PARTITION BY GROUPING({key}))"
                             if at in ("int", "decimal") else f"count({agg}) OVER ()"])
        sql = (f"SELECT {key} AS c0, {agg} AS c1, {win} AS c2 FROM {rel.ref()}{self.where(scope)} "
               f"GROUP BY {group}")
        tail, ordered = self.order_limit(types)
        return Query(sql + tail, ordered)

    def window_expr(self, rel: Rel, uniq: str | None) -> str:
        scope = [rel]
        part = ""
        if self.chance(0.7):
            t = self.pick(["int", "str", "bool", "date"])
            p = self.col(scope, t) or self.col(scope, "int")
            part = f"PARTITION BY {p}"
        order_t = self.pick(["int", "double", "str", "date", "decimal"])
        o = self.col(scope, order_t) or self.col(scope, "int")
        order = f"ORDER BY {o}{self.pick(['', ' DESC'])}{self.pick(['', ' NULLS FIRST', ' NULLS LAST'])}"
        k = self.r.randint(0, 6)
        num = self.pick([c for c in rel.cols() if _COLTYPE[c.split('.')[1]] in ("int", "double", "decimal")])
        if k == 0:
            return f"{self.pick(['rank', 'dense_rank'])}() OVER ({part} {order})"
        if k == 1:
            return f"{self.pick(['sum', 'count', 'min', 'max', 'avg'])}({num}) OVER ({part})"
        if k == 2:
            return f"{self.pick(['sum', 'count', 'min', 'max'])}({num}) OVER ({part} {order})"
        if uniq:
            uorder = f"ORDER BY {rel.alias}.{uniq}{self.pick(['', ' DESC'])}"
            if k == 3:
                return f"row_number() OVER ({part} {uorder})"
            if k == 4:
                return f"{self.pick(['lag', 'lead'])}({num}, {self.r.randint(1, 3)}) OVER ({part} {uorder})"
            if k == 5:
                lo = self.pick(["UNBOUNDED PRECEDING", "2 PRECEDING", "CURRENT ROW"])
                hi = self.pick(["CURRENT ROW", "1 FOLLOWING", "UNBOUNDED FOLLOWING"])
                return (f"{self.pick(['sum', 'count', 'min', 'max'])}({num}) OVER ({part} {uorder} "
                        f"ROWS BETWEEN {lo} AND {hi})")
        if k == 6:
            if uniq:
                uorder = f"ORDER BY {rel.alias}.{uniq}"
                return self.pick([
                    f"ntile({self.r.randint(1, 5)}) OVER ({part} {uorder})",
                    f"first_value({num}) OVER ({part} {uorder})",
                    f"last_value({num}) OVER ({part} {uorder} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
                    f"nth_value({num}, 2) OVER ({part} {uorder})",
                ])
            return self.pick([f"percent_rank() OVER ({part} {order})",
                              f"cume_dist() OVER ({part} {order})"])
        return f"count(*) OVER ({part})"

    def query(self) -> Query:
        self.n_alias = 0
        k = self.r.choices(["select", "agg", "setop", "window"], [4, 4, 2, 2])[0]
        return getattr(self, f"{k}_query")()


_COLTYPE = {c: t for cols in TABLES.values() for c, t in cols}
# names shared by tables with different types: resolve by table in Rel.cols instead
assert all(len({t for cols in TABLES.values() for c, t in cols if c == name}) == 1
           for name in _COLTYPE)
