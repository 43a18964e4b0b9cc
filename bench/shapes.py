"""Query shapes beyond TPC-H: Quiver against DuckDB on the same Parquet files.

Star joins with filtered dimensions, correlated and uncorrelated subqueries,
DISTINCT aggregates, conditional aggregation, casts, strings, windows and
set operations: shapes users write that TPC-H does not. Each query runs once
to warm up and then three times in each engine; the script prints the best
time of each, the ratio, and whether the answers match (rows compared as
sorted tuples, numbers rounded to 4 places; for a LIMIT without ORDER BY,
named unordered_*, only the row counts).

Both engines run in this one process (DuckDB with 2 threads, Quiver
embedded), one query at a time: a quick way to find the shapes where Quiver
is far behind, not a published benchmark (`quiver tpch run --compare` runs
each engine in its own process).

    python bench/shapes.py /path/to/tpch/sf1 [name,name,...]
"""

import os
import sys
import time

import duckdb

import quiver

QUERIES = {
    'star4':
        "SELECT n_name, p_brand, sum(l_extendedprice * (1 - l_discount)) rev FROM lineitem JOIN part ON l_partkey = p_partkey JOIN supplier ON l_suppkey = s_suppkey JOIN nation ON s_nationkey = n_nationkey JOIN orders ON l_orderkey = o_orderkey WHERE p_size < 5 AND p_container = 'SM BOX' AND n_regionkey = 1 AND o_orderdate >= DATE '1996-01-01' GROUP BY n_name, p_brand ORDER BY rev DESC LIMIT 10",
    'star_cust':
        "SELECT c_mktsegment, count(*), sum(l_quantity) FROM lineitem, orders, customer, nation, region WHERE l_orderkey = o_orderkey AND o_custkey = c_custkey AND c_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'ASIA' AND o_orderpriority = '1-URGENT' AND l_shipmode = 'AIR' GROUP BY c_mktsegment ORDER BY 1",
    'corr_max':
        'SELECT count(*) FROM orders o WHERE o_totalprice > (SELECT avg(o2.o_totalprice) * 1.5 FROM orders o2 WHERE o2.o_custkey = o.o_custkey)',
    'corr_exists':
        'SELECT p_brand, count(*) FROM part WHERE EXISTS (SELECT 1 FROM partsupp, supplier WHERE ps_partkey = p_partkey AND ps_suppkey = s_suppkey AND s_acctbal > 9000) AND p_size = 15 GROUP BY 1 ORDER BY 1',
    'corr_scalar_select':
        'SELECT c_custkey, (SELECT count(*) FROM orders WHERE o_custkey = c_custkey) AS n FROM customer WHERE c_nationkey = 3 ORDER BY n DESC, c_custkey LIMIT 5',
    'self_join_dim':
        "SELECT count(*) FROM part p1 JOIN part p2 ON p1.p_brand = p2.p_brand AND p1.p_size = p2.p_size WHERE p1.p_container = 'JUMBO PKG' AND p2.p_container = 'WRAP CASE' AND p1.p_type LIKE '%TIN'",
    'semi_in':
        "SELECT count(*) FROM lineitem WHERE l_orderkey IN (SELECT o_orderkey FROM orders WHERE o_orderpriority = '1-URGENT' AND o_orderdate < DATE '1993-06-01') AND l_partkey IN (SELECT p_partkey FROM part WHERE p_brand = 'Brand#12')",
    'window':
        'SELECT l_suppkey, sum(l_quantity) OVER (PARTITION BY l_suppkey ORDER BY l_shipdate ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) s FROM lineitem WHERE l_partkey < 2000 ORDER BY 1, 2 LIMIT 5',
    'fact_dims_or':
        "SELECT d.n_name, sum(l_extendedprice) FROM lineitem JOIN supplier ON l_suppkey = s_suppkey JOIN nation d ON s_nationkey = d.n_nationkey JOIN part ON l_partkey = p_partkey WHERE (p_brand = 'Brand#23' AND p_size < 10) OR (p_brand = 'Brand#45' AND d.n_name = 'FRANCE') GROUP BY 1 ORDER BY 1",
    'five_dims':
        "SELECT n1.n_name, n2.n_name, count(*), sum(l_quantity) FROM lineitem JOIN orders ON l_orderkey=o_orderkey JOIN customer ON o_custkey=c_custkey JOIN supplier ON l_suppkey=s_suppkey JOIN nation n1 ON c_nationkey=n1.n_nationkey JOIN nation n2 ON s_nationkey=n2.n_nationkey JOIN part ON l_partkey=p_partkey WHERE p_type = 'SMALL PLATED COPPER' AND n1.n_regionkey = 2 AND n2.n_regionkey = 3 GROUP BY 1,2 ORDER BY 1,2",
    'high_card_group':
        'SELECT l_partkey, l_suppkey, sum(l_quantity) s FROM lineitem GROUP BY 1,2 ORDER BY s DESC, 1, 2 LIMIT 5',
    'count_distinct':
        'SELECT l_returnflag, count(DISTINCT l_partkey), count(DISTINCT l_orderkey) FROM lineitem GROUP BY 1 ORDER BY 1',
    'topn':
        'SELECT l_orderkey, l_extendedprice FROM lineitem ORDER BY l_extendedprice DESC, l_orderkey LIMIT 10',
    'strings':
        "SELECT substring(p_name, 1, 5) AS pre, count(*) FROM part WHERE upper(p_type) LIKE '%BRASS%' AND p_name LIKE '%green%' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
    'case_aggs':
        "SELECT l_shipmode, sum(CASE WHEN l_discount > 0.05 THEN l_extendedprice ELSE 0 END), avg(CASE WHEN l_returnflag = 'R' THEN l_quantity END), count(CASE WHEN l_tax = 0 THEN 1 END) FROM lineitem GROUP BY 1 ORDER BY 1",
    'corr_q17like':
        'SELECT count(*) FROM lineitem l WHERE l_quantity > (SELECT 1.8 * avg(l2.l_quantity) FROM lineitem l2 WHERE l2.l_partkey = l.l_partkey)',
    'corr_select_max':
        "SELECT o_orderkey, (SELECT max(l_extendedprice) FROM lineitem WHERE l_orderkey = o_orderkey) m FROM orders WHERE o_orderdate = DATE '1995-01-01' ORDER BY 1 LIMIT 5",
    'exists_or':
        'SELECT count(*) FROM orders WHERE EXISTS (SELECT 1 FROM lineitem WHERE l_orderkey = o_orderkey AND l_quantity > 49) OR o_totalprice > 500000',
    'not_exists_noneq':
        "SELECT count(*) FROM lineitem l1 WHERE l_shipdate > DATE '1998-06-01' AND NOT EXISTS (SELECT 1 FROM lineitem l2 WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey)",
    'left_join_filter':
        "SELECT count(*), count(o_orderkey) FROM customer LEFT JOIN orders ON c_custkey = o_custkey AND o_orderstatus = 'F' WHERE c_acctbal > 5000",
    'union_all_aggs':
        "SELECT 'o' k, count(*) FROM orders WHERE o_orderdate < DATE '1994-01-01' UNION ALL SELECT 'l', count(*) FROM lineitem WHERE l_shipdate < DATE '1994-01-01' UNION ALL SELECT 'p', count(*) FROM partsupp WHERE ps_availqty < 100",
    'rank_window':
        'SELECT * FROM (SELECT o_custkey, o_orderkey, rank() OVER (PARTITION BY o_custkey ORDER BY o_totalprice DESC) r FROM orders) WHERE r = 1 ORDER BY o_custkey LIMIT 5',
    'in_list':
        'SELECT count(*) FROM lineitem WHERE l_partkey IN (1,5,9,13,17,21,25,29,33,37,41,45,49,53,57,61,65,69,73,77,81,85,89,93,97) OR l_suppkey IN (7, 77, 777)',
    'date_funcs':
        "SELECT extract(year FROM o_orderdate) y, date_trunc('month', o_orderdate) m, count(*) FROM orders GROUP BY 1,2 ORDER BY 1,2 LIMIT 5",
    'having_subq':
        'SELECT o_custkey, sum(o_totalprice) FROM orders GROUP BY 1 HAVING sum(o_totalprice) > (SELECT avg(o_totalprice) * 20 FROM orders) ORDER BY 2 DESC LIMIT 5',
    'fact_fact':
        "SELECT count(*), sum(ps_supplycost * l_quantity) FROM lineitem JOIN partsupp ON l_partkey = ps_partkey AND l_suppkey = ps_suppkey WHERE l_shipdate >= DATE '1997-01-01'",
    'scalar_in_case':
        'SELECT count(*) FROM part WHERE CASE WHEN p_size > 40 THEN p_retailprice > (SELECT avg(ps_supplycost) FROM partsupp WHERE ps_partkey = p_partkey) * 3 ELSE false END',
    'semi_dim_chain':
        "SELECT count(*) FROM lineitem WHERE l_suppkey IN (SELECT s_suppkey FROM supplier WHERE s_nationkey IN (SELECT n_nationkey FROM nation WHERE n_regionkey IN (SELECT r_regionkey FROM region WHERE r_name='EUROPE')))",
    'distinct_rows':
        'SELECT count(*) FROM (SELECT DISTINCT l_orderkey, l_suppkey FROM lineitem)',
    'corr_agg_twice':
        "SELECT c_nationkey, count(*) FROM customer c WHERE c_acctbal > (SELECT avg(c2.c_acctbal) FROM customer c2 WHERE c2.c_nationkey = c.c_nationkey) AND EXISTS (SELECT 1 FROM orders WHERE o_custkey = c.c_custkey AND o_orderpriority = '1-URGENT') GROUP BY 1 ORDER BY 1",
    'outer_star':
        "SELECT p_brand, count(l_orderkey) FROM part LEFT JOIN lineitem ON p_partkey = l_partkey AND l_shipdate = DATE '1996-03-13' WHERE p_size = 7 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
    'string_group':
        'SELECT o_clerk, count(*) FROM orders GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5',
    'comment_like':
        "SELECT count(*) FROM lineitem WHERE l_comment LIKE '%carefully%express%'",
    'multi_distinct':
        'SELECT count(DISTINCT l_suppkey), count(DISTINCT l_partkey), count(DISTINCT l_shipdate) FROM lineitem',
    'group_expr':
        'SELECT substring(c_phone, 1, 2) cc, count(*), avg(c_acctbal) FROM customer GROUP BY 1 ORDER BY 3 DESC LIMIT 5',
    'row_number':
        'SELECT count(*) FROM (SELECT o_orderkey, row_number() OVER (PARTITION BY o_custkey ORDER BY o_orderdate) rn FROM orders) WHERE rn <= 2',
    'lag_lead':
        'SELECT sum(d) FROM (SELECT o_totalprice - lag(o_totalprice) OVER (PARTITION BY o_custkey ORDER BY o_orderdate, o_orderkey) d FROM orders)',
    'in_big_subq':
        'SELECT count(*) FROM orders WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem WHERE l_quantity > 45)',
    'not_in_subq':
        "SELECT count(*) FROM customer WHERE c_custkey NOT IN (SELECT o_custkey FROM orders WHERE o_orderdate > DATE '1997-01-01')",
    'string_join':
        'SELECT count(*) FROM customer c JOIN supplier s ON c.c_phone = s.s_phone OR substring(c.c_phone,1,2) = substring(s.s_phone, 1, 2) AND c.c_nationkey = s.s_nationkey WHERE c_acctbal > 9990',
    'self_join_m2m':
        "SELECT count(*) FROM orders o1 JOIN orders o2 ON o1.o_custkey = o2.o_custkey AND o1.o_orderkey < o2.o_orderkey WHERE o1.o_orderdate < DATE '1992-03-01'",
    'union_distinct':
        'SELECT count(*) FROM (SELECT l_partkey k FROM lineitem WHERE l_quantity < 3 UNION SELECT ps_partkey FROM partsupp WHERE ps_availqty < 50)',
    'intersect':
        "SELECT count(*) FROM (SELECT o_custkey FROM orders WHERE o_orderpriority = '1-URGENT' INTERSECT SELECT c_custkey FROM customer WHERE c_mktsegment = 'BUILDING')",
    'except':
        'SELECT count(*) FROM (SELECT c_custkey FROM customer EXCEPT SELECT o_custkey FROM orders)',
    'big_result':
        "SELECT l_orderkey, l_partkey, l_quantity, l_shipdate FROM lineitem WHERE l_shipdate = DATE '1995-06-17'",
    'offset':
        'SELECT o_orderkey FROM orders ORDER BY o_totalprice DESC, o_orderkey LIMIT 10 OFFSET 1000',
    'uncorr_scalar':
        'SELECT count(*) FROM orders WHERE o_totalprice > (SELECT avg(o_totalprice) * 2 FROM orders)',
    'cte_twice':
        'WITH t AS (SELECT o_custkey, sum(o_totalprice) s FROM orders GROUP BY 1) SELECT count(*) FROM t a JOIN t b ON a.o_custkey = b.o_custkey + 1 WHERE a.s > b.s',
    'stats_aggs':
        'SELECT l_returnflag, stddev_samp(l_extendedprice), var_pop(l_discount), avg(l_tax) FROM lineitem GROUP BY 1 ORDER BY 1',
    'dict_count':
        "SELECT count(*) FROM lineitem WHERE l_shipmode IN ('AIR', 'REG AIR') AND l_shipinstruct = 'DELIVER IN PERSON'",
    'having_highcard':
        'SELECT count(*) FROM (SELECT l_orderkey FROM lineitem GROUP BY 1 HAVING sum(l_quantity) > 300)',
    'rollup':
        'SELECT n_name, c_mktsegment, count(*), sum(c_acctbal) FROM customer JOIN nation ON c_nationkey = n_nationkey GROUP BY ROLLUP (n_name, c_mktsegment) ORDER BY 1, 2 LIMIT 5',
    'exists_agg':
        'SELECT count(*) FROM part WHERE EXISTS (SELECT 1 FROM lineitem WHERE l_partkey = p_partkey GROUP BY l_partkey HAVING sum(l_quantity) > 1500)',
    'case_multi':
        "SELECT CASE WHEN l_quantity < 10 THEN 'small' WHEN l_quantity < 30 THEN 'mid' ELSE 'big' END b, count(*) FROM lineitem GROUP BY 1 ORDER BY 1",
    'date_range_join':
        "SELECT count(*) FROM orders JOIN lineitem ON o_orderkey = l_orderkey AND l_shipdate BETWEEN o_orderdate AND o_orderdate + INTERVAL '5' DAY",
    'coalesce_nullif':
        'SELECT sum(coalesce(nullif(l_discount, 0), 0.01) * l_extendedprice) FROM lineitem',
    'ntile_prank':
        'SELECT count(*) FROM (SELECT ntile(4) OVER (ORDER BY o_totalprice) q, percent_rank() OVER (PARTITION BY o_orderstatus ORDER BY o_orderdate) p FROM orders) WHERE q = 1 AND p < 0.5',
    'string_funcs':
        "SELECT count(*) FROM orders WHERE lower(o_comment) LIKE '%special%' AND length(concat(o_clerk, o_orderpriority)) > 20",
    'replace_upper':
        "SELECT count(DISTINCT upper(replace(c_name, 'Customer#', 'C'))) FROM customer",
    'regexp':
        "SELECT count(*) FROM part WHERE regexp_matches(p_name, '^(green|blue).*steel')",
    'date_arith':
        "SELECT count(*) FROM lineitem WHERE date_diff('day', l_shipdate, l_receiptdate) > 25 AND l_commitdate + INTERVAL 10 DAY < l_receiptdate",
    'comment_like2':
        "SELECT count(*) FROM orders WHERE o_comment LIKE '%pending%deposits%'",
    'two_string_group':
        'SELECT l_shipmode, l_shipinstruct, count(*) FROM lineitem GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 5',
    'composite_join':
        'SELECT count(*) FROM lineitem JOIN partsupp ON l_partkey = ps_partkey AND l_suppkey = ps_suppkey WHERE ps_availqty < 100',
    'left_is_null':
        'SELECT count(*) FROM customer LEFT JOIN orders ON c_custkey = o_custkey WHERE o_orderkey IS NULL',
    'top_groups':
        'SELECT l_partkey, sum(l_quantity) q FROM lineitem GROUP BY 1 ORDER BY q DESC LIMIT 10',
    'distinct_strings':
        'SELECT count(*) FROM (SELECT DISTINCT o_clerk, o_orderpriority FROM orders)',
    'union_group':
        'SELECT k, count(*) FROM (SELECT o_orderpriority k FROM orders UNION ALL SELECT c_mktsegment FROM customer) GROUP BY 1 ORDER BY 1',
    'nested_in':
        "SELECT count(*) FROM supplier WHERE s_suppkey IN (SELECT ps_suppkey FROM partsupp WHERE ps_partkey IN (SELECT p_partkey FROM part WHERE p_name LIKE 'forest%') AND ps_availqty > 5000)",
    'in_or':
        'SELECT count(*) FROM orders WHERE o_custkey IN (SELECT c_custkey FROM customer WHERE c_acctbal < 0) OR o_totalprice > 450000',
    'cast_heavy':
        'SELECT sum(CAST(l_quantity AS INTEGER) + CAST(l_discount * 100 AS INTEGER)), max(CAST(l_shipdate AS VARCHAR)) FROM lineitem',
    'min_max_strings':
        'SELECT l_returnflag, min(l_comment), max(l_shipinstruct) FROM lineitem GROUP BY 1 ORDER BY 1',
    'avg_by_date':
        'SELECT o_orderdate, avg(o_totalprice) FROM orders GROUP BY 1 ORDER BY 2 DESC LIMIT 3',
    'window_rank_join':
        'SELECT n_name, count(*) FROM (SELECT c_nationkey, rank() OVER (PARTITION BY c_nationkey ORDER BY c_acctbal DESC) r FROM customer) t JOIN nation ON c_nationkey = n_nationkey WHERE r <= 10 GROUP BY 1 ORDER BY 1 LIMIT 3',
    'exists_corr_range':
        "SELECT count(*) FROM orders o WHERE EXISTS (SELECT 1 FROM lineitem l WHERE l.l_orderkey = o.o_orderkey AND l.l_commitdate < l.l_receiptdate) AND o_orderdate >= DATE '1995-01-01' AND o_orderdate < DATE '1995-04-01'",
    'unordered_select_star_limit':
        'SELECT * FROM lineitem LIMIT 10',
    'select_star_topn':
        'SELECT * FROM orders ORDER BY o_orderdate DESC, o_orderkey LIMIT 10',
    'select_star_topn_wide':
        'SELECT * FROM lineitem ORDER BY l_extendedprice DESC, l_orderkey, l_linenumber LIMIT 10',
    'select_some_topn':
        'SELECT l_orderkey, l_comment, l_shipdate FROM lineitem ORDER BY l_shipdate DESC, l_orderkey, l_linenumber LIMIT 10',
}


