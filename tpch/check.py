"""Comparing a TPC-H query result with its reference answer.

Owns: finding and reading the committed answers (`answers/sf<SF>/qNN.csv`,
a header line then one line per row, NULL as an empty field), and the
comparison rules. Does not run queries.

Rules (after the TPC-H spec's validation rules, section 2.1.3.5):
- integers against integers (COUNT results, keys): exact;
- DECIMAL results (sums of money: exact arithmetic): within 0.01;
- floating-point results (AVG, ratios): within 0.01 absolute or 1e-6
  relative. (Relative slack is not given to DECIMAL results on purpose: at
  SF 1, 1e-6 of Q1's sum_charge is about 56,000, more than a lost row.)
- strings: exact after stripping trailing spaces; dates: exact;
- row order is compared only on the query's ORDER BY keys: rows whose keys
  are equal (ties) are compared as a multiset, and a query with no ORDER BY
  is compared as a multiset;
- column names are compared case-insensitively, except where the answer's
  name is an expression (contains "("), whose spelling is engine-specific.

The result of a comparison is a `CheckResult`: `ok` and, when not ok, a
message naming the first difference (row, column, expected, got).

Result sets here are small (tens to a few thousand rows) and this is
checking code, not engine code, so it works on Python values.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from dataclasses import dataclass
from pathlib import Path

ANSWERS_DIR = Path(__file__).resolve().parent / "answers"
ABS_TOL = 0.01
REL_TOL = 1e-6
_GREEDY_LIMIT = 3000  # rows; beyond this a multiset mismatch is not re-matched


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    message: str = ""

    def __str__(self) -> str:
        return "ok" if self.ok else f"MISMATCH: {self.message}"


@dataclass(frozen=True, slots=True)
class Answer:
    names: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


# ---------------------------------------------------------------- answers


def sf_label(sf: float) -> str:
    """0.01 -> "0.01", 1.0 -> "1", 10 -> "10"."""
    return f"{sf:g}"


def answer_dir(sf: float, root: Path | None = None) -> Path:
    return (root or ANSWERS_DIR) / f"sf{sf_label(sf)}"


def available_scale_factors(root: Path | None = None) -> list[float]:
    base = root or ANSWERS_DIR
    if not base.is_dir():
        return []
    out = []
    for d in base.iterdir():
        if d.is_dir() and d.name.startswith("sf") and any(d.glob("q*.csv")):
            try:
                out.append(float(d.name[2:]))
            except ValueError:
                continue
    return sorted(out)


def has_answers(sf: float, root: Path | None = None) -> bool:
    return any(answer_dir(sf, root).glob("q*.csv"))


def answer_path(sf: float, n: int, root: Path | None = None) -> Path:
    return answer_dir(sf, root) / f"q{n:02d}.csv"


def load_answer(sf: float, n: int, root: Path | None = None) -> Answer:
    path = answer_path(sf, n, root)
    if not path.is_file():
        raise FileNotFoundError(f"no reference answer for query {n} at scale "
                                f"factor {sf_label(sf)} ({path})")
    return read_answer_csv(path)


def read_answer_csv(path: Path) -> Answer:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        names = tuple(next(reader))
        rows = tuple(tuple(r) for r in reader)
    return Answer(names, rows)


def format_value(value) -> str:
    """How a Python result value is written into an answer CSV."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def write_answer_csv(path: Path, names, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(list(names))
        for row in rows:
            writer.writerow([format_value(v) for v in row])


# ---------------------------------------------------------------- values


def _close(expected: decimal.Decimal, actual: decimal.Decimal,
           relative: bool = True) -> bool:
    diff = abs(expected - actual)
    if diff <= decimal.Decimal(str(ABS_TOL)):
        return True
    if not relative:
        return False
    scale = max(abs(expected), abs(actual))
    return scale > 0 and diff / scale <= decimal.Decimal(str(REL_TOL))


def _as_decimal(value) -> decimal.Decimal | None:
    try:
        d = decimal.Decimal(value if not isinstance(value, float) else repr(value))
    except (decimal.InvalidOperation, ValueError, TypeError):
        return None
    return d if d.is_finite() else None


def value_matches(expected: str, actual) -> bool:
    """Does the answer cell `expected` (CSV text) match the result value?"""
    if actual is None:
        return expected == ""
    if isinstance(actual, bool):
        return expected.strip().lower() in (("true", "1") if actual else ("false", "0"))
    if isinstance(actual, int):
        try:
            return int(expected) == actual
        except ValueError:
            pass
        exp_d = _as_decimal(expected)
        return exp_d is not None and _close(exp_d, decimal.Decimal(actual))
    if isinstance(actual, decimal.Decimal):
        exp_d, act_d = _as_decimal(expected), _as_decimal(actual)
        return (exp_d is not None and act_d is not None
                and _close(exp_d, act_d, relative=False))
    if isinstance(actual, float):
        if actual != actual:  # NaN
            return expected.lower() == "nan"
        exp_d, act_d = _as_decimal(expected), _as_decimal(actual)
        return exp_d is not None and act_d is not None and _close(exp_d, act_d)
    if isinstance(actual, dt.datetime):
        try:
            return dt.datetime.fromisoformat(expected) == actual
        except ValueError:
            return False
    if isinstance(actual, dt.date):
        return expected == actual.isoformat()
    if isinstance(actual, str):
        return expected.rstrip() == actual.rstrip()
    return expected == str(actual)


