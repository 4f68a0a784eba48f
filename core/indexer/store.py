"""SQL helpers the indexer phases share: subtree selection, the stored map, ids and uuids,
and removing what depends on deleted entries."""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from itertools import islice
from operator import itemgetter
from typing import Iterable, Iterator, Sequence

CHUNK = 500   # ids per `IN (...)` list


def subtree_sql(root: str, whole_location: bool, alias: str = "") -> tuple[str, tuple]:
    """WHERE fragment (after `location_id = ?`) selecting `root` and everything below it,
    as an indexed range on `path`: path >= root || '/' AND path < root || '0'."""
    if whole_location:
        return "", ()
    base = root.rstrip("/")
    a = f"{alias}." if alias else ""
    return (f" AND ({a}path = ? OR ({a}path >= ? AND {a}path < ?))",
            (root, base + "/", base + "0"))


def load_stored(conn: sqlite3.Connection, location_id: int, root: str, whole: bool
                ) -> dict[str, tuple]:
    """path -> (path, inode, mtime_ns, size or -1 for folders, id) for the subtree.

    This runs on every re-index, so it is lean: for a location that is most of the library a
    table scan beats the (location_id, path) index, and the dict is built by C loops."""
    frag, params = subtree_sql(root, whole)
    table = "entries"
    if whole:
        mine = conn.execute("SELECT count(*) FROM entries WHERE location_id = ?",
                            (location_id,)).fetchone()[0]
        if mine * 3 > conn.execute("SELECT count(*) FROM entries").fetchone()[0]:
            table = "entries NOT INDEXED"
    rows = conn.execute(
        "SELECT path, inode, mtime_ns, CASE WHEN is_dir THEN -1 ELSE size END, id "
        f"FROM {table} WHERE location_id = ?{frag}", (location_id, *params)).fetchall()
    return dict(zip(map(itemgetter(0), rows), rows))


