"""tpch.check (tolerances, order, mismatch messages, answer CSVs), querylib
(query list parsing, ORDER BY keys) and report (progress bar, table)."""

import datetime as dt
import io
from decimal import Decimal

import pytest

from quiver.tpch import check, querylib
from quiver.tpch.check import Answer, compare, value_matches
from quiver.tpch.report import EngineRun, ProgressBar, QueryResult, RunResults, format_table


@pytest.mark.parametrize("expected, actual, ok", [
    ("14876", 14876, True),                       # counts: exact
    ("14876", 14877, False),
    ("123.45", Decimal("123.45"), True),
    ("123.45", Decimal("123.46"), True),          # within 0.01
    ("123.45", Decimal("123.47"), False),
    ("55909065222.827692", Decimal("55909065222.83"), True),
    ("55909065222.827692", Decimal("55909065223.827692"), False),  # decimals: no rel slack
    ("25.522005853257337", 25.52200585, True),    # averages as floats
    ("25.522005853257337", 25.54, False),
    ("123456789.0", 123456789.5, True),           # float: relative 1e-6
    ("123456789.0", 123457789.0, False),
    ("16.380778626395543", Decimal("16.38"), True),  # a ratio rounded to 2 places
    ("0.0", 0, True),
    ("1995", 1995, True),
    ("BUILDING", "BUILDING   ", True),            # trailing spaces stripped
    ("BUILDING", "building", False),
    ("Supplier#1", " Supplier#1", False),
    ("1995-03-15", dt.date(1995, 3, 15), True),
    ("1995-03-15", dt.date(1995, 3, 16), False),
    ("1995-03-15T00:00:00", dt.datetime(1995, 3, 15), True),
    ("", None, True),                             # NULL
    ("", 0, False),
    ("0", None, False),
    ("abc", 1, False),
    ("1.5", "1.5", True),
])
def test_value_matches(expected, actual, ok):
    assert value_matches(expected, actual) is ok


ANS = Answer(("k", "name", "value"),
             (("1", "a", "10.00"), ("2", "b", "20.00"), ("2", "c", "30.00"),
              ("3", "d", "40.00")))
ROWS = [(1, "a", Decimal("10.00")), (2, "b", Decimal("20.00")),
        (2, "c", Decimal("30.00")), (3, "d", Decimal("40.00"))]


def test_exact_result_is_ok():
    assert compare(["k", "name", "value"], ROWS, ANS, ("k",)).ok
    assert str(compare(["K", "NAME", "VALUE"], ROWS, ANS, ("k",))) == "ok"


def test_ties_on_the_order_keys_may_come_in_any_order():
    swapped = [ROWS[0], ROWS[2], ROWS[1], ROWS[3]]
    assert compare(["k", "name", "value"], swapped, ANS, ("k",)).ok
    # ... but not when the whole row is the key
    bad = compare(["k", "name", "value"], swapped, ANS, ("k", "name"))
    assert not bad.ok and bad.message == "row 2, column name: expected b, got 'c'"


def test_order_matters_across_different_keys():
    moved = [ROWS[3], ROWS[1], ROWS[2], ROWS[0]]
    result = compare(["k", "name", "value"], moved, ANS, ("k",))
    assert not result.ok
    assert result.message == "row 1, column k: expected 1, got 3"
    assert str(result).startswith("MISMATCH: row 1")


def test_no_order_by_compares_as_multiset():
    shuffled = [ROWS[3], ROWS[1], ROWS[0], ROWS[2]]
    assert compare(["k", "name", "value"], shuffled, ANS, None).ok
    wrong = [ROWS[3], ROWS[1], ROWS[0], (2, "c", Decimal("31.00"))]
    result = compare(["k", "name", "value"], wrong, ANS, None)
    assert not result.ok
    assert result.message == ("rows 1-4 (unordered): row (2, 'c', 31.00) is not in the "
                              "answer; answer row (2, c, 30.00) not found")


