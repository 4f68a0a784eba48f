"""A library big enough for a query that runs for seconds, for the deadline and interrupt tests.

The entries are added in SQL (indexing 20,000 files would take far longer); SLOW tries every row
against 300 regexes: seconds on SQLite, about half a second on DuckDB.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import core

ROWS = 20_000
SLOW = "entries where " + " or ".join(f'name =~ "^f[0-9]*x{i}.*y"' for i in range(300))
POINT = 'entries where name = "f5.txt"'


def big_library(base: Path) -> core.Library:
    """A real library at base/big.vdfs: one indexed file plus ROWS entries named f1.txt…"""
    lib = core.Library.create(base / "big.vdfs")
    root = base / "tree"
    root.mkdir()
    (root / "seed.txt").write_text("seed")
    lib.index(str(root)).wait(timeout=60)
    conn = sqlite3.connect(lib.db_path)
    conn.execute("""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        INSERT INTO entries(uuid, location_id, path, name, ext, kind, size, mtime_ns, indexed_at)
        SELECT randomblob(16), (SELECT location_id FROM entries LIMIT 1),
               '/big/f' || i || '.txt', 'f' || i || '.txt', 'txt', 'document', i, i, '2024'
        FROM n""", (ROWS,))
    conn.commit()
    conn.close()
    return lib
