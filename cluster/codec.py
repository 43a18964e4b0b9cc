"""Versioned JSON for plan data: stages, stage DAGs, plan nodes, expressions.

This is how a task's plan crosses a process boundary. It is plain data in
and plain data out: decoding builds objects only from an explicit allow-list
of frozen dataclasses (the physical plan nodes, the bound expressions, Field,
Split, the partitionings, Stage and StageDag) and never imports, looks up or
calls anything named by the payload. No pickle anywhere.

Wire shape (UTF-8 JSON):

    {"version": 1, "kind": "stage", "body": <value>}

    a plan node / expression   {"t": "FilterExec", "input": {...}, "predicate": {...}}
    a tuple                    [v, v, ...]            (decodes to a tuple)
    None, bool, int, str       themselves
    a finite float             a JSON number          (NaN/inf: {"$": "float", "v": "nan"})
    pa.DataType                {"$": "type", "v": "decimal128(15,2)"}   (datatypes.to_wire)
                               or {"$": "arrow_type", "v": base64 Arrow IPC schema}
                               for types that have no to_wire string (struct, time, ...)
    decimal.Decimal            {"$": "decimal", "v": "12.50"}
    datetime.date / datetime   {"$": "date" | "datetime", "v": ISO 8601}
    datetime.time / timedelta  {"$": "time", "v": ISO} / {"$": "timedelta", "v": [d, s, us]}
    bytes                      {"$": "bytes", "v": base64}
    list / dict                {"$": "list", "v": [...]} / {"$": "dict", "v": [[k, v], ...]}
                               (JSON-able storage options may hold them)

A decoded node is checked against its class's field annotations (an
`Expr | None` field holds an Expr or None, a `tuple[Field, ...]` a tuple of
Fields, ...), so a well-formed JSON document of the wrong shape is refused
instead of failing later inside an operator. Every refusal is a
`CodecError`, which is a `ValueError` (and a `quiver.InternalError`: a peer
sending a bad plan is a bug, not a user mistake).

Subquery expressions never reach a physical plan; encoding one is an error,
and they are not in the allow-list. Logical plan nodes are not encoded.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import decimal
import json
import math
import types
import typing
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc  # noqa: F401 - pa.ipc.read_schema

from ..errors import InternalError
from .. import datatypes as dt
from ..planner import expr as E
from ..planner import logical as L
from ..planner import physical as P
from ..planner import stages as S
from ..storage.splits import Split

VERSION = 1

__all__ = [
    "VERSION", "CodecError", "ALLOWED_CLASSES",
    "encode_stage", "decode_stage", "encode_dag", "decode_dag",
    "encode_node", "decode_node", "encode_value", "decode_value",
    "to_json", "from_json",
]


class CodecError(InternalError, ValueError):
    """A plan could not be encoded, or a payload is not a valid plan."""


# --- the allow-list --------------------------------------------------------------

def _dataclasses_of(module) -> list[type]:
    return [obj for obj in vars(module).values()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj)
            and obj.__module__ == module.__name__]


def _build_allow_list() -> dict[str, type]:
    classes = [c for c in _dataclasses_of(E) if c not in E.SUBQUERY_TYPES]
    classes += _dataclasses_of(P)
    classes += [L.Field, Split, S.Stage, S.StageDag]
    allowed: dict[str, type] = {}
    for cls in classes:
        if cls.__name__ in allowed and allowed[cls.__name__] is not cls:
            raise RuntimeError(f"two plan classes are named {cls.__name__}")
        if any(f.name == "t" for f in dataclasses.fields(cls)):
            raise RuntimeError(f"{cls.__name__} has a field named 't', the codec's tag")
        allowed[cls.__name__] = cls
    return allowed


# name -> class: the only classes `decode_*` will ever construct.
ALLOWED_CLASSES: dict[str, type] = _build_allow_list()

_FIELDS: dict[type, tuple[dataclasses.Field, ...]] = {
    cls: tuple(dataclasses.fields(cls)) for cls in ALLOWED_CLASSES.values()}
_HINTS: dict[type, dict[str, Any]] = {
    cls: typing.get_type_hints(cls) for cls in ALLOWED_CLASSES.values()}


# --- encoding ----------------------------------------------------------------------

def encode_value(value: Any) -> Any:
    """A plan value as a JSON-able structure (see the module docstring)."""
    t = type(value)
    if value is None or t is bool or t is int or t is str:
        return value
    if t is float:
        if math.isfinite(value):
            return value
        return {"$": "float", "v": "nan" if math.isnan(value) else
                ("inf" if value > 0 else "-inf")}
    if t is tuple:
        return [encode_value(v) for v in value]
    if t in _FIELDS:
        return _encode_node(value)
    if isinstance(value, pa.DataType):
        return _encode_type(value)
    if t is decimal.Decimal:
        return {"$": "decimal", "v": str(value)}
    if t is _dt.datetime:
        return {"$": "datetime", "v": value.isoformat()}
    if t is _dt.date:
        return {"$": "date", "v": value.isoformat()}
    if t is _dt.time:
        return {"$": "time", "v": value.isoformat()}
    if t is _dt.timedelta:
        return {"$": "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if t is bytes:
        return {"$": "bytes", "v": base64.b64encode(value).decode("ascii")}
    if t is list:
        return {"$": "list", "v": [encode_value(v) for v in value]}
    if t is dict:
        return {"$": "dict", "v": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, np.generic) and isinstance(value, (np.bool_, np.integer, np.floating)):
        return encode_value(value.item())
    if isinstance(value, E.SUBQUERY_TYPES):
        raise CodecError(f"cannot encode {t.__name__}: subquery expressions never reach a "
                         "physical plan (decorrelation should have removed it)")
    if dataclasses.is_dataclass(value):
        raise CodecError(f"cannot encode {t.__name__}: not a plan class the codec allows")
    raise CodecError(f"cannot encode a value of type {t.__module__}.{t.__qualname__}: {value!r:.80}")


def _encode_node(node: Any) -> dict:
    cls = type(node)
    if ALLOWED_CLASSES.get(cls.__name__) is not cls:
        raise CodecError(f"cannot encode {cls.__name__}: not a plan class the codec allows")
    out: dict[str, Any] = {"t": cls.__name__}
    for f in _FIELDS[cls]:
        try:
            out[f.name] = encode_value(getattr(node, f.name))
        except RecursionError:
            raise CodecError("plan is nested too deeply to encode") from None
    return out


def _encode_type(t: pa.DataType) -> dict:
    """The short `datatypes.to_wire` string when it round-trips; otherwise
    (struct, time, map, ... columns of a Parquet file) the type as an Arrow
    IPC schema of one field: typed data, not code."""
    wire = dt.to_wire(t)
    try:
        back = dt.from_wire(wire)
    except ValueError:
        back = None
    if back == t and str(back) == str(t):
        return {"$": "type", "v": wire}
    try:
        ipc = pa.schema([pa.field("t", t)]).serialize().to_pybytes()
    except (pa.ArrowException, TypeError) as exc:
        raise CodecError(f"cannot encode Arrow type {t}: {exc}") from None
    return {"$": "arrow_type", "v": base64.b64encode(ipc).decode("ascii")}


def _decode_arrow_type(v: str) -> pa.DataType:
    raw = base64.b64decode(v.encode("ascii"), validate=True)
    try:
        schema = pa.ipc.read_schema(pa.py_buffer(raw))
    except pa.ArrowException as exc:
        raise ValueError(f"not an Arrow IPC schema ({exc})") from None
    if len(schema) != 1:
        raise ValueError(f"expected one field, found {len(schema)}")
    return schema.field(0).type


# --- decoding ----------------------------------------------------------------------

def decode_value(obj: Any) -> Any:
    """The plan value of a JSON structure made by `encode_value`."""
    t = type(obj)
    if obj is None or t is bool or t is int or t is str or t is float:
        return obj
    if t is list:
        return tuple(decode_value(v) for v in obj)
    if t is dict:
        if "t" in obj:
            return _decode_node(obj)
        if "$" in obj:
            return _decode_tagged(obj)
        raise CodecError(f"malformed plan payload: an object with neither 't' nor '$' "
                         f"(keys {sorted(obj)[:5]})")
    raise CodecError(f"malformed plan payload: unexpected JSON value of type {t.__name__}")


def _decode_node(obj: dict) -> Any:
    name = obj["t"]
    cls = ALLOWED_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        if isinstance(name, str) and name in {c.__name__ for c in E.SUBQUERY_TYPES}:
            raise CodecError(f"refusing to decode {name}: subquery expressions never "
                             "reach a physical plan")
        raise CodecError(f"refusing to decode unknown plan class {name!r:.60} "
                         "(not in the codec's allow-list)")
    fields = _FIELDS[cls]
    known = {f.name for f in fields}
    extra = [k for k in obj if k != "t" and k not in known]
    if extra:
        raise CodecError(f"malformed {name}: unknown field(s) {', '.join(map(str, extra[:5]))}")
    hints = _HINTS[cls]
    kwargs: dict[str, Any] = {}
    for f in fields:
        if f.name not in obj:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise CodecError(f"malformed {name}: missing field {f.name!r}")
            continue
        value = decode_value(obj[f.name])
        if not _conforms(value, hints[f.name]):
            raise CodecError(f"malformed {name}: field {f.name!r} holds "
                             f"{_describe(value)}, expected {_hint_name(hints[f.name])}")
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"malformed {name}: {exc}") from None


def _decode_tagged(obj: dict) -> Any:
    tag, v = obj.get("$"), obj.get("v")
    if set(obj) != {"$", "v"}:
        raise CodecError(f"malformed tagged value: keys {sorted(obj)[:5]}")
    try:
        if tag == "type" and type(v) is str:
            return dt.from_wire(v)
        if tag == "arrow_type" and type(v) is str:
            return _decode_arrow_type(v)
        if tag == "float" and v in ("nan", "inf", "-inf"):
            return float(v)
        if tag == "decimal" and type(v) is str:
            return decimal.Decimal(v)
        if tag == "datetime" and type(v) is str:
            return _dt.datetime.fromisoformat(v)
        if tag == "date" and type(v) is str:
            return _dt.date.fromisoformat(v)
        if tag == "time" and type(v) is str:
            return _dt.time.fromisoformat(v)
        if tag == "timedelta" and type(v) is list and len(v) == 3 \
                and all(type(x) is int for x in v):
            return _dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
        if tag == "bytes" and type(v) is str:
            return base64.b64decode(v.encode("ascii"), validate=True)
        if tag == "list" and type(v) is list:
            return [decode_value(x) for x in v]
        if tag == "dict" and type(v) is list \
                and all(type(kv) is list and len(kv) == 2 for kv in v):
            return {decode_value(k): decode_value(x) for k, x in v}
    except CodecError:
        raise
    except (ValueError, TypeError, OverflowError, decimal.InvalidOperation) as exc:
        raise CodecError(f"malformed {tag!r:.20} value {v!r:.60}: {exc}") from None
    raise CodecError(f"malformed tagged value: tag {tag!r:.30} with {_describe(v)}")


def _conforms(value: Any, hint: Any) -> bool:
    """Whether a decoded value fits a dataclass field annotation."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_conforms(value, h) for h in typing.get_args(hint))
    if origin is tuple:
        if type(value) is not tuple:
            return False
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(args) == len(value) and all(_conforms(v, h) for v, h in zip(value, args))
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:
        return type(value) is bool
    if hint is int:
        return type(value) is int
    if hint is float:
        return type(value) in (int, float)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True   # an annotation form the checker does not know: do not guess


