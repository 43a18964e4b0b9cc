"""DDL statements, EXPLAIN, statement splitting, and error messages with
positions."""

from __future__ import annotations

import pyarrow as pa
import pytest

from quiver.errors import BindError, NotSupportedError, ParseError, ProgrammingError
from quiver.parser import bind, parse
from quiver.parser import statements as S
from quiver import datatypes as dt


def test_create_external_table_full_syntax(catalog):
    [st] = bind("CREATE OR REPLACE EXTERNAL TABLE IF NOT EXISTS Sales (id bigint, "
                "amount decimal(15,2)) STORED AS PARQUET PARTITIONED BY (year int, region) "
                "LOCATION 's3://bucket/sales/' OPTIONS ('anon' 'true')", catalog)
    assert st == S.CreateExternalTable(
        name="sales",
        columns=(S.ColumnDef("id", dt.INT64), S.ColumnDef("amount", dt.decimal(15, 2))),
        location="s3://bucket/sales/",
        partitioned_by=(S.ColumnDef("year", dt.INT32), S.ColumnDef("region", None)),
        if_not_exists=True, or_replace=True, options=(("anon", "true"),))


def test_create_external_table_minimal(catalog):
    [st] = bind("create external table lineitem stored as parquet location 'data/li/'",
                catalog)
    assert st.name == "lineitem" and st.columns == () and st.location == "data/li/"


@pytest.mark.parametrize("sql, message", [
    ("create external table t stored as parquet", "expected LOCATION"),
    ("create external table t location 'x'", "expected STORED AS PARQUET"),
    ("create external table t (a) stored as parquet location 'x'", "expected a type"),
    ("create external table t (a nosuchtype) stored as parquet location 'x'",
     "unknown type nosuchtype"),
])
def test_create_external_table_errors(catalog, sql, message):
    with pytest.raises(ParseError, match=message):
        bind(sql, catalog)


def test_stored_as_avro_not_supported(catalog):
    with pytest.raises(NotSupportedError, match="PARQUET, CSV and JSON"):
        bind("create external table t stored as avro location 'x'", catalog)


def test_stored_as_csv_options(catalog):
    [st] = bind("create external table t stored as csv location 'x' "
                "options ('header' 'false', 'delimiter' '|', 'anon' 'true')", catalog)
    assert st.file_format == "csv"
    assert st.read_options == (("delimiter", "|"), ("header", False))
    assert st.options == (("anon", "true"),)


def test_create_table_as(catalog):
    [st] = bind("create table agg partitioned by (s) as select s, sum(a) as n from t "
                "group by s", catalog)
    assert isinstance(st, S.CreateTableAs)
    assert st.name == "agg" and st.partitioned_by == ("s",)
    assert st.query.output_names == ("s", "n")
    with pytest.raises(BindError, match="partition column 'zz'"):
        bind("create table x partitioned by (zz) as select a from t", catalog)


def test_create_view_and_drop(catalog):
    [st] = bind("create or replace view v as select a from t where a > 1", catalog)
    assert isinstance(st, S.CreateView) and st.or_replace and st.name == "v"
    assert st.query.output_names == ("a",)
    assert "FROM t" in st.sql_text
    with pytest.raises(BindError, match="column 'zz' not found"):
        bind("create view v2 as select zz from t", catalog)
    assert bind("drop table if exists t", catalog) == [S.Drop("table", "t", True)]
    assert bind("DROP VIEW v", catalog) == [S.Drop("view", "v", False)]


def test_show_describe_explain(catalog):
    assert bind("show tables", catalog) == [S.ShowTables()]
    assert bind("DESCRIBE t", catalog) == [S.Describe(name="t")]
    [d] = bind("describe select a, s from t", catalog)
    assert d.query.output_names == ("a", "s")
    with pytest.raises(BindError, match="table 'nope' does not exist"):
        bind("describe nope", catalog)
    [e] = bind("EXPLAIN ANALYZE VERBOSE select a from t", catalog)
    assert isinstance(e, S.Explain) and e.analyze and e.verbose
    assert isinstance(e.statement, S.Select)
    [e] = bind("explain select 1", catalog)
    assert not e.analyze and not e.verbose


