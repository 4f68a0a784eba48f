"""UUIDs as callers hand them to the library: objects, strings or the 16 raw bytes stored."""
from __future__ import annotations

import uuid

from core.errors import ArgumentError

# What a caller may hand the library for an entry, content identity or model: the UUID, its
# string form, or the 16 raw bytes stored.
UuidLike = uuid.UUID | str | bytes


def as_uuid(value: UuidLike | bytearray | memoryview, what: str = "uuid") -> uuid.UUID:
    """Accept uuid.UUID, its string form or 16 raw bytes; anything else is a clear error."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) == 16:
        return uuid.UUID(bytes=bytes(value))
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ArgumentError(f"{what} must be a UUID, not {value!r}")
