"""sqlglot function nodes -> (function name, argument nodes).

sqlglot parses many functions into their own classes with named arguments
(`Substring(this, start, length)`, `StrPosition(this, substr)`,
`DateDiff(this=end, expression=start, unit)`, ...). The binder wants one
lower-case name and a positional argument list, as planner/functions.py
registers them; this module is that translation and nothing else.
"""

from __future__ import annotations

from sqlglot import exp

# sqlglot class name -> our function name, where the generic rule
# (`sql_name().lower()`) does not give it
_RENAMES = {
    "StrPosition": "position", "TimestampTrunc": "date_trunc", "DateTrunc": "date_trunc",
    "RegexpLike": "regexp_matches", "TimeToStr": "strftime", "GroupConcat": "string_agg",
    "LogicalAnd": "bool_and", "LogicalOr": "bool_or", "Pow": "power",
    "DateFromParts": "make_date", "VariancePop": "var_pop", "Variance": "var_samp",
    "Stddev": "stddev_samp", "StddevSamp": "stddev_samp", "StddevPop": "stddev_pop",
    "AnyValue": "first", "ApproxDistinct": "approx_count_distinct",
    "CurrentDate": "current_date", "CurrentTimestamp": "current_timestamp",
    "ArrayAgg": "list", "StrToDate": "strptime", "StrToTime": "strptime",
    "Mod": "mod", "Length": "length", "Substring": "substring", "Ceil": "ceil",
    "Floor": "floor", "Lower": "lower", "Upper": "upper", "Initcap": "initcap",
    "Levenshtein": "levenshtein", "SafeDivide": "div",
}

# argument order for classes whose arg_types order is not the SQL order
_ARG_ORDER = {
    "StrPosition": ("this", "substr"),
    "Substring": ("this", "start", "length"),
    "Replace": ("this", "expression", "replacement"),
    "SplitPart": ("this", "delimiter", "part_index"),
    "TimeToStr": ("this", "format"),
    "GroupConcat": ("this", "separator"),
    "DateFromParts": ("year", "month", "day"),
    "Round": ("this", "decimals"),
}


def function_call(node: exp.Func) -> tuple[str, list[exp.Expression]]:
    """(name, argument nodes) for a function node."""
    cls = type(node).__name__
    if isinstance(node, exp.Anonymous):
        return node.name.lower(), list(node.expressions)
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        return "date_trunc", [_unit_literal(node.args.get("unit")), node.this]
    if isinstance(node, exp.DateDiff):
        unit = node.args.get("unit")
        return "date_diff", [_unit_literal(unit) if unit is not None
                             else exp.Literal.string("day"), node.expression, node.this]
    if isinstance(node, exp.Trim):
        position = (node.args.get("position") or "").upper()
        name = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(position, "trim")
        chars = node.args.get("expression")
        return name, [node.this] + ([chars] if chars is not None else [])
    if isinstance(node, exp.Pad):
        name = "lpad" if node.args.get("is_left") else "rpad"
        return name, _present(node, ("this", "expression", "fill_pattern"))
    if isinstance(node, exp.Log):
        base, value = node.this, node.expression
        if value is None:
            return "ln", [base]
        if isinstance(base, exp.Literal) and base.this in ("10", "10.0"):
            return "log10", [value]
        if isinstance(base, exp.Literal) and base.this == "2":
            return "log2", [value]
        return "log", [base, value]
    if isinstance(node, (exp.Year, exp.Month, exp.Day, exp.Quarter, exp.Week,
                         exp.DayOfWeek, exp.DayOfYear)):
        part = {"Year": "year", "Month": "month", "Day": "day", "Quarter": "quarter",
                "Week": "week", "DayOfWeek": "dow", "DayOfYear": "doy"}[cls]
        return "extract", [exp.Literal.string(part), node.this]
    if isinstance(node, exp.Coalesce):
        return "coalesce", [node.this] + list(node.expressions)
    if isinstance(node, (exp.Greatest, exp.Least)):
        return cls.lower(), [node.this] + list(node.expressions)
    if isinstance(node, exp.ConcatWs):
        return "concat_ws", list(node.expressions)
    if isinstance(node, exp.Concat):
        if node.args.get("coalesce"):   # concat() skips NULLs (DuckDB, PostgreSQL)
            return "concat_ws", [exp.Literal.string("")] + list(node.expressions)
        return "concat", list(node.expressions)
    if isinstance(node, exp.RegexpReplace):
        return "regexp_replace", _present(node, ("this", "expression", "replacement",
                                                 "modifiers"))
    if isinstance(node, exp.RegexpExtract):
        return "regexp_extract", _present(node, ("this", "expression", "group", "position",
                                                 "occurrence", "parameters"))
    if isinstance(node, exp.Cbrt) if hasattr(exp, "Cbrt") else False:
        return "cbrt", [node.this]
    name = _RENAMES.get(cls) or node.sql_name().lower()
    order = _ARG_ORDER.get(cls)
    if order is not None:
        return name, _present(node, order)
    return name, _generic_args(node)


def _present(node: exp.Expression, keys) -> list[exp.Expression]:
    return [node.args[k] for k in keys if node.args.get(k) is not None]


def _generic_args(node: exp.Expression) -> list[exp.Expression]:
    out: list[exp.Expression] = []
    for key in node.arg_types:
        value = node.args.get(key)
        if isinstance(value, exp.Expression):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, exp.Expression))
    return out


def _unit_literal(unit: exp.Expression | None) -> exp.Expression:
    """A date part given as a Var (MONTH) or a string literal, as a string literal."""
    if unit is None:
        return exp.Literal.string("day")
    if isinstance(unit, exp.Literal):
        return exp.Literal.string(unit.this.lower()) if unit.is_string else unit
    return exp.Literal.string(unit.name.lower())


def unit_name(unit: exp.Expression) -> str:
    return unit.this.lower() if isinstance(unit, exp.Literal) else unit.name.lower()
