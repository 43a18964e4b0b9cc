"""Plan shapes, internal names, parameters, dialects, views and CTEs."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from quiver.errors import BindError, NotSupportedError, ProgrammingError
from quiver.parser import bind
from quiver import datatypes as dt
from quiver.planner import expr as ex
from quiver.planner import logical as L
from quiver.planner.tree import walk


def one(sql, catalog, **kw):
    [st] = bind(sql, catalog, **kw)
    return st.query


def nodes(plan, cls):
    return [n for n in walk(plan) if isinstance(n, cls)]


def subquery_exprs(plan):
    from quiver.planner.tree import expressions
    out = []
    for node in walk(plan):
        for e in expressions(node):
            out += [x for x in walk(e) if isinstance(x, ex.SUBQUERY_TYPES)]
    return out


# --- shapes and names ----------------------------------------------------------

def test_scan_fields_get_unique_internal_names(catalog):
    q = one("select * from t", catalog)
    scan = q.plan.input if isinstance(q.plan, L.Project) else q.plan
    assert isinstance(scan, L.Scan)
    assert [f.name for f in scan.fields] == ["a#1", "b#2", "s#3", "d#4", "m#5", "f#6"]
    assert scan.columns == ("a", "b", "s", "d", "m", "f")
    assert q.output_names == ("a", "b", "s", "d", "m", "f")


def test_self_join_scans_have_distinct_names(catalog):
    q = one("select x.a, y.a from t x join t y on x.a = y.b", catalog)
    scans = nodes(q.plan, L.Scan)
    assert len(scans) == 2
    names = [f.name for s in scans for f in s.fields]
    assert len(names) == len(set(names))
    assert q.output_names == ("a", "a")
    assert len(set(q.plan.names)) == 2


def test_aggregate_shape_and_dedup(catalog):
    q = one("select s, sum(m) as total, sum(m) * 2 from t where a > 1 "
            "group by s having sum(m) > 10 order by total", catalog)
    [agg] = nodes(q.plan, L.Aggregate)
    assert [a.fn for a in agg.aggs] == ["sum"]           # computed once
    assert isinstance(agg.input, L.Filter)
    having = [n for n in nodes(q.plan, L.Filter) if n.input is agg]
    assert having, "HAVING is a Filter above the Aggregate"
    assert isinstance(q.plan, L.Sort)
    assert q.output_names == ("s", "total", "(sum(m) * 2)")


def test_group_by_ordinal_alias_and_expression(catalog):
    for sql in ("select a + 1 as k, count(*) from t group by 1",
                "select a + 1 as k, count(*) from t group by k",
                "select a + 1 as k, count(*) from t group by a + 1"):
        q = one(sql, catalog)
        [agg] = nodes(q.plan, L.Aggregate)
        assert len(agg.group_exprs) == 1
        assert isinstance(agg.group_exprs[0], ex.Call) and agg.group_exprs[0].fn == "add"
        assert agg.aggs[0].fn == "count_star"


def test_order_by_hidden_column_projected_away(catalog):
    q = one("select a from t order by b desc", catalog)
    assert isinstance(q.plan, L.Project) and len(q.plan.exprs) == 1
    sort = q.plan.input
    assert isinstance(sort, L.Sort)
    assert sort.keys[0].ascending is False and sort.keys[0].nulls_first is False
    assert len(sort.input.schema) == 2
    assert q.output_names == ("a",)


def test_order_by_aggregate_not_in_select_list(catalog):
    q = one("select s from t group by s order by count(*) desc", catalog)
    [agg] = nodes(q.plan, L.Aggregate)
    assert [a.fn for a in agg.aggs] == ["count_star"]
    assert q.output_names == ("s",) and len(q.plan.schema) == 1


def test_distinct_limit_offset(catalog):
    q = one("select distinct s from t order by s limit 5 offset 2", catalog)
    assert isinstance(q.plan, L.Limit) and (q.plan.limit, q.plan.offset) == (5, 2)
    assert isinstance(q.plan.input, L.Sort)
    assert isinstance(q.plan.input.input, L.Distinct)


def test_window_above_aggregate(catalog):
    q = one("select s, sum(a), rank() over (order by sum(a) desc) from t group by s", catalog)
    [win] = nodes(q.plan, L.Window)
    assert isinstance(win.input, L.Aggregate)
    call = win.exprs[0]
    assert call.fn == "rank"
    assert isinstance(call.order_by[0].expr, ex.Column)        # the aggregate's output
    assert call.order_by[0].expr.name in win.input.agg_names


def test_window_frame(catalog):
    q = one("select sum(a) over (partition by s order by b rows between 2 preceding "
            "and current row) from t", catalog)
    [win] = nodes(q.plan, L.Window)
    assert win.exprs[0].frame == ex.WindowFrame("rows", -2, 0)
    assert len(win.exprs[0].partition_by) == 1


def test_select_without_from(catalog):
    q = one("select 1 as one, 'x'", catalog)
    assert isinstance(q.plan, L.Project)
    assert q.plan.input == L.Values((), ((),))
    assert q.output_names == ("one", "'x'")


def test_values_types_coerced(catalog):
    q = one("select * from (values (1, 'a'), (2.5, null)) as v(x, y)", catalog)
    [vals] = nodes(q.plan, L.Values)
    assert [f.dtype for f in vals.fields] == [dt.decimal(11, 1), dt.STRING]
    assert vals.rows[0][0] == ex.Literal(Decimal("1.0"), dt.decimal(11, 1))
    assert q.output_names == ("x", "y")


def test_union_coerces_both_sides(catalog):
    q = one("select a from t union all select m from t", catalog)
    assert isinstance(q.plan, L.Union) and q.plan.all
    assert q.plan.schema[0].dtype == dt.decimal(12, 2)
    for side in q.plan.inputs:
        assert side.schema[0].dtype == dt.decimal(12, 2)


def test_intersect_except(catalog):
    q = one("select a from t intersect select a from u except select 1", catalog)
    assert isinstance(q.plan, L.SetOp) and q.plan.kind == "except" and not q.plan.all
    assert isinstance(q.plan.left, L.SetOp) and q.plan.left.kind == "intersect"
    # EXCEPT ALL: both sides number the copies of each row (row_number over
    # every column) and meet as sets; a Project drops the copy number
    q = one("select a from t intersect select a from u except all select 1", catalog)
    assert isinstance(q.plan, L.Project) and len(q.plan.exprs) == 1
    setop = q.plan.input
    assert isinstance(setop, L.SetOp) and setop.kind == "except" and not setop.all
    [left_window] = nodes(setop.left, L.Window)[:1]
    assert left_window.exprs[0].fn == "row_number"
    assert len(left_window.exprs[0].partition_by) == 1
    assert nodes(setop.left, L.SetOp)[0].kind == "intersect"


def test_using_join_merges_column(catalog):
    q = one("select a, t.a, u.a, c from t join u using (a)", catalog)
    [join] = nodes(q.plan, L.Join)
    assert join.kind == "inner" and join.condition.fn == "eq"
    lname = join.left.schema[0].name
    assert q.plan.exprs[0].name == lname and q.plan.exprs[1].name == lname
    q = one("select * from t full join u using (a)", catalog)
    assert q.output_names[0] == "a" and q.output_names.count("a") == 1
    coalesce = q.plan.exprs[0]
    assert isinstance(coalesce, ex.Column)


def test_natural_join(catalog):
    q = one("select * from t natural join u", catalog)
    [join] = nodes(q.plan, L.Join)
    assert ex.columns_of(join.condition) == {"a#1", "a#7"}
    assert q.output_names == ("a", "b", "s", "d", "m", "f", "c", "k")


def test_outer_join_kinds(catalog):
    for word, kind in (("left", "left"), ("right", "right"), ("full outer", "full"),
                       ("inner", "inner")):
        q = one(f"select t.a from t {word} join u on t.a = u.a", catalog)
        assert nodes(q.plan, L.Join)[0].kind == kind
    q = one("select t.a from t cross join u", catalog)
    assert nodes(q.plan, L.Join)[0].condition is None


def test_cte_referenced_twice_binds_twice(catalog):
    q = one("with w as (select a from t where a > 1) "
            "select x.a from w x join w y on x.a = y.a", catalog)
    scans = nodes(q.plan, L.Scan)
    assert len(scans) == 2
    assert not set(scans[0].names) & set(scans[1].names)


def test_cte_sees_earlier_cte_and_shadows_tables(catalog):
    q = one("with t as (select 1 as z), w as (select z + 1 as y from t) select y from w",
            catalog)
    assert not nodes(q.plan, L.Scan)
    assert q.output_names == ("y",)


def test_view_binds_its_sql(catalog):
    catalog.add_view("big", "select a, s from t where a > 10")
    q = one("select s from big where a < 20", catalog)
    assert len(nodes(q.plan, L.Filter)) == 2
    assert q.output_names == ("s",)


def test_view_cycle_is_an_error(catalog):
    catalog.add_view("v1", "select * from v2")
    catalog.add_view("v2", "select * from v1")
    with pytest.raises(BindError, match="references itself"):
        bind("select * from v1", catalog)


def test_derived_table_column_aliases(catalog):
    q = one("select p, q from (select a, s from t) as sub(p, q) where p > 1", catalog)
    assert q.output_names == ("p", "q")
    with pytest.raises(BindError, match="2 columns but 3 column names"):
        bind("select * from (select a, s from t) as sub(p, q, r)", catalog)


def test_star_of_one_table(catalog):
    q = one("select u.*, t.a from t join u on t.a = u.a", catalog)
    assert q.output_names == ("a", "c", "k", "a")


def test_identifiers_case_insensitive(catalog):
    q = one("SELECT A, T.S FROM T WHERE t.B > 1", catalog)
    assert q.output_names == ("a", "s")


# --- subqueries ----------------------------------------------------------------

def test_correlated_scalar_subquery_keeps_outer_names(catalog):
    q = one("select a from t where b > (select max(k) from u where u.a = t.a)", catalog)
    [sub] = subquery_exprs(q.plan)
    assert isinstance(sub, ex.ScalarSubquery) and sub.dtype == dt.INT64
    outer_a = nodes(q.plan, L.Scan)[0].fields[0].name
    inner_cols = set()
    for node in walk(sub.plan):
        from quiver.planner.tree import expressions
        for e in expressions(node):
            inner_cols |= ex.columns_of(e)
    assert outer_a in inner_cols


def test_exists_in_not_in(catalog):
    q = one("select a from t where exists (select 1 from u where u.a = t.a) "
            "and a not in (select a from u) and b in (select k from u)", catalog)
    subs = subquery_exprs(q.plan)
    kinds = sorted((type(s).__name__, getattr(s, "negated", None)) for s in subs)
    assert kinds == [("Exists", False), ("InSubquery", False), ("InSubquery", True)]
    q = one("select a from t where not exists (select 1 from u)", catalog)
    [s] = subquery_exprs(q.plan)
    assert isinstance(s, ex.Exists) and s.negated


def test_in_subquery_coerces_types(catalog):
    q = one("select a from t where a in (select k from u)", catalog)
    [s] = subquery_exprs(q.plan)
    assert s.arg.dtype == dt.INT64 and s.plan.schema[0].dtype == dt.INT64


def test_grouped_column_in_correlated_subquery(catalog):
    q = one("select s, (select count(*) from u where u.c = t.s) from t group by s", catalog)
    [agg] = nodes(q.plan, L.Aggregate)
    [sub] = subquery_exprs(q.plan)
    from quiver.planner.tree import expressions
    used = set()
    for node in walk(sub.plan):
        for e in expressions(node):
            used |= ex.columns_of(e)
    assert agg.group_names[0] in used


# --- expressions ------------------------------------------------------------------

def predicate(sql, catalog):
    q = one(sql, catalog)
    return nodes(q.plan, L.Filter)[0].predicate


def test_literals_typed(catalog):
    q = one("select 1, 3000000000, 2.50, 2.5e0, 'x', true, null, date '1998-12-01', "
            "timestamp '2000-01-02 03:04:05', interval '3' month, interval '90' day", catalog)
    values = [e for e in q.plan.exprs]
    assert values[0] == ex.Literal(1, dt.INT32)
    assert values[1] == ex.Literal(3000000000, dt.INT64)
    assert values[2] == ex.Literal(Decimal("2.50"), dt.decimal(3, 2))
    assert values[3] == ex.Literal(2.5, dt.FLOAT64)
    assert values[4] == ex.Literal("x", dt.STRING)
    assert values[5] == ex.Literal(True, dt.BOOL)
    assert values[6] == ex.Literal(None, dt.NULL)
    assert values[7] == ex.Literal(datetime.date(1998, 12, 1), dt.DATE)
    assert values[8] == ex.Literal(datetime.datetime(2000, 1, 2, 3, 4, 5), dt.TIMESTAMP)
    assert values[9] == ex.Literal((3, 0, 0), dt.INTERVAL)
    assert values[10] == ex.Literal((0, 90, 0), dt.INTERVAL)


def test_between_and_simple_case(catalog):
    p = predicate("select a from t where a between 1 and 5", catalog)
    assert p.fn == "and" and [x.fn for x in p.args] == ["ge", "le"]
    q = one("select case a when 1 then 'one' else 'other' end from t", catalog)
    case = q.plan.exprs[0]
    assert isinstance(case, ex.Case) and case.conditions[0].fn == "eq"
    assert case.default == ex.Literal("other", dt.STRING)


def test_in_list_coerced(catalog):
    p = predicate("select a from t where b in (1, 2)", catalog)
    assert isinstance(p, ex.InList)
    assert all(v.dtype == dt.INT64 for v in p.values)
    p = predicate("select a from t where d not in ('1998-01-01')", catalog)
    assert p.negated and p.values[0] == ex.Literal(datetime.date(1998, 1, 1), dt.DATE)


def test_like_escape_and_not_like(catalog):
    p = predicate("select a from t where s like 'a!%' escape '!'", catalog)
    assert p.fn == "like" and len(p.args) == 3
    p = predicate("select a from t where s not ilike 'x'", catalog)
    assert p.fn == "not" and p.args[0].fn == "ilike"


def test_is_null_and_distinct(catalog):
    p = predicate("select a from t where a is not null and a is distinct from b", catalog)
    assert [x.fn for x in p.args] == ["is_not_null", "is_distinct_from"]


def test_literal_coercions_folded(catalog):
    p = predicate("select a from t where m > 0.5 and d >= '1998-01-01'", catalog)
    left, right = p.args
    assert left.args[1] == ex.Literal(Decimal("0.50"), dt.decimal(10, 2)) or \
        isinstance(left.args[1], ex.Literal)
    assert right.args[1] == ex.Literal(datetime.date(1998, 1, 1), dt.DATE)


def test_count_distinct_and_filter(catalog):
    q = one("select count(distinct s), sum(a) filter (where b > 1) from t", catalog)
    [agg] = nodes(q.plan, L.Aggregate)
    assert agg.aggs[0].fn == "count" and agg.aggs[0].distinct
    assert agg.aggs[1].filter is not None and agg.aggs[1].filter.fn == "gt"
    assert q.output_names == ("count(DISTINCT s)", "sum(a) FILTER (WHERE (b > 1))")


def test_cast_and_try_cast(catalog):
    q = one("select cast(s as int), try_cast(s as int), a::bigint, '5'::int from t", catalog)
    e = q.plan.exprs
    assert isinstance(e[0], ex.Cast) and not e[0].safe
    assert isinstance(e[1], ex.Cast) and e[1].safe
    assert e[2] == ex.Cast(ex.Column("a#1", dt.INT32), dt.INT64)


def test_extract_and_date_arithmetic(catalog):
    q = one("select extract(year from d), d + interval '1' month from t", catalog)
    e = q.plan.exprs
    assert e[0].fn == "extract" and e[0].args[0] == ex.Literal("year", dt.STRING)
    assert e[1].fn == "add"


# --- parameters -------------------------------------------------------------------

def test_parameters_substituted_in_text_order(catalog):
    q = one("with w as (select a from t where a > ?) select a, ? from w where a < ?",
            catalog, params=[1, "x", 2.5])
    calls = {e.fn: e for n in walk(q.plan) for e in _exprs(n) if isinstance(e, ex.Call)}
    assert calls["gt"].args[1] == ex.Literal(1, dt.INT32)       # inside the CTE
    assert q.plan.exprs[1] == ex.Literal("x", dt.STRING)
    assert isinstance(calls["lt"].args[1], ex.Literal)
    assert calls["lt"].args[1].value == 2.5


def _exprs(node):
    from quiver.planner.tree import expressions
    for e in expressions(node):
        yield from walk(e)


def test_parameter_types(catalog):
    q = one("select ?, ?, ?, ?, ?", catalog,
            params=[Decimal("1.25"), datetime.date(2000, 1, 2), None, True, 2 ** 40])
    assert [e.dtype for e in q.plan.exprs] == [dt.decimal(3, 2), dt.DATE, dt.NULL,
                                               dt.BOOL, dt.INT64]


def test_parameter_count_mismatch(catalog):
    with pytest.raises(ProgrammingError, match="1 parameter"):
        bind("select a from t where a = ?", catalog, params=[])
    with pytest.raises(ProgrammingError, match="0 parameter"):
        bind("select '?' from t", catalog, params=[1])


def test_parameters_across_statements(catalog):
    a, b = bind("select ? ; select ?", catalog, params=[1, 2])
    assert a.query.plan.exprs[0].value == 1 and b.query.plan.exprs[0].value == 2


# --- dialects -----------------------------------------------------------------------

def test_spark_dialect_backticks(catalog):
    q = one("SELECT `a`, `s` FROM `t` WHERE `b` > 1", catalog, dialect="spark")
    assert q.output_names == ("a", "s")


def test_postgres_dialect(catalog):
    q = one("select a::text from t limit 2", catalog, dialect="postgres")
    assert q.plan.schema[0].dtype == dt.STRING


# --- read_parquet ------------------------------------------------------------------

def test_read_parquet_table_function(catalog):
    q = one("select x from read_parquet(['a/*.parquet', 'b'], hive_partitioning => true)",
            catalog)
    assert catalog.opened == [(["a/*.parquet", "b"], True)]
    assert nodes(q.plan, L.Scan)[0].table == "read_parquet"
    q = one("select y from read_parquet('data/x.parquet') p where p.x > 1", catalog)
    assert catalog.opened[-1] == ("data/x.parquet", None)


def test_unsupported_constructs(catalog):
    for sql in ("with recursive r as (select 1) select * from r",
                "insert or replace into t values (1)",
                "copy t from 'somewhere.parquet'",
                "copy t to 'x.parquet' (row_group_size 5)",
                "select * from read_csv('x.csv', skip = 1)"):
        with pytest.raises(NotSupportedError):
            bind(sql, catalog)


def test_any_all_subqueries(catalog):
    q = one("select a from t where a = any (select a from u) and b <> all (select k from u)",
            catalog)
    subs = subquery_exprs(q.plan)
    assert sorted((type(s).__name__, s.negated) for s in subs) == [
        ("InSubquery", False), ("InSubquery", True)]
    # <, <=, >, >= ANY/ALL: a CASE over scalar subqueries (min or max, counts)
    q = one("select a from t where a > any (select a from u)", catalog)
    kinds = sorted(type(s).__name__ for s in subquery_exprs(q.plan))
    assert kinds and set(kinds) == {"ScalarSubquery"}
    with pytest.raises(NotSupportedError):
        bind("select a from t where a > any (1, 2)", catalog)


def test_main_schema_prefix(catalog):
    q = one("select a from main.t", catalog)
    assert nodes(q.plan, L.Scan)[0].table == "main.t"


def test_natural_join_without_common_columns_is_cross(catalog):
    q = one("select * from nation natural join region", catalog)
    assert nodes(q.plan, L.Join)[0].condition is None


def test_outer_column_selected_in_subquery_gets_fresh_name(catalog):
    q = one("select a from t where exists (select t.a from u)", catalog)
    [s] = subquery_exprs(q.plan)
    assert s.plan.names[0] != "a#1"
    assert s.plan.exprs[0] == ex.Column("a#1", dt.INT32)