def _hint_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _describe(value: Any) -> str:
    return f"a {type(value).__name__}"


# --- envelope and entry points ----------------------------------------------------

def to_json(value: Any, kind: str) -> bytes:
    """`value` in the versioned envelope, as UTF-8 JSON bytes."""
    body = encode_value(value)
    return json.dumps({"version": VERSION, "kind": kind, "body": body},
                      separators=(",", ":"), allow_nan=False,
                      ensure_ascii=False).encode("utf-8")


def _reject_constant(name: str):
    raise CodecError(f"malformed plan payload: bare {name} is not JSON")


def from_json(data: bytes | bytearray | memoryview | str, kind: str) -> Any:
    """The value inside an envelope made by `to_json` with the same `kind`."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"malformed plan payload: not UTF-8 ({exc})") from None
    elif isinstance(data, str):
        text = data
    else:
        raise CodecError(f"plan payload must be bytes, not {type(data).__name__}")
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except CodecError:
        raise
    except RecursionError:
        raise CodecError("malformed plan payload: nested too deeply") from None
    except ValueError as exc:
        raise CodecError(f"malformed plan payload: not JSON ({exc})") from None
    if type(doc) is not dict or "version" not in doc:
        raise CodecError("malformed plan payload: not a versioned plan envelope")
    version = doc["version"]
    if version != VERSION or type(version) is not int:
        raise CodecError(f"plan payload has codec version {version!r:.20}; "
                         f"this Quiver reads version {VERSION} only")
    if set(doc) != {"version", "kind", "body"}:
        raise CodecError(f"malformed plan envelope: keys {sorted(doc)[:6]}")
    if doc["kind"] != kind:
        raise CodecError(f"plan payload holds a {doc['kind']!r:.30}, expected a {kind!r}")
    try:
        return decode_value(doc["body"])
    except RecursionError:
        raise CodecError("malformed plan payload: nested too deeply") from None


def _expect(value: Any, cls: type | tuple, what: str) -> Any:
    if not isinstance(value, cls):
        raise CodecError(f"plan payload holds {_describe(value)}, expected {what}")
    return value


def encode_stage(stage: S.Stage) -> bytes:
    _expect(stage, S.Stage, "a Stage")
    return to_json(stage, "stage")


def decode_stage(data: bytes) -> S.Stage:
    return _expect(from_json(data, "stage"), S.Stage, "a Stage")


def encode_dag(dag: S.StageDag) -> bytes:
    _expect(dag, S.StageDag, "a StageDag")
    return to_json(dag, "dag")


def decode_dag(data: bytes) -> S.StageDag:
    return _expect(from_json(data, "dag"), S.StageDag, "a StageDag")


_NODE_TYPES = (P.ExecNode, E.Expr, E.SortKey, E.WindowFrame, L.Field, Split,
               P.HashPartitioning, P.SinglePartitioning)


def encode_node(node: Any) -> bytes:
    """A bare plan node or expression (or SortKey, Field, Split, partitioning)."""
    if isinstance(node, E.SUBQUERY_TYPES):
        encode_value(node)   # raises the subquery error
    _expect(node, _NODE_TYPES, "a plan node or expression")
    return to_json(node, "node")


def decode_node(data: bytes) -> Any:
    return _expect(from_json(data, "node"), _NODE_TYPES, "a plan node or expression")
