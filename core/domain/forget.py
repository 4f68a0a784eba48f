"""What disappears with an entry: the indexer's rule for files that are gone.

Entry-scoped metadata, tag links, blobs, collection items and entry-scoped models go with the
entry; content-scoped data stays (another copy may hold the same bytes). It spans metadata and
models, so it lives above both rather than in either.
"""
from __future__ import annotations

import sqlite3
import uuid
from typing import Iterable

from .metadata import delete_metadata_rows
from .models.store import delete_model_rows


def forget_entries(conn: sqlite3.Connection, entry_uuids: Iterable[bytes | uuid.UUID]) -> int:
    """Drop what hangs off entries about to be deleted: their entry-scoped metadata, tag links,
    blobs, collection items and entry-scoped models. Content-scoped data is untouched.
    Call inside the indexer's transaction, before `DELETE FROM entries`; returns rows removed.
    """
    raw = [u.bytes if isinstance(u, uuid.UUID) else bytes(u) for u in entry_uuids]
    removed = 0
    for start in range(0, len(raw), 500):
        chunk = raw[start:start + 500]
        marks = ",".join("?" * len(chunk))
        models = [r[0] for r in conn.execute(
            f"SELECT uuid FROM models WHERE entry_uuid IN ({marks})", chunk)]
        if models:
            removed += delete_model_rows(conn, models)
        removed += conn.execute(f"DELETE FROM collection_items WHERE entry_uuid IN ({marks})",
                                chunk).rowcount
        metas = [r[0] for r in conn.execute(
            f"SELECT id FROM user_metadata WHERE entry_uuid IN ({marks})", chunk)]
        removed += delete_metadata_rows(conn, metas)
    return removed