def _show(value) -> str:
    return repr(value) if isinstance(value, str) else format_value(value) or "NULL"


def _row_diff(expected: tuple[str, ...], actual: tuple) -> int | None:
    """Index of the first column that differs, or None if the rows match."""
    for i, (e, a) in enumerate(zip(expected, actual)):
        if not value_matches(e, a):
            return i
    return None


# ---------------------------------------------------------------- results


def _check_names(expected: tuple[str, ...], names) -> CheckResult | None:
    if len(names) != len(expected):
        return CheckResult(False, f"expected {len(expected)} columns "
                                  f"{list(expected)}, got {len(names)} {list(names)}")
    for i, (e, a) in enumerate(zip(expected, names)):
        if "(" not in e and e.lower() != str(a).lower():
            return CheckResult(False, f"column {i + 1}: expected name {e!r}, got {a!r}")
    return None


def _sort_key(values, from_text: bool):
    key = []
    for v in values:
        if from_text:
            d = _as_decimal(v) if v else None
            key.append((0, float(d), "") if d is not None else (1, 0.0, v.rstrip()))
        elif v is None:
            key.append((1, 0.0, ""))
        elif isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool):
            key.append((0, float(v), ""))
        else:
            key.append((1, 0.0, format_value(v).rstrip()))
    return tuple(key)


def _compare_multiset(expected, actual, names, first_row: int) -> CheckResult | None:
    """Compare two equally long lists of rows ignoring order."""
    if len(expected) == 1:
        return _compare_row(expected[0], actual[0], names, first_row)
    exp_sorted = sorted(expected, key=lambda r: _sort_key(r, True))
    act_sorted = sorted(actual, key=lambda r: _sort_key(r, False))
    if all(_row_diff(e, a) is None for e, a in zip(exp_sorted, act_sorted)):
        return None
    if len(expected) <= _GREEDY_LIMIT:
        unused = list(exp_sorted)
        for row in act_sorted:
            hit = next((k for k, e in enumerate(unused) if _row_diff(e, row) is None),
                       None)
            if hit is None:
                missing = _pick_missing(unused, act_sorted)
                return CheckResult(False, _where(first_row, len(expected))
                                   + f"row {_show_row(row)} is not in the answer"
                                   + (f"; answer row {_show_answer_row(missing)} not found"
                                      if missing is not None else ""))
            unused.pop(hit)
        return None
    for e, a in zip(exp_sorted, act_sorted):
        col = _row_diff(e, a)
        if col is not None:
            return CheckResult(False, _where(first_row, len(expected))
                               + f"answer row {_show_answer_row(e)} vs result row "
                               f"{_show_row(a)}")
    return None


def _pick_missing(unused, actual):
    for e in unused:
        if not any(_row_diff(e, a) is None for a in actual):
            return e
    return unused[0] if unused else None


def _where(first_row: int, count: int) -> str:
    if count == 1:
        return f"row {first_row + 1}: "
    return f"rows {first_row + 1}-{first_row + count} (unordered): "


def _show_row(row) -> str:
    return "(" + ", ".join(_show(v) for v in row) + ")"


def _show_answer_row(row) -> str:
    return "(" + ", ".join(v or "NULL" for v in row) + ")"


def _compare_row(expected, actual, names, i: int) -> CheckResult | None:
    col = _row_diff(expected, actual)
    if col is None:
        return None
    return CheckResult(False, f"row {i + 1}, column {names[col]}: expected "
                              f"{expected[col] or 'NULL'}, got {_show(actual[col])}")


def compare(names, rows, answer: Answer,
            order_keys: tuple[str, ...] | None = None) -> CheckResult:
    """Compare a result (column names, list of tuples) with `answer`.
    `order_keys`: the output columns the query orders by (None: no ORDER BY,
    compare as a multiset; (): order by whole rows)."""
    rows = [tuple(r) for r in rows]
    bad = _check_names(answer.names, list(names))
    if bad is not None:
        return bad
    expected = list(answer.rows)
    if len(rows) != len(expected):
        message = f"expected {len(expected)} rows, got {len(rows)}"
        if order_keys is not None:
            for i, (e, a) in enumerate(zip(expected, rows)):
                if _row_diff(e, a) is not None:
                    message += (f"; first difference at row {i + 1}: answer "
                                f"{_show_answer_row(e)}, result {_show_row(a)}")
                    break
        return CheckResult(False, message)
    if order_keys is None:
        return _compare_multiset(expected, rows, answer.names, 0) or CheckResult(True)
    lowered = [a.lower() for a in answer.names]
    if order_keys and all(k in lowered for k in order_keys):
        key_idx = [lowered.index(k) for k in order_keys]
    else:
        key_idx = list(range(len(answer.names)))
    i = 0
    while i < len(expected):
        key = [expected[i][k] for k in key_idx]
        j = i + 1
        while j < len(expected) and [expected[j][k] for k in key_idx] == key:
            j += 1
        bad = _compare_multiset(expected[i:j], rows[i:j], answer.names, i)
        if bad is not None:
            return bad
        i = j
    return CheckResult(True)


def check_query(sf: float, n: int, names, rows, root: Path | None = None) -> CheckResult:
    """Compare the result of TPC-H query `n` with the answer at `sf`."""
    from .querylib import order_keys
    return compare(names, rows, load_answer(sf, n, root), order_keys(n))
