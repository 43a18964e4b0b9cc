"""Nothing in a statement is silently ignored (issue 11): every sqlglot
expression type and argument is either declared as understood by the binder
(parser/understood.py) or refused with NotSupportedError naming it."""

from __future__ import annotations

import inspect

import pytest
import sqlglot.expressions as sx
from sqlglot import exp

import quiver
from quiver.errors import NotSupportedError
from quiver.parser import bind
from quiver.parser.sql_functions import _ARG_ORDER
from quiver.parser.understood import FUNC_FLAGS, NODES, refusal, understood_args


def _all_expression_types():
    seen, todo = set(), [exp.Expression]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    # the sqlglot ones plus ours (EXPLAIN, CREATE EXTERNAL TABLE)
    return sorted(seen, key=lambda c: (c.__module__, c.__name__))


TYPES = _all_expression_types()


def _make(cls, **args):
    try:
        return cls(**args)
    except Exception:      # a few classes validate in __init__; build bare then set
        node = cls.__new__(cls)
        exp.Expression.__init__(node, **args)
        return node


def test_the_walk_sees_sqlglot_s_types():
    assert len(TYPES) > 500          # sqlglot 30 has ~1000 expression classes
    assert exp.Select in TYPES and exp.Lateral in TYPES and exp.Pivot in TYPES


def test_declarations_name_real_arguments():
    for cls, keys in NODES.items():
        unknown = set(keys) - set(cls.arg_types)
        assert not unknown, f"{cls.__name__} declares {unknown}, not among its arg_types"
    for cls, flags in FUNC_FLAGS.items():
        assert issubclass(cls, exp.Func) and set(flags) <= set(cls.arg_types)


@pytest.mark.parametrize("cls", TYPES, ids=[c.__name__ for c in TYPES])
def test_every_argument_is_understood_or_refused(cls):
    """For every type, each argument set to an expression and to a flag:
    either the declaration names it, or refusal() names the node."""
    declared_node = cls in NODES
    generic_func = not declared_node and issubclass(cls, exp.Func)
    if not declared_node and not generic_func:
        # an unknown node is refused whatever it holds
        assert refusal(_make(cls)) is not None, cls
        return
    for key in cls.arg_types:
        for value in (exp.Literal.number(1), True):
            node = _make(cls, **{key: value})
            known = understood_args(node)
            problem = refusal(node)
            if key in known:
                assert problem is None, (cls, key, problem)
            else:
                assert problem is not None, f"{cls.__name__}.{key}={value!r} falls through"
            if generic_func and value is True and key not in FUNC_FLAGS.get(cls, ()) \
                    and key not in _ARG_ORDER.get(cls.__name__, ()):
                # a flag on a generic function is never consumed silently
                assert problem is not None, f"{cls.__name__}.{key}=True falls through"


def test_refusal_names_the_argument():
    sel = exp.Select(expressions=[exp.Star()], into=exp.Into(this=exp.to_table("x")))
    assert refusal(sel) == "SELECT INTO"
    assert "LATERAL" in refusal(exp.Lateral(this=exp.to_identifier("x")))


def test_binding_runs_the_check(catalog):
    """The binder's entry checks the whole tree: an argument planted deep in
    a statement that the binder would not read is refused."""
    [parsed] = [sqlglot_parse("SELECT a FROM t WHERE a > 1")]
    where = parsed.args["where"]
    where.this.set("expression", exp.Literal.number(1))
    parsed.find(exp.Column).set("join_mark", True)
    from quiver.parser.bind_statement import bind_statement
    with pytest.raises(NotSupportedError, match="COLUMN JOIN MARK"):
        bind_statement(parsed, catalog)


def sqlglot_parse(sql):
    import sqlglot
    return sqlglot.parse_one(sql, read="duckdb")


# end to end: each of these was silently ignored or mis-read once, or is a
# construct Quiver does not implement; the message names it
REFUSED = [
    ("SELECT DISTINCT ON (a) a FROM t", "DISTINCT ON"),
    ("SELECT * ILIKE 'a%' FROM t", "* ILIKE"),
    ("SELECT a FROM t ORDER BY a WITH FILL", "WITH FILL"),
    ("SELECT a FROM t UNION BY NAME SELECT a FROM t", "UNION BY NAME"),
    ("SELECT x.y.a FROM t", "more than two parts"),
    ("SELECT a FROM c.s.t", "more than two parts"),
    ("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r", "WITH RECURSIVE"),
    ("SELECT DISTINCT ON (a) a FROM t", "DISTINCT ON"),
    ("SELECT a FROM t, LATERAL (SELECT a) l", "LATERAL"),
    ("SELECT a BETWEEN SYMMETRIC 1 AND 2 FROM t", "BETWEEN SYMMETRIC"),
    ("SELECT sum(a) OVER (ORDER BY a ROWS BETWEEN 1 PRECEDING AND CURRENT ROW "
     "EXCLUDE CURRENT ROW) FROM t", "EXCLUDE"),
    ("UPDATE t SET a = 1", "UPDATE"),
    ("DELETE FROM t", "DELETE"),
]


@pytest.mark.parametrize("sql,words", REFUSED, ids=[w for _, w in REFUSED])
def test_refused_constructs_name_themselves(catalog, sql, words):
    with pytest.raises(NotSupportedError) as info:
        bind(sql, catalog)
    assert words.lower() in str(info.value).lower()
    assert "is not supported" in str(info.value)


def test_connection_keeps_answering_after_a_refusal():
    with quiver.connect() as con:
        with pytest.raises(quiver.NotSupportedError, match="WITH RECURSIVE"):
            con.execute("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r")
        assert con.execute("SELECT 2").fetchall() == [(2,)]