def test_mismatch_inside_a_tie_group_names_the_rows():
    wrong = [ROWS[0], (2, "b", Decimal("20.00")), (2, "x", Decimal("30.00")), ROWS[3]]
    result = compare(["k", "name", "value"], wrong, ANS, ("k",))
    assert not result.ok and result.message.startswith("rows 2-3 (unordered): row (2, 'x'")


def test_row_count_and_columns():
    result = compare(["k", "name", "value"], ROWS[:3], ANS, ("k",))
    assert result.message == "expected 4 rows, got 3"
    result = compare(["k", "name", "value"], [ROWS[1]] + ROWS[1:3], ANS, ("k",))
    assert result.message.startswith("expected 4 rows, got 3; first difference at row 1")
    result = compare(["k", "name"], [r[:2] for r in ROWS], ANS, ("k",))
    assert not result.ok and "expected 3 columns" in result.message
    result = compare(["k", "nom", "value"], ROWS, ANS, ("k",))
    assert result.message == "column 2: expected name 'name', got 'nom'"
    # expression names are engine-specific and not compared
    expr = Answer(("k", "sum(l_quantity)"), (("1", "2.00"),))
    assert compare(["k", "sum_qty"], [(1, Decimal("2"))], expr, ("k",)).ok


def test_null_answer_cell():
    q17 = Answer(("avg_yearly",), (("",),))
    assert compare(["avg_yearly"], [(None,)], q17, None).ok
    assert not compare(["avg_yearly"], [(0.0,)], q17, None).ok


def test_answer_csv_round_trip(tmp_path):
    path = tmp_path / "sf0.5" / "q03.csv"
    rows = [(1, "x, \"quoted\"", Decimal("1.50"), 2.25, dt.date(1995, 1, 2), None)]
    names = ["a", "b", "c", "d", "e", "f"]
    check.write_answer_csv(path, names, rows)
    answer = check.read_answer_csv(path)
    assert answer.names == tuple(names)
    assert answer.rows == (("1", 'x, "quoted"', "1.50", "2.25", "1995-01-02", ""),)
    assert compare(names, rows, answer, ("a",)).ok
    assert check.available_scale_factors(tmp_path) == [0.5]
    assert check.has_answers(0.5, tmp_path) and not check.has_answers(1, tmp_path)
    with pytest.raises(FileNotFoundError, match="query 4 at scale factor 0.5"):
        check.load_answer(0.5, 4, tmp_path)


def test_large_multiset_mismatch_without_rematching():
    n = check._GREEDY_LIMIT + 10
    answer = Answer(("k",), tuple((str(i),) for i in range(n)))
    rows = [(i,) for i in range(n)]
    assert compare(["k"], list(reversed(rows)), answer, None).ok
    rows[5] = (-1,)
    result = compare(["k"], rows, answer, None)
    assert not result.ok and result.message.startswith(f"rows 1-{n} (unordered)")


def test_query_list_parsing():
    assert querylib.parse_query_list(None) == list(range(1, 23))
    assert querylib.parse_query_list("all") == list(range(1, 23))
    assert querylib.parse_query_list("1,6, 12-14,q5,Q06") == [1, 6, 12, 13, 14, 5]
    with pytest.raises(ValueError, match="no TPC-H query 23"):
        querylib.parse_query_list("22,23")
    with pytest.raises(ValueError, match="bad query list"):
        querylib.parse_query_list("one")


def test_order_keys_of_the_queries():
    assert querylib.order_keys(1) == ("l_returnflag", "l_linestatus")
    assert querylib.order_keys(13) == ("custdist", "c_count")
    assert querylib.order_keys(15) == ("s_suppkey",)
    for n in (6, 14, 17, 19):
        assert querylib.order_keys(n) is None
    assert all(querylib.query_text(n).lower().lstrip().startswith(("select", "--", "with"))
               for n in querylib.ALL_QUERIES)