@contextmanager
def write_tx(conn: sqlite3.Connection, defer_fks: bool = False) -> Iterator[sqlite3.Connection]:
    """One IMMEDIATE transaction: committed when the block ends, rolled back if it raises.
    Inside a transaction already open, a savepoint instead: released when the block ends,
    rolled back to (and only it) if it raises, so a batch can fail alone within a bigger
    commit."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT write_tx")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO write_tx")
            conn.execute("RELEASE write_tx")
            raise
        conn.execute("RELEASE write_tx")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if defer_fks:  # a batch may delete a folder before the rows that point at it
            conn.execute("PRAGMA defer_foreign_keys = ON")
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def load_root_rows(conn: sqlite3.Connection, location_id: int, root: str) -> dict[str, tuple]:
    """The stored rows of `root` and of its direct children (load_stored's shape)."""
    rows = conn.execute(
        "SELECT path, inode, mtime_ns, CASE WHEN is_dir THEN -1 ELSE size END, id "
        "FROM entries WHERE location_id = ? AND path = ? UNION ALL "
        "SELECT e.path, e.inode, e.mtime_ns, CASE WHEN e.is_dir THEN -1 ELSE e.size END, e.id "
        "FROM entries e JOIN entries r ON e.parent_id = r.id "
        "WHERE r.location_id = ? AND r.path = ?", (location_id, root, location_id, root)
    ).fetchall()
    return dict(zip(map(itemgetter(0), rows), rows))


def load_subtrees(conn: sqlite3.Connection, location_id: int, roots: list[str]
                  ) -> dict[str, tuple]:
    """Like load_stored, for everything strictly below each of `roots` (indexed ranges)."""
    out: dict[str, tuple] = {}
    for root in roots:
        base = root.rstrip("/")
        rows = conn.execute(
            "SELECT path, inode, mtime_ns, CASE WHEN is_dir THEN -1 ELSE size END, id "
            "FROM entries WHERE location_id = ? AND path >= ? AND path < ?",
            (location_id, base + "/", base + "0")).fetchall()
        out.update(zip(map(itemgetter(0), rows), rows))
    return out


def chunks(seq: Sequence, n: int = CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def fetch_details(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, tuple]:
    """id -> (id, uuid, path, is_dir, kind, content_id, content uuid, ext) for stored entries."""
    ids = list(ids)
    out: dict[int, tuple] = {}
    for part in chunks(ids):
        marks = ",".join("?" * len(part))
        for row in conn.execute(
                "SELECT e.id, e.uuid, e.path, e.is_dir, e.kind, e.content_id, c.uuid, e.ext "
                "FROM entries e LEFT JOIN content_identities c ON c.id = e.content_id "
                f"WHERE e.id IN ({marks})", part):
            out[row[0]] = row
    return out


def next_id(conn: sqlite3.Connection, table: str = "entries") -> int:
    """The first unused id of an AUTOINCREMENT table (never reusing a deleted one)."""
    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    top = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
    return max(seq[0] if seq else 0, top or 0) + 1


_uuid_lock = threading.Lock()
_uuid_last = [0, 0]   # last millisecond, counter


def new_uuids(n: int) -> list[bytes]:
    """n time-ordered UUIDv7 values (16 bytes each), increasing: cheap to add to the unique
    index on entries.uuid, which random UUIDs would scatter."""
    with _uuid_lock:
        ms = time.time_ns() // 1_000_000
        last_ms, counter = _uuid_last
        if ms <= last_ms:
            ms = last_ms
        else:
            counter = int.from_bytes(os.urandom(4), "big") & 0x3FF  # leave room to count up
        out = []
        rand = os.urandom(8 * n)
        for i in range(n):
            counter += 1
            if counter > 0xFFF:
                ms, counter = ms + 1, 0
            low = int.from_bytes(rand[8 * i:8 * i + 8], "big") & 0x3FFF_FFFF_FFFF_FFFF
            value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | low
            out.append(value.to_bytes(16, "big"))
        _uuid_last[0], _uuid_last[1] = ms, counter
        return out


def store_identities(conn: sqlite3.Connection, now: str, found: dict[str, tuple],
                     per_hash: dict[str, int], every: "KnownIdentities | None" = None
                     ) -> tuple[dict[str, tuple[int, bytes]], int]:
    """The content identities of `found` (content hash -> (size, kind, mime)), inside the
    caller's transaction: an existing one gains `per_hash[hash]` copies, a new one is born
    with that entry_count. Returns (hash -> (content id, uuid), identities created).

    `every`, when given (a first load), knows every identity the database holds: they are
    looked up there, not by a query per 500 hashes, and the new ones are added to it."""
    from core.content.identity import content_uuid_bytes    # here: see remove_dependents
    from core.content.kinds import CONTENT_RULE
    ident: dict[str, tuple[int, bytes]] = {}
    if every is not None:
        every.catch_up(conn)
        have = every.by_hash
        ident = {d: have[d] for d in found if d in have}
    for part in chunks(list(found)) if every is None else ():
        marks = ",".join("?" * len(part))
        for cid, cuuid, digest in conn.execute(
                "SELECT id, uuid, content_hash FROM content_identities "
                f"WHERE content_hash IN ({marks})", part):
            ident[digest] = (cid, cuuid)
    known = [(per_hash[d], ident[d][0]) for d in found if d in ident]
    cid = next_id(conn, "content_identities")
    inserts = []
    for digest, (size, kind, mime) in found.items():
        if digest not in ident:
            cuuid = content_uuid_bytes(digest)
            ident[digest] = (cid, cuuid)
            if every is not None:
                every.add(digest, cid, cuuid)
            inserts.append((cid, cuuid, digest, size, kind, mime, now, per_hash[digest],
                            CONTENT_RULE))
            cid += 1
    conn.executemany(
        "INSERT INTO content_identities (id, uuid, content_hash, size, kind, mime_type, "
        "first_seen_at, entry_count, kind_rule) VALUES (?,?,?,?,?,?,?,?,?)", inserts)
    conn.executemany("UPDATE content_identities SET entry_count = entry_count + ? WHERE id = ?",
                     known)
    return ident, len(inserts)


class KnownIdentities:
    """Every content identity in the database, hash -> (id, uuid), for a first load that adds
    thousands per batch (store_identities' `every`). Another writer (sync applying another
    device's identities) may add some between batches: `catch_up`, inside the batch's
    transaction, reads those (ids above the highest known; ids only grow). A batch that rolls
    back forgets what it added (`mark`, `undo`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.by_hash: dict[str, tuple[int, bytes]] = {}
        self.top = 0
        self.catch_up(conn)

    def catch_up(self, conn: sqlite3.Connection) -> None:
        for cid, cuuid, digest in conn.execute(
                "SELECT id, uuid, content_hash FROM content_identities WHERE id > ? ORDER BY id",
                (self.top,)):
            self.by_hash[digest] = (cid, cuuid)
            self.top = cid

    def add(self, digest: str, cid: int, cuuid: bytes) -> None:
        self.by_hash[digest] = (cid, cuuid)
        self.top = max(self.top, cid)

    def mark(self) -> tuple[int, int]:
        return len(self.by_hash), self.top

    def undo(self, mark: tuple[int, int]) -> None:
        """Forget what was added since `mark` (its transaction rolled back)."""
        added = len(self.by_hash) - mark[0]
        for digest in list(islice(reversed(self.by_hash), added)):
            del self.by_hash[digest]
        self.top = mark[1]


def remove_dependents(conn: sqlite3.Connection, entry_uuids: list[bytes]) -> None:
    """Delete what refers to entries about to be deleted (entry-scoped metadata, tag links,
    models, blobs, collection items) by core.domain.metadata's rules, so blobs are released exactly
    once per link and freed at zero. Content-scoped data is untouched. The EXISTS probe keeps
    the common case (nothing entry-scoped anywhere) to one query."""
    if not entry_uuids:
        return
    if conn.execute("SELECT EXISTS (SELECT 1 FROM user_metadata WHERE entry_uuid IS NOT NULL) "
                    "OR EXISTS (SELECT 1 FROM models WHERE entry_uuid IS NOT NULL) "
                    "OR EXISTS (SELECT 1 FROM collection_items WHERE entry_uuid IS NOT NULL)"
                    ).fetchone()[0] == 0:
        return
    # imported here: walkworker.py loads this module on its own, outside the core package
    from core.domain.forget import forget_entries
    forget_entries(conn, entry_uuids)


def entry_index_specs(conn: sqlite3.Connection) -> list[list[str]]:
    """[name, sql] of what a bulk load of `entries` rebuilds at the end instead of keeping up to
    date row by row: its secondary indexes, the trigger that feeds new rows to the name search
    index (entries_fts; rebuilt whole from `entries` when the trigger comes back), and the
    triggers that mark sync's owned records dirty on every new entry and content identity
    (their mark is set once instead, when dropped and again when restored)."""
    specs = [list(r) for r in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries' "
        "AND sql IS NOT NULL ORDER BY name")]
    marks = ",".join("?" * len(BULK_TRIGGERS))
    specs += [[f"trigger:{name}", sql] for name, sql in conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks}) "
        "ORDER BY name", BULK_TRIGGERS)]
    return specs


SEARCH_INSERT_TRIGGER = "entries_fts_ins"
# row-independent triggers (their body never reads NEW): running the body once stands for
# running it on every row of the load
MARK_TRIGGERS = ("sync_dirty_content_identities_insert", "sync_dirty_entries_insert")
BULK_TRIGGERS = (SEARCH_INSERT_TRIGGER, *MARK_TRIGGERS)
SEARCH_SHADOWS = ("data", "idx", "docsize")   # entries_fts's own tables, copied when built apart


def _run_mark(conn: sqlite3.Connection, name: str, sql: str) -> None:
    """What a MARK_TRIGGERS trigger does for any row, done once: its body between BEGIN and
    the final END (a row-independent statement such as marking a sync half dirty)."""
    if name[len("trigger:"):] in MARK_TRIGGERS:
        body = sql[sql.upper().index("BEGIN") + len("BEGIN"):sql.upper().rindex("END")]
        for statement in body.split(";"):
            if statement.strip():
                conn.execute(statement)


def drop_indexes(conn: sqlite3.Connection, specs: list[list[str]]) -> None:
    """Drop indexes for a bulk load: building them afterwards is 2-4x faster than keeping them
    up to date row by row (for the trigram search index, the whole index job runs ~1.7x
    faster). The job's state keeps `specs`; `restore_indexes` brings them back, also after a
    crash."""
    with write_tx(conn):
        for name, sql in specs:
            if name.startswith("trigger:"):
                conn.execute(f'DROP TRIGGER IF EXISTS "{name[len("trigger:"):]}"')
                _run_mark(conn, name, sql)
            else:
                conn.execute(f'DROP INDEX IF EXISTS "{name}"')


def restore_indexes(conn: sqlite3.Connection, specs: list[list[str]],
                    search_db: str | None = None) -> None:
    """Recreate whichever of `specs` is missing (safe to run again after a crash). The search
    trigger comes back with the search index rebuilt from `entries` — or copied from
    `search_db`, where a helper built it from the rows this load wrote (searchworker.py), when
    it indexes exactly the ids `entries` holds — and a marking trigger with its mark set, in
    one transaction, so no row written while they were gone is missing from search or from
    sync's next scan."""
    have = {r[0] if r[1] == "index" else f"trigger:{r[0]}" for r in conn.execute(
        "SELECT name, type FROM sqlite_master WHERE type IN ('index', 'trigger')")}
    missing = [(n, sql) for n, sql in specs if n not in have]
    if not missing:
        return
    search = f"trigger:{SEARCH_INSERT_TRIGGER}" in (n for n, _ in missing)
    if search and search_db is not None:
        conn.execute("ATTACH DATABASE ? AS built", (search_db,))
    try:
        with write_tx(conn):
            for name, sql in missing:
                conn.execute(sql)
                _run_mark(conn, name, sql)
            if search and not (search_db is not None and _copy_search_index(conn)):
                conn.execute("INSERT INTO entries_fts (entries_fts) VALUES ('rebuild')")
    finally:
        if search and search_db is not None:
            conn.execute("DETACH DATABASE built")


def _copy_search_index(conn: sqlite3.Connection) -> bool:
    """Replace entries_fts's shadow tables by those of the attached `built` database, if it
    indexes the very ids `entries` holds; False (nothing changed) otherwise."""
    built = conn.execute(
        "SELECT count(*), min(id), max(id) FROM built.entries_fts_docsize").fetchone()
    if built != conn.execute("SELECT count(*), min(id), max(id) FROM entries").fetchone():
        return False
    for shadow in SEARCH_SHADOWS:
        conn.execute(f"DELETE FROM main.entries_fts_{shadow}")
        conn.execute(f"INSERT INTO main.entries_fts_{shadow} SELECT * FROM built.entries_fts_{shadow}")
    return True
