"""JSON as the guest sees it: UUIDs and times as text, bytes as {"$base64": "..."}.

Binary values (blob fields, sidecars) travel as {"$base64": ...} inside JSON; the two operations
whose whole answer is bytes (entry.read, sidecar.read) return raw bytes instead.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import json
import uuid
from pathlib import PurePath
from typing import Any

B64 = "$base64"


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {B64: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "tolist"):           # numpy arrays and scalars
        return value.tolist()
    return str(value)


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_default, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def decode_bytes(value: Any) -> Any:
    """{"$base64": "..."} → bytes (recursively); other values unchanged."""
    if isinstance(value, dict):
        if set(value) == {B64} and isinstance(value[B64], str):
            try:
                return base64.b64decode(value[B64], validate=True)
            except ValueError:
                raise ValueError("a {\"$base64\": ...} value is not valid base64") from None
        return {k: decode_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_bytes(v) for v in value]
    return value
