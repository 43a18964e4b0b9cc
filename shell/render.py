"""Results as text for people: aligned tables that fit the terminal, and the
vertical (expanded) form.

    text = render(table, width=120, expanded="auto", max_rows=10_000)

     l_returnflag | n
    --------------+------
     A            | 1478
     N            | 3001

A column too wide for the terminal is cut with `…`; when even cut columns
do not fit, `expanded="auto"` switches to one record per block:

    -[ RECORD 1 ]+-----
    l_returnflag | A
    n            | 1478

`width=None` means no terminal: nothing is cut (scripts, files). Numbers are
right-aligned, everything else left-aligned, NULL shows as `NULL`. This
module only lays text out; csv/json/parquet live in export.py.
"""

from __future__ import annotations

import datetime

import pyarrow as pa
import pyarrow.compute as pc

ELLIPSIS = "…"
NULL = "NULL"
MIN_WIDTH = 6            # a cut column keeps at least this many cells
MAX_DISPLAY_ROWS = 10_000


def text_width(s: str) -> int:
    if s.isascii():
        return len(s)
    from wcwidth import wcswidth        # only for non-ASCII text (saves start-up)
    w = wcswidth(s)
    return len(s) if w < 0 else w


def cut(s: str, width: int) -> str:
    """`s` shortened to `width` terminal cells, ending in … when cut."""
    if text_width(s) <= width:
        return s
    if width <= 1:
        return ELLIPSIS[:width]
    if s.isascii():
        return s[: width - 1] + ELLIPSIS
    out, used = [], 0
    for ch in s:
        w = max(text_width(ch), 0)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def pad(s: str, width: int, right: bool) -> str:
    gap = width - text_width(s)
    if gap <= 0:
        return s
    return " " * gap + s if right else s + " " * gap


# -- cells ----------------------------------------------------------------------

def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_cuttable(t: pa.DataType) -> bool:
    """Text-like values may be shown cut; numbers, dates and flags may not."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return not (_is_numeric(t) or pa.types.is_boolean(t) or pa.types.is_temporal(t))


def _fast_string_cast(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_boolean(t) or pa.types.is_date(t)
            or pa.types.is_string(t) or pa.types.is_large_string(t))


def _py_cell(v) -> str:
    if v is None:
        return NULL
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (bytes, bytearray)):
        return "\\x" + bytes(v).hex()
    if isinstance(v, list):
        return "[" + ", ".join(_py_cell(x) if not isinstance(x, str) else repr(x)
                               for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_py_cell(x)}" for k, x in v.items()) + "}"
    return str(v)


def column_cells(col: pa.ChunkedArray | pa.Array) -> list[str]:
    """The display text of every value of one column."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = t.value_type
    if str(t) in ("string_view", "large_string"):
        col = col.cast(pa.string())
        t = pa.string()
    if _fast_string_cast(t):
        text = pc.cast(col, pa.string()) if not pa.types.is_string(t) else col
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            for a, b in (("\r", "\\r"), ("\n", "\\n"), ("\t", "\\t")):
                text = pc.replace_substring(text, a, b)
        text = pc.fill_null(text, NULL)
        return text.to_pylist()
    return [_py_cell(v) for v in col.to_pylist()]


# -- layout ---------------------------------------------------------------------

EXPLAIN_COLUMNS = ["explain_key", "explain_value"]
_SECTION_TITLES = {"logical_plan": "Logical plan", "physical_plan": "Physical plan",
                   "stage_dag": "Stage DAG", "stages": "Stages",
                   "analyzed_stages": "Stages (analyzed)",
                   "initial_logical_plan": "Initial logical plan"}


def is_explain(table: pa.Table) -> bool:
    return table.column_names == EXPLAIN_COLUMNS


def render_explain(table: pa.Table) -> str:
    """An EXPLAIN result as the plans themselves: a title per section, then
    its lines as they are (indented trees, never cut)."""
    out = []
    for key, value in zip(table.column(0).to_pylist(), table.column(1).to_pylist()):
        title = _SECTION_TITLES.get(key, key.replace("_", " ").capitalize())
        out.append(f"{title}\n{'-' * text_width(title)}\n{value or ''}".rstrip())
    return "\n\n".join(out)


