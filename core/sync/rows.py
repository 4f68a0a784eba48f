"""The bookkeeping every record writer shares: which table a target kind lives in, local ids
looked up once per import, and the content identities to recount when it is done."""
from __future__ import annotations

import sqlite3
import uuid
from typing import Any

TARGET_TABLE = {"entry": "entries", "content": "content_identities", "model": "models"}


class Touched:
    """What one import touched: content identities whose entry_count must be recounted once it
    is done, and the local ids of rows it looked up or made (an import of a whole library
    asks for the same location, and for each parent folder, thousands of times)."""

    def __init__(self) -> None:
        self.content_ids: set[int] = set()
        self.ids: dict[tuple[str, Any], int] = {}

    def id_of(self, conn: sqlite3.Connection, table: str, column: str, value: Any) -> int | None:
        if value is None:
            return None
        found = self.ids.get((table, value))
        if found is None:
            found = row_id(conn, table, column, value)
            if found is not None:
                self.ids[(table, value)] = found
        return found

    def forget(self) -> None:
        """Rows were deleted: cached ids may name rows that are gone."""
        self.ids.clear()

    def recount(self, conn: sqlite3.Connection) -> None:
        for cid in self.content_ids:
            conn.execute("UPDATE content_identities SET entry_count = (SELECT count(*) FROM "
                         "entries WHERE content_id = ?) WHERE id = ?", (cid, cid))
        self.content_ids.clear()


def row_id(conn: sqlite3.Connection, table: str, column: str, value: Any) -> int | None:
    row = conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (value,)).fetchone()
    return None if row is None else int(row[0])


def uuid_bytes(text: str | None) -> bytes | None:
    return None if text is None else uuid.UUID(text).bytes
