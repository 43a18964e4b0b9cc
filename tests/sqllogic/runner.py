"""Run golden .slt files against Quiver under the verification matrix.

Every query runs under each configuration of MATRIX and every run must give
the expected rows: a planner or operator bug usually shows in one column of
the matrix only (DuckDB's verification mode does the same).

Rewrite expected output:  python tests/sqllogic/runner.py --rewrite duckdb tests/sql/*.slt
(or `--rewrite quiver` to take Quiver's default-configuration answers).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))

import slt  # noqa: E402

MATRIX: dict[str, dict] = {
    "default": {},
    "rules_off": {"disabled_rules": {"fold_constants", "push_down_filter",
                                     "unwrap_cast_in_comparison", "factor_or_predicates",
                                     "derive_filters_from_or", "push_down_semi_joins",
                                     "push_down_projection", "reorder_joins"}},
    "one_partition": {"target_partitions": 1, "shuffle_partitions": 1},
    "many_partitions": {"target_partitions": 4, "shuffle_partitions": 5, "split_bytes": 1},
    "broadcast_join": {"join_strategy": "broadcast", "target_partitions": 3},
    "shuffle_join": {"join_strategy": "partitioned", "target_partitions": 3,
                     "shuffle_partitions": 3},
    "tiny_batches": {"batch_size": 7},
    # every holder of data (join build, aggregate, sort, window, shuffle and
    # stage outputs) is refused almost at once and spills to disk (128KB: one
    # window partition of the skew table, 2700 rows, must fit beside what the
    # stage's other task holds; 16KB fails it with the documented
    # MemoryLimitExceeded)
    "tiny_memory": {"memory_limit": "128KB", "batch_size": 64, "shuffle_partitions": 3},
}

_EXTERNAL = re.compile(
    r"CREATE\s+EXTERNAL\s+TABLE\s+(\w+)\s+STORED\s+AS\s+(PARQUET|CSV|JSON)\s+"
    r"LOCATION\s+'([^']*)'", re.IGNORECASE)


def substitute(sql: str, data_dir: str) -> str:
    return sql.replace("${DATA}", data_dir)


def run_record_quiver(con, rec: slt.Record, data_dir: str):
    """(ok, lines or error 'Class: message') for one record."""
    import quiver
    try:
        cur = con.execute(substitute(rec.sql, data_dir))
        if rec.kind == "query":
            return True, slt.format_rows(cur.fetchall(), rec.sort)
        if cur.description is not None:
            cur.fetchall()      # a streamed result can fail after its first batch
        return True, []
    except quiver.Error as exc:
        return False, f"{type(exc).__name__}: {exc}"


def error_matches(expect: str, got: str) -> bool:
    cls, _, fragment = expect.partition(" ")
    got_cls, _, got_msg = got.partition(": ")
    import quiver.errors as qe
    expected_cls = getattr(qe, cls, None)
    actual_cls = getattr(qe, got_cls, None)
    if expected_cls is None or actual_cls is None or not issubclass(actual_cls, expected_cls):
        return False
    return fragment.lower() in got_msg.lower()


def check_file(path: str, data_dir: str, config: str, target: str | None = None) -> list[str]:
    """Run one file under one configuration, embedded or against a cluster
    `target` ('local[3]', 'quiver://...'); returns failure descriptions."""
    import quiver
    records = slt.parse(open(path).read())
    failures = []
    options = dict(MATRIX[config])
    if target is not None:
        options["private_catalog"] = True     # each file starts from an empty catalog
    with quiver.connect(target, **options) as con:
        for rec in records:
            ok, out = run_record_quiver(con, rec, data_dir)
            where = f"{os.path.basename(path)}:{rec.line} [{config}]"
            if rec.expect_error:
                if ok:
                    failures.append(f"{where}: expected {rec.expect_error}, statement succeeded")
                elif not error_matches(rec.expect_error, out):
                    failures.append(f"{where}: expected {rec.expect_error}, got {out}")
            elif not ok:
                failures.append(f"{where}: {out}\n  {rec.sql}")
            elif rec.kind == "query":
                expected = sorted(rec.expected) if rec.sort == "rowsort" else rec.expected
                if out != expected:
                    failures.append(_diff(where, rec.sql, expected, out))
    return failures


def _diff(where, sql, expected, got) -> str:
    lines = [f"{where}: wrong result\n  {sql}"]
    for i in range(max(len(expected), len(got))):
        e = expected[i] if i < len(expected) else "<missing>"
        g = got[i] if i < len(got) else "<missing>"
        if e != g:
            lines.append(f"  row {i}: expected {e!r} got {g!r}")
            if len(lines) > 6:
                break
    lines.append(f"  ({len(expected)} rows expected, {len(got)} got)")
    return "\n".join(lines)


def duckdb_sql(sql: str) -> str:
    def repl(m):
        name, fmt, loc = m.group(1), m.group(2).lower(), m.group(3)
        return (f"CREATE VIEW {name} AS SELECT * FROM read_{fmt}('{loc}/**/*.{fmt}', "
                f"hive_partitioning = true, union_by_name = true)")
    return _EXTERNAL.sub(repl, sql)


def rewrite(path: str, data_dir: str, engine: str) -> None:
    records = slt.parse(open(path).read())
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect()
        for rec in records:
            sql = duckdb_sql(substitute(rec.sql, data_dir))
            if rec.expect_error:
                continue
            if rec.kind == "statement":
                con.execute(sql)
            else:
                rec.expected = slt.format_rows(con.execute(sql).fetchall(), rec.sort)
    else:
        import quiver
        con = quiver.connect()
        for rec in records:
            ok, out = run_record_quiver(con, rec, data_dir)
            if rec.kind == "query" and ok:
                rec.expected = out
    with open(path, "w") as f:
        f.write(slt.render(records))


def main(argv=None) -> int:
    from testdata import make_test_data
    ap = argparse.ArgumentParser()
    ap.add_argument("--rewrite", choices=["duckdb", "quiver"])
    ap.add_argument("--config", default=None)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    data_dir = make_test_data(tempfile.mkdtemp(prefix="quiver-slt-"))
    failures = []
    try:
        for path in args.files:
            if args.rewrite:
                rewrite(path, data_dir, args.rewrite)
                continue
            for config in ([args.config] if args.config else MATRIX):
                failures.extend(check_file(path, data_dir, config))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
