"""Inline field values <-> the JSON in `models.data`, restoring types from annotations.

UUIDs, datetimes, enums, nested dataclasses and containers of them round-trip; bytes and
other large binary values are refused with a hint to use `blob_data`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
import uuid
from pathlib import PurePath
from typing import Any


from core.domain.blobs import loaded_numpy
from .spec import ModelDefinitionError


def to_json(value: Any, where: str) -> Any:
    """A JSON-able copy of `value`; `where` names the field in errors."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_json(value.value, where)
    np = loaded_numpy()
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if np is not None and isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name), f"{where}.{f.name}")
                for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ModelDefinitionError(f"{where}: dict keys must be text to store inline, not {k!r}")
            out[k] = to_json(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v, f"{where}[]") for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise ModelDefinitionError(f"{where}: binary data cannot be stored inline; declare the "
                                   "field with blob_data()")
    raise ModelDefinitionError(f"{where}: cannot store a {type(value).__name__} inline as JSON")


def from_json(value: Any, hint: Any) -> Any:
    """Restore `value` to the annotated type where that is unambiguous; else return it as is."""
    if value is None or hint is Any or hint is None:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        for arg in args:
            if arg is type(None):
                continue
            try:
                return from_json(value, arg)
            except (ValueError, TypeError, KeyError):
                continue
        return value
    if origin in (list, set, frozenset, tuple) or hint in (list, set, tuple):
        if not isinstance(value, list):
            return value
        if origin is tuple and args and args[-1] is not Ellipsis:
            return tuple(from_json(v, a) for v, a in zip(value, args))
        item = args[0] if args else Any
        items = [from_json(v, item) for v in value]
        return (origin or hint)(items) if (origin or hint) is not list else items
    if origin is dict:
        if not isinstance(value, dict):
            return value
        vt = args[1] if len(args) == 2 else Any
        return {k: from_json(v, vt) for k, v in value.items()}
    if not isinstance(hint, type):
        return value
    if hint is uuid.UUID:
        return uuid.UUID(value)
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if hint is dt.date:
        return dt.date.fromisoformat(value)
    if issubclass(hint, enum.Enum):
        return hint(value)
    np = loaded_numpy()     # a hint of np.ndarray means the model's module imported numpy
    if np is not None and hint is np.ndarray:
        return np.asarray(value)
    if issubclass(hint, PurePath):
        return hint(value)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        hints = type_hints(hint)
        kwargs = {f.name: from_json(value[f.name], hints.get(f.name, Any))
                  for f in dataclasses.fields(hint) if f.init and f.name in value}
        return hint(**kwargs)
    if hint is float and isinstance(value, int):
        return float(value)
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def type_hints(cls: type) -> dict[str, Any]:
    """Resolved annotations of a class; unresolvable ones (local forward refs) read as Any."""
    cached = _HINTS.get(cls)
    if cached is None:
        try:
            cached = typing.get_type_hints(cls)
        except Exception:  # names defined in a notebook cell or a function body
            cached = {}
            for klass in reversed(cls.__mro__):
                for name, ann in getattr(klass, "__annotations__", {}).items():
                    cached[name] = ann if not isinstance(ann, str) else Any
        _HINTS[cls] = cached
    return cached