def render(table: pa.Table, width: int | None = None, expanded: str = "auto",
           max_rows: int | None = MAX_DISPLAY_ROWS) -> str:
    """`table` as aligned text; expanded is "auto", "on" or "off". An
    EXPLAIN result is printed as its plans (render_explain)."""
    if is_explain(table):
        return render_explain(table)
    shown = table if max_rows is None or table.num_rows <= max_rows else table.slice(0, max_rows)
    headers = [h.replace("\n", "\\n") for h in table.column_names]
    columns = [column_cells(c) for c in shown.columns]
    right = [_is_numeric(c.type) for c in shown.columns]
    cuttable = [_is_cuttable(c.type) for c in shown.columns]
    if expanded == "on" and shown.num_rows:
        text = render_vertical(headers, columns, width)
    else:
        text = render_table(headers, columns, right, width, cuttable)
        if text is None:      # does not fit
            if expanded == "auto" and shown.num_rows:
                text = render_vertical(headers, columns, width)
            else:
                text = render_table(headers, columns, right, None)
    if shown.num_rows < table.num_rows:
        text += f"\n(showing the first {shown.num_rows} of {table.num_rows} rows)"
    return text


def fit_widths(natural: list[int], width: int,
               floor: list[int] | None = None) -> list[int] | None:
    """Column widths that fit `width` cells (with separators), cutting the
    widest columns first but none below its `floor` (default MIN_WIDTH);
    None if the floors alone do not fit."""
    overhead = 3 * len(natural) - 1 if natural else 0
    if sum(natural) + overhead <= width:
        return natural
    if floor is None:
        floor = [min(w, MIN_WIDTH) for w in natural]

    def widths_at(cap: int) -> list[int]:
        return [max(f, min(w, cap)) for w, f in zip(natural, floor)]

    if sum(floor) + overhead > width:
        return None
    lo, hi = 0, max(natural)          # the largest cap that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(widths_at(mid)) + overhead <= width:
            lo = mid
        else:
            hi = mid - 1
    widths = widths_at(lo)
    spare = width - overhead - sum(widths)
    for i, w in enumerate(natural):          # hand out what is left, left to right
        if spare <= 0:
            break
        if w > widths[i]:
            extra = min(spare, w - widths[i])
            widths[i] += extra
            spare -= extra
    return widths


def render_table(headers: list[str], columns: list[list[str]], right: list[bool],
                 width: int | None, cuttable: list[bool] | None = None) -> str | None:
    cuttable = cuttable if cuttable is not None else [True] * len(columns)
    values = [max([0] + [text_width(s) for s in col]) for col in columns]
    natural = [max(text_width(h), v) for h, v in zip(headers, values)]
    # only text is cut: a cut number, date or flag would read as another value
    floor = [min(n, MIN_WIDTH) if c else max(v, 1)
             for n, v, c in zip(natural, values, cuttable)]
    widths = natural if width is None else fit_widths(natural, width - 1, floor)
    if widths is None:
        return None
    head = " " + " | ".join(pad(cut(h, w), w, False) for h, w in zip(headers, widths))
    rule = "-" + "-+-".join("-" * w for w in widths) + "-"
    lines = [head.rstrip(), rule]
    nrows = len(columns[0]) if columns else 0
    cells = [[pad(cut(s, w), w, r) for s in col]
             for col, w, r in zip(columns, widths, right)]
    for i in range(nrows):
        lines.append((" " + " | ".join(c[i] for c in cells)).rstrip())
    return "\n".join(lines)


def render_vertical(headers: list[str], columns: list[list[str]],
                    width: int | None) -> str:
    name_w = max(text_width(h) for h in headers) if headers else 0
    if width is not None:
        name_w = min(name_w, max(MIN_WIDTH, width // 3))
    value_w = None if width is None else max(width - name_w - 4, MIN_WIDTH)
    names = [pad(cut(h, name_w), name_w, False) for h in headers]
    nrows = len(columns[0]) if columns else 0
    lines = []
    for i in range(nrows):
        title = f"-[ RECORD {i + 1} ]"
        left = max(name_w + 1, len(title))
        right = 10 if width is None else max(width - 1 - left - 1, 1)
        lines.append(title + "-" * (left - len(title)) + "+" + "-" * right)
        for name, col in zip(names, columns):
            value = col[i] if value_w is None else cut(col[i], value_w)
            lines.append(f"{name} | {value}".rstrip())
    return "\n".join(lines)


def footer(rows: int, seconds: float | None = None) -> str:
    text = f"{rows} row" + ("" if rows == 1 else "s")
    if seconds is not None:
        text += f" ({format_seconds(seconds)})"
    return text


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, sec = divmod(seconds, 60)
    return f"{int(minutes)} min {sec:.1f} s"