def test_multiple_statements_split_outside_quotes_and_comments(catalog):
    sts = bind("select 'a;b' as x; -- c; d\n/* ; */ select 2;;", catalog)
    assert [type(s) for s in sts] == [S.Select, S.Select]
    assert sts[0].query.output_names == ("x",)
    assert parse("") == [] and parse(" ; -- nothing") == []


# --- errors with positions -------------------------------------------------------

def error_of(sql, catalog, cls=BindError, **kw):
    with pytest.raises(cls) as info:
        bind(sql, catalog, **kw)
    return info.value


def test_syntax_error_position():
    with pytest.raises(ParseError) as info:
        parse("select a\nfrom t\nwhere a = = 1")
    e = info.value
    assert isinstance(e, ProgrammingError)
    assert (e.line, e.col) == (3, 11)
    assert "line 3, column 11" in str(e) and "'='" in str(e)


def test_syntax_error_after_parameter_has_user_position():
    with pytest.raises(ParseError) as info:
        parse("select ?, ? + from t")
    assert (info.value.line, info.value.col) == (1, 15)


def test_unterminated_string():
    with pytest.raises(ParseError, match="unterminated") as info:
        parse("select 'abc")
    assert (info.value.line, info.value.col) == (1, 8)


def test_unknown_table(catalog):
    e = error_of("select *\n  from foo", catalog)
    assert e.message == "table 'foo' does not exist"
    assert (e.line, e.col) == (2, 8)


def test_unknown_column_suggests(catalog):
    e = error_of("select l_quantty from lineitem", catalog)
    assert "column 'l_quantty' not found" in e.message
    assert "did you mean 'l_quantity'" in e.message
    assert (e.line, e.col) == (1, 8)


def test_ambiguous_column(catalog):
    e = error_of("select a from t join u on t.a = u.a", catalog)
    assert e.message == "column 'a' is ambiguous" and (e.line, e.col) == (1, 8)


def test_non_grouped_column(catalog):
    e = error_of("select s, b, count(*) from t group by s", catalog)
    assert "column 'b' must appear in the GROUP BY clause" in e.message
    assert (e.line, e.col) == (1, 11)


def test_aggregate_in_where(catalog):
    e = error_of("select a from t where sum(a) > 1", catalog)
    assert e.message == "aggregate functions are not allowed in WHERE"
    assert (e.line, e.col) == (1, 23)


def test_type_error_position(catalog):
    e = error_of("select a,\n   s + 1 from t", catalog)
    assert "cannot apply + to VARCHAR and INTEGER" in e.message
    assert (e.line, e.col) == (2, 4)


def test_unknown_function(catalog):
    e = error_of("select nosuch(a) from t", catalog)
    assert "nosuch" in e.message and (e.line, e.col) == (1, 8)


def test_position_after_parameter_is_the_users(catalog):
    e = error_of("select ?, zz from t", catalog, params=[1])
    assert (e.line, e.col) == (1, 11)


def test_error_in_second_statement_points_into_it(catalog):
    e = error_of("select 1;\nselect a from\n nope", catalog)
    assert (e.line, e.col) == (3, 2)


def test_nested_aggregate_and_window_misuse(catalog):
    assert "nested" in error_of("select sum(sum(a)) from t", catalog).message
    assert "OVER" in error_of("select rank() from t", catalog).message
    assert "not allowed in WHERE" in error_of(
        "select a from t where rank() over () = 1", catalog).message


def test_bad_ordinals(catalog):
    assert "GROUP BY position 3" in error_of("select a from t group by 3", catalog).message
    assert "ORDER BY position 0" in error_of("select a from t order by 0", catalog).message


def test_set_operation_width(catalog):
    e = error_of("select a from t union select a, b from t", catalog)
    assert "same number of columns" in e.message


def test_cast_not_allowed(catalog):
    e = error_of("select cast(d as int) from t", catalog)
    assert e.message == "cannot cast DATE to INTEGER"