def _norm(rows):
    def cell(v):
        if isinstance(v, float) or type(v).__name__ == "Decimal":
            return round(float(v), 4)
        return v
    return sorted((tuple(cell(v) for v in r) for r in rows), key=repr)


def _best(run, times=3):
    rows = run()
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        rows = run()
        best = min(best, time.perf_counter() - start)
    return best, rows


def main(data: str, only: list[str] | None = None) -> None:
    con = quiver.connect()
    duck = duckdb.connect()
    duck.execute("SET threads = 2")
    for table in sorted(os.listdir(data)):
        if os.path.isdir(os.path.join(data, table)):
            con.execute(f"CREATE EXTERNAL TABLE {table} STORED AS PARQUET "
                        f"LOCATION '{data}/{table}'")
            duck.execute(f"CREATE VIEW {table} AS SELECT * FROM "
                         f"read_parquet('{data}/{table}/*.parquet')")
    total_q = total_d = 0.0
    for name, sql in QUERIES.items():
        if only and name not in only:
            continue
        tq, got = _best(lambda: con.execute(sql).fetchall())
        td, want = _best(lambda: duck.execute(sql).fetchall())
        total_q, total_d = total_q + tq, total_d + td
        # a LIMIT without ORDER BY may keep any rows: only their number counts
        same = (len(got) == len(want) if name.startswith("unordered_")
                else _norm(got) == _norm(want))
        print(f"{name:20s} quiver {tq:.3f} duckdb {td:.3f} x{tq / td:.1f} same={same}",
              flush=True)
    print(f"TOTAL quiver {total_q:.3f} duckdb {total_d:.3f} x{total_q / total_d:.2f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].split(",") if len(sys.argv) > 2 else None)
