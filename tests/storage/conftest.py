"""Fixtures for storage and scan tests: small Parquet data, and an expression
evaluator (the real executor.eval when it exists, else a tiny stand-in that
knows comparisons, AND/OR/NOT, IS [NOT] NULL and IN over pyarrow.compute)."""

from __future__ import annotations

import importlib
import sys
import types

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from quiver.planner.expr import Call, Cast, Column, InList, Literal

_OPS = {"eq": pc.equal, "ne": pc.not_equal, "lt": pc.less, "le": pc.less_equal,
        "gt": pc.greater, "ge": pc.greater_equal}


def _fake_evaluate(expr, batch):
    n = batch.num_rows
    if isinstance(expr, Column):
        return batch.column(expr.name)
    if isinstance(expr, Literal):
        return pa.repeat(pa.scalar(expr.value, expr.dtype), n)
    if isinstance(expr, Cast):
        return _fake_evaluate(expr.arg, batch).cast(expr.dtype)
    if isinstance(expr, InList):
        arg = _fake_evaluate(expr.arg, batch)
        vals = pa.array([v.value for v in expr.values], arg.type)
        out = pc.is_in(arg, value_set=vals)
        out = pc.if_else(pc.is_null(arg), pa.scalar(None, pa.bool_()), out)
        return pc.invert(out) if expr.negated else out
    if isinstance(expr, Call):
        args = [_fake_evaluate(a, batch) for a in expr.args]
        if expr.fn in _OPS:
            return _OPS[expr.fn](args[0], args[1])
        if expr.fn == "and":
            return pc.and_kleene(*args)
        if expr.fn == "or":
            return pc.or_kleene(*args)
        if expr.fn == "not":
            return pc.invert(args[0])
        if expr.fn == "is_null":
            return pc.is_null(args[0])
        if expr.fn == "is_not_null":
            return pc.is_valid(args[0])
    raise NotImplementedError(repr(expr))


def _fake_filter_batch(batch, predicate):
    mask = _fake_evaluate(predicate, batch)
    return batch.filter(pc.fill_null(mask, False))


@pytest.fixture
def evaluator(monkeypatch):
    """The module providing evaluate/filter_batch for scans in this test."""
    try:
        return importlib.import_module("quiver.executor.eval")
    except ImportError:
        fake = types.ModuleType("quiver.executor.eval")
        fake.evaluate = _fake_evaluate
        fake.filter_batch = _fake_filter_batch
        monkeypatch.setitem(sys.modules, "quiver.executor.eval", fake)
        import quiver.executor as ex
        monkeypatch.setattr(ex, "eval", fake, raising=False)
        return fake


@pytest.fixture
def reference_eval():
    """Always the stand-in evaluator (a reference independent of the engine)."""
    return _fake_evaluate
