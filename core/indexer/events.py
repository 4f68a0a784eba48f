"""The payload of the entry events the indexer publishes (entry.created / modified /
deleted). Processing and the content phase both announce entries; one function keeps the
shape subscribers see the same whichever phase wrote the row.
"""
from __future__ import annotations

import uuid


def payload(uuid_bytes: bytes, path: str, kind: str, content_uuid: bytes | None,
            **extra: object) -> dict:
    """The payload of an entry.created / modified / deleted event."""
    d = {"entry_uuid": str(uuid.UUID(bytes=uuid_bytes)), "path": path, "kind": kind,
         "content_uuid": str(uuid.UUID(bytes=content_uuid)) if content_uuid else None}
    d.update(extra)
    return d