def test_progress_bar_is_one_line():
    buf = io.StringIO()
    bar = ProgressBar(4, stream=buf, width=8)
    bar.show("q01 run 1/2")
    bar.step("q01 0.1s")
    bar.step("q02 a much longer label")
    bar.step("q3")
    bar.close()
    text = buf.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    last = text.rstrip("\n").split("\r")[-1]
    assert last.startswith("[######--] 3/4  q3") and len(last) == len(
        "[####----] 2/4  q02 a much longer label")
    silent = io.StringIO()
    ProgressBar(2, enabled=False, stream=silent).step("x")
    assert silent.getvalue() == ""


def test_table_and_totals():
    res = RunResults(data_dir="d", engine="quiver", target=None, runs=3, peers=("duckdb",))
    res.queries = [
        QueryResult(1, times=[3.0, 1.0, 2.0], rows=4, check=check.CheckResult(True),
                    peak_rss=300 << 20,
                    peers={"duckdb": EngineRun(times=[0.5, 0.5, 1.5], peak_rss=100 << 20)}),
        QueryResult(2, times=[1.0], error="NotSupportedError: EXISTS"),
        QueryResult(3, times=[1.0, 1.0, 1.0], rows=10, peak_rss=200 << 20,
                    check=check.CheckResult(False, "row 1, column x: expected 1, got 2"),
                    peers={"duckdb": EngineRun(times=[2.0, 2.0, 2.0], peak_rss=50 << 20)}),
    ]
    totals = res.totals()
    assert totals["seconds"] == 3.0 and totals["peers"]["duckdb"]["seconds"] == 2.5
    assert totals["peers"]["duckdb"]["ratio"] == pytest.approx(1.2)
    assert totals["peers"]["duckdb"]["geomean_ratio"] == pytest.approx((4.0 * 0.5) ** 0.5)
    assert totals["peak_rss"] == 300 << 20 and totals["peers"]["duckdb"]["peak_rss"] == 100 << 20
    assert not res.ok
    table = format_table(res)
    lines = table.splitlines()
    assert lines[0].split() == ["query", "seconds", "peak", "MiB", "rows", "duckdb", "s",
                                "duckdb", "MiB", "x", "duckdb", "check"]
    assert lines[2].split()[:8] == ["Q01", "2.000", "300", "4", "0.500", "100", "4.00", "ok"]
    assert "ERROR: NotSupportedError: EXISTS" in lines[3]
    assert "MISMATCH: row 1, column x: expected 1, got 2" in lines[4]
    assert lines[6].split() == ["total", "3.000", "300", "2.500", "100", "1.20", "2", "failed"]
    assert lines[7] == ("quiver/duckdb: total 1.20x over 2 queries, "
                        "geometric mean of ratios 1.41")
    data = res.to_dict()
    assert data["queries"][1]["median"] is None and data["queries"][0]["median"] == 2.0


def test_a_cluster_run_shows_its_largest_process():
    """On a cluster the memory limit is each worker's: the table shows the
    largest single process beside the whole tree."""
    res = RunResults(data_dir="d", engine="quiver", target="local[2]", runs=1,
                     memory_limit="2GB")
    res.queries = [QueryResult(1, times=[1.0], rows=4, peak_rss=2900 << 20,
                               peak_process=1300 << 20),
                   QueryResult(2, times=[1.0], rows=1, peak_rss=2000 << 20,
                               peak_process=1400 << 20)]
    lines = format_table(res).splitlines()
    assert lines[0].split() == ["query", "seconds", "peak", "MiB", "proc", "MiB", "rows", "check"]
    assert lines[2].split() == ["Q01", "1.000", "2900", "1300", "4"]
    assert lines[-2].split()[:4] == ["total", "2.000", "2900", "1400"]
    assert "its largest single process" in lines[-1] and "2GB per worker" in lines[-1]
    assert res.to_dict()["queries"][0]["peak_process"] == 1300 << 20
    for one_process in (None, "embedded", "warehouse.quiver"):
        embedded = RunResults(data_dir="d", engine="quiver", target=one_process, runs=1)
        embedded.queries = res.queries
        assert "proc" not in format_table(embedded).splitlines()[0], one_process
