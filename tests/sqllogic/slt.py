"""A small sqllogictest-style format for Quiver's golden SQL tests.

    # comment (kept above the record it precedes when the file is rewritten)
    statement ok
    CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '${DATA}/t'

    statement error ProgrammingError column 'x' not found
    SELECT x FROM t

    query rowsort
    SELECT a, b FROM t
    ----
    1	foo
    NULL	(empty)

A record ends at a blank line. `query` takes `rowsort` (compare as sorted
rows) or `nosort` (the default: compare in order; use it only when the query
orders its rows completely). `statement error` names the expected error class
and, optionally, a fragment of its message. Values print tab-separated: NULL,
(empty) for '', true/false, decimals as their exact digits, doubles rounded
to 6 significant digits, dates and timestamps in ISO form.
"""

from __future__ import annotations

import datetime
import decimal
import math
from dataclasses import dataclass, field


@dataclass
class Record:
    kind: str                 # "statement" | "query"
    sql: str
    line: int
    expect_error: str | None = None    # "ClassName message fragment"
    sort: str = "nosort"
    expected: list[str] = field(default_factory=list)
    has_expected: bool = False
    comments: list[str] = field(default_factory=list)   # '# ...' lines above it


def parse(text: str) -> list[Record]:
    records: list[Record] = []
    lines = text.splitlines()
    i = 0
    comments: list[str] = []
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("#"):
            comments.append(line)
        if not line or line.startswith("#"):
            i += 1
            continue
        head = line.split(maxsplit=2)
        start = i + 1
        i += 1
        sql_lines = []
        while i < len(lines) and lines[i].strip() and lines[i].strip() != "----":
            sql_lines.append(lines[i])
            i += 1
        rec = Record(head[0], "\n".join(sql_lines), start, comments=comments)
        comments = []
        if head[0] == "statement":
            if len(head) > 1 and head[1] == "error":
                rec.expect_error = head[2] if len(head) > 2 else "Error"
        elif head[0] == "query":
            if len(head) > 1:
                rec.sort = head[1]
            if i < len(lines) and lines[i].strip() == "----":
                rec.has_expected = True
                i += 1
                while i < len(lines) and lines[i].strip():
                    rec.expected.append(lines[i].rstrip("\n"))
                    i += 1
        else:
            raise ValueError(f"line {start}: unknown record {head[0]!r}")
        records.append(rec)
    return records


def render(records: list[Record]) -> str:
    out = []
    for r in records:
        out.extend(r.comments)
        if r.kind == "statement":
            out.append("statement " + (f"error {r.expect_error}" if r.expect_error else "ok"))
            out.append(r.sql)
        else:
            out.append("query" + (f" {r.sort}" if r.sort != "nosort" else ""))
            out.append(r.sql)
            out.append("----")
            out.extend(r.expected)
        out.append("")
    return "\n".join(out)


def format_value(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == 0:
            return "0"
        return f"{float(f'{v:.6g}'):g}" if abs(v) < 1e15 else f"{v:.6g}"
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat(sep=" ") if isinstance(v, datetime.datetime) else v.isoformat()
    if isinstance(v, str):
        return v if v else "(empty)"
    return str(v)


def format_rows(rows: list[tuple], sort: str) -> list[str]:
    lines = ["\t".join(format_value(v) for v in row) for row in rows]
    return sorted(lines) if sort == "rowsort" else lines
