"""Processing: turn a Discovery into entry rows — insert new paths, update changed ones,
keep the UUID of a path that moved (same inode), delete what is gone.

Every batch is one transaction, and the phase is idempotent: after a crash, discovering again
and diffing against what the committed batches wrote yields exactly the work still to do.
A changed file gets `content_id = NULL` (its old identity's entry_count drops in the same
transaction), which is how the content phase knows what to hash.
"""
from __future__ import annotations

import posixpath
import sqlite3
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Callable

from core.content.kinds import kind_for_ext, split_ext
from core.domain.locations import is_within
from .events import payload
from .firstload import hash_ahead_key
from .hashing import Result
from .store import (KnownIdentities, chunks, fetch_details, new_uuids, next_id,
                    remove_dependents, store_identities, write_tx)
from .walk import DIR, LINK, Discovery, Found

_INSERT = ("INSERT INTO entries (id, uuid, location_id, parent_id, path, raw_path, name, ext, "
           "kind, is_dir, hidden, size, inode, mtime_ns, ctime_ns, content_id, indexed_at, "
           "child_count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
_UPDATE_STAT = ("UPDATE entries SET inode = ?, mtime_ns = ?, ctime_ns = ?, indexed_at = ? "
                "WHERE id = ?")
_UPDATE_FILE = ("UPDATE entries SET inode = ?, mtime_ns = ?, ctime_ns = ?, size = ?, kind = ?, "
                "content_id = NULL, full_hash = NULL, indexed_at = ? WHERE id = ?")
_MOVE = ("UPDATE entries SET parent_id = ?, path = ?, raw_path = ?, name = ?, ext = ?, "
         "hidden = ?, inode = ?, mtime_ns = ?, ctime_ns = ?, indexed_at = ? WHERE id = ?")
_REPLACE = ("UPDATE entries SET uuid = ?, is_dir = ?, kind = ?, ext = ?, size = ?, "
            "child_count = 0, inode = ?, mtime_ns = ?, ctime_ns = ?, content_id = NULL, "
            "full_hash = NULL, indexed_at = ? WHERE id = ?")
_DECREMENT = "UPDATE content_identities SET entry_count = entry_count - ? WHERE id = ?"
_NO_TOTALS = (0, 0)
# what one row can cause (a constraint, a value SQLite cannot hold, a missing parent); a locked
# or failing database (OperationalError) is not about a row and still stops the job
_ROW_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError,
               OverflowError, ValueError, RuntimeError)


@dataclass
class Counts:
    created: int = 0
    modified: int = 0
    moved: int = 0
    deleted: int = 0
    events: list[tuple[str, dict]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)   # entries that could not be stored
    hashed: int = 0               # new files written with their content identity (hashed ahead)
    bytes_hashed: int = 0
    identities_created: int = 0


def _kind(f: Found, ext: str | None) -> str:
    if f.ftype == DIR:
        return "directory"
    if f.ftype == LINK:
        return "symlink"
    return kind_for_ext(ext)


def _hashed_in(batch: list) -> int:
    """How many of `batch`'s files were sent to be hashed ahead."""
    return sum(1 for f in batch if hash_ahead_key(f) is not None)


class Processor:
    """Applies one Discovery to one location's entries, batch by batch."""

    def __init__(self, conn: sqlite3.Connection, location_id: int, root_parent_id: int | None,
                 now: str, want_events: bool):
        self.conn = conn
        self.loc = location_id
        self.root_parent_id = root_parent_id
        self.now = now
        self.want_events = want_events
        self.path_ids: dict[str, int] = {}
        self.counts = Counts()
        # when set, (entry id, path for the OS, size, ext) of every file whose content is now
        # unknown, for hashing ahead (prefetch.py)
        self.to_hash: list[tuple] | None = None
        # when set, hashes of new files sent ahead (prefetch.py): key -> (size, result), and
        # wait_hashed(n) returns once the first n files sent (hash_ahead_key order) are hashed
        self.hashed_ahead: dict | None = None
        self.wait_hashed: Callable[[int], None] | None = None
        # hashed_by(n): whether the first n files sent are hashed already (no waiting)
        self.hashed_by: Callable[[int], bool] | None = None
        self._popped: list[tuple] = []   # (path, row, inode key) taken from gone by a batch
        # when set, (id, name, path) of the rows inserted by committed batches, for the
        # search index built apart during a first load (searchworker.py)
        self.search_rows: list[tuple[int, str, str]] | None = None
        # when set (a first load), each new folder's (size, child_count) by path: its row is
        # written with them, so aggregation finds nothing to change
        self.folder_totals: dict[str, tuple[int, int]] = {}
        # when set (a first load), every content identity in the database, looked up there
        # by store_identities rather than queried per batch
        self.identities: KnownIdentities | None = None

    # ---- parent ids ----------------------------------------------------------------------
    def _parent_id(self, f: Found) -> int | None:
        if f.parent is None:
            return self.root_parent_id
        pid = self.path_ids.get(f.parent)
        if pid is None:
            row = self.conn.execute("SELECT id FROM entries WHERE location_id = ? AND path = ?",
                                    (self.loc, f.parent)).fetchone()
            if row is None:
                raise RuntimeError(f"indexer: parent folder {f.parent} of {f.path} has no entry")
            pid = self.path_ids[f.parent] = row[0]
        return pid

    # ---- the whole phase -----------------------------------------------------------------
    def run(self, disc: Discovery, batch_size: int,
            after_batch: Callable[[int, int], None], wait_size: int | None = None) -> Counts:
        """Apply `disc`; `after_batch(done, total)` runs after each committed batch. Hashing
        ahead, the writes go in slices of `wait_size` (each waits for its hashes, so a smaller
        one starts sooner and keeps the workers ahead) inside transactions of `batch_size`
        rows (each commit rewrites the pages its rows touched, many of them scattered over
        the content identities' hash and uuid indexes: fewer commits, fewer rewrites)."""
        gone = disc.gone
        if disc.unreadable and gone:   # what we could not list is unknown, not deleted
            for path in [p for p in gone if any(is_within(p, u) for u in disc.unreadable)]:
                del gone[path]
        old_ids = [f.old[4] for f in disc.changes if f.old is not None]
        old_ids += [row[4] for row in gone.values()]
        details = fetch_details(self.conn, old_ids) if old_ids else {}
        by_inode: dict[tuple[int, bool], tuple] = {}
        for row in gone.values():
            by_inode.setdefault((row[1], row[3] == -1), row)
        total = len(disc.changes) + len(gone)
        done = 0
        # Path order puts every folder before what it holds, and makes the inserts into the
        # path indexes (and the time-ordered uuid index) appends rather than scattered writes.
        disc.changes.sort(key=attrgetter("path"))
        ahead = 0
        if self.wait_hashed is None or not wait_size:
            wait_size = batch_size
        for group in chunks(disc.changes, batch_size):
            slices = list(chunks(group, wait_size))
            sent = [_hashed_in(s) for s in slices] if self.wait_hashed is not None else []
            i = 0
            while i < len(slices):
                if self.wait_hashed is not None:    # waiting outside a transaction: the
                    ahead += sent[i]                 # write lock stays free for others
                    self.wait_hashed(ahead)
                with write_tx(self.conn, defer_fks=True):
                    while True:
                        self._write_robustly(slices[i], gone, by_inode, details)
                        i += 1
                        if i == len(slices):
                            break
                        if self.hashed_by is not None:    # the next slice's hashes are in:
                            if not self.hashed_by(ahead + sent[i]):   # same transaction
                                break                      # not yet: commit, then wait
                            ahead += sent[i]
            done += len(group)
            after_batch(done, total)
        # children sort after their folder: deleting in descending path order never leaves
        # a committed row whose parent is already deleted
        doomed = sorted(gone.values(), key=lambda r: r[0], reverse=True)
        for batch in chunks(doomed, batch_size):
            self._delete_batch(batch, details)
            done += len(batch)
            after_batch(done, total)
        return self.counts

    def _write_robustly(self, batch: list[Found], gone: dict[str, tuple],
                        by_inode: dict[tuple[int, bool], tuple], details: dict[int, tuple]
                        ) -> None:
        """Write `batch`; when its transaction fails, undo what the attempt changed in memory
        and write each half on its own, down to single entries. An entry that still cannot be
        stored is reported in `counts.errors` (its folder's contents follow it there), and the
        job goes on: no single name or row can fail an index. The row a failed move would
        have rewritten is kept as it was, so its uuid and metadata survive to the next index."""
        c = self.counts
        before = (c.created, c.modified, c.moved, c.deleted, len(c.events),
                  len(self.to_hash) if self.to_hash is not None else 0,
                  c.hashed, c.bytes_hashed, c.identities_created,
                  self.identities.mark() if self.identities is not None else None)
        self._popped: list[tuple] = []
        try:
            self._write_batch(batch, gone, by_inode, details)
            return
        except _ROW_ERRORS as exc:
            error = exc
        c.created, c.modified, c.moved, c.deleted = before[:4]
        c.hashed, c.bytes_hashed, c.identities_created = before[6:9]
        if self.identities is not None:    # the identities the attempt added are rolled back
            self.identities.undo(before[9])
        del c.events[before[4]:]
        if self.to_hash is not None:
            del self.to_hash[before[5]:]
        for path, row, key in self._popped:
            gone[path] = row
            by_inode[key] = row
        for f in batch:
            self.path_ids.pop(f.path, None)
        if len(batch) == 1:
            c.errors.append({"path": batch[0].path, "reason": f"cannot store entry: {error}"})
            for path, _, key in self._popped:   # a move that failed: keep the old row (its
                by_inode.pop(key, None)          # uuid, tags, notes) and the folders above it
                while gone.pop(path, None) is not None:
                    path = posixpath.dirname(path)
            return
        half = len(batch) // 2
        self._write_robustly(batch[:half], gone, by_inode, details)
        self._write_robustly(batch[half:], gone, by_inode, details)

    def _write_batch(self, batch: list[Found], gone: dict[str, tuple],
                     by_inode: dict[tuple[int, bool], tuple], details: dict[int, tuple]) -> None:
        conn, now, loc = self.conn, self.now, self.loc
        inserts: list[list] = []
        stat_updates: list[tuple] = []
        file_updates: list[tuple] = []
        moves: list[tuple] = []
        replaces: list[tuple] = []
        decrements: dict[int, int] = {}
        orphaned: list[bytes] = []
        events = self.counts.events if self.want_events else None
        path_ids = self.path_ids
        to_hash = self.to_hash
        ahead = self.hashed_ahead
        totals = self.folder_totals
        known: list[tuple[int, Result]] = []   # (index in inserts, hash result) of new files
        created = 0
        with write_tx(conn, defer_fks=True):
            next_eid = next_id(conn)
            uuids = iter(new_uuids(len(batch)))
            for f in batch:
                st = f.st
                is_dir = f.ftype == DIR
                ext = None if is_dir else split_ext(f.name)
                if f.old is not None:  # same path, different stat
                    d = details[f.old[4]]
                    eid = d[0]
                    self.path_ids[f.path] = eid
                    was_dir = bool(d[3])
                    if was_dir != is_dir or (d[4] == "symlink") != (f.ftype == LINK):
                        kind = _kind(f, ext)
                        new_uuid = next(uuids)
                        replaces.append((new_uuid, int(is_dir), kind, ext,
                                         0 if f.ftype != 0 else st.st_size, st.st_ino,
                                         st.st_mtime_ns, st.st_ctime_ns, now, eid))
                        orphaned.append(d[1])
                        if d[5] is not None:
                            decrements[d[5]] = decrements.get(d[5], 0) + 1
                        self.counts.deleted += 1
                        self.counts.created += 1
                        if events is not None:
                            events.append(("entry.deleted", payload(d[1], f.path, d[4], d[6])))
                            if f.ftype != 0 or st.st_size == 0:
                                events.append(("entry.created",
                                               payload(new_uuid, f.path, kind, None)))
                    elif is_dir or f.ftype == LINK:
                        stat_updates.append((st.st_ino, st.st_mtime_ns, st.st_ctime_ns, now, eid))
                        self.counts.modified += 1
                        if events is not None:
                            events.append(("entry.modified", payload(d[1], f.path, d[4], None)))
                    else:
                        file_updates.append((st.st_ino, st.st_mtime_ns, st.st_ctime_ns,
                                             st.st_size, kind_for_ext(ext), now, eid))
                        if d[5] is not None:
                            decrements[d[5]] = decrements.get(d[5], 0) + 1
                        if to_hash is not None and st.st_size:
                            to_hash.append((eid, f.raw or f.path, st.st_size, ext))
                        self.counts.modified += 1
                        if events is not None and st.st_size == 0:
                            events.append(("entry.modified",
                                           payload(d[1], f.path, kind_for_ext(ext), None)))
                    continue
                # A move keeps inode, mtime and size (folders: inode and mtime). Requiring all
                # of them keeps a new file that reuses a deleted file's inode from inheriting
                # its uuid and metadata.
                moved = by_inode.get((st.st_ino, is_dir)) if by_inode else None
                if moved is not None and moved[2] == st.st_mtime_ns and (
                        moved[3] == (-1 if is_dir else st.st_size if f.ftype == 0 else 0)) \
                        and gone.pop(moved[0], None) is not None:
                    del by_inode[(st.st_ino, is_dir)]
                    self._popped.append((moved[0], moved, (st.st_ino, is_dir)))
                    d = details[moved[4]]
                    eid = d[0]
                    self.path_ids[f.path] = eid
                    moves.append((self._parent_id(f), f.path, f.raw, f.name, ext,
                                  int(f.name.startswith(".")), st.st_ino, st.st_mtime_ns,
                                  st.st_ctime_ns, now, eid))
                    self.counts.moved += 1
                    content_kept = is_dir or f.ftype == LINK or ext == d[7]
                    if not content_kept:
                        file_updates.append((st.st_ino, st.st_mtime_ns, st.st_ctime_ns,
                                             st.st_size, kind_for_ext(ext), now, eid))
                        if d[5] is not None:
                            decrements[d[5]] = decrements.get(d[5], 0) + 1
                    if events is not None and (content_kept or st.st_size == 0):
                        events.append(("entry.modified", payload(
                            d[1], f.path, d[4] if content_kept else kind_for_ext(ext),
                            d[6] if content_kept else None, old_path=d[2])))
                    continue
                eid = next_eid
                next_eid += 1
                path_ids[f.path] = eid
                if f.ftype == 0:
                    kind, size = kind_for_ext(ext), st.st_size
                else:
                    kind, size = ("directory" if is_dir else "symlink"), 0
                hit = ahead.pop(f.raw or f.path, None) if ahead and size else None
                if hit is not None and hit[0] == size and hit[1][1] is not None:
                    known.append((len(inserts), hit[1]))
                elif to_hash is not None and size:
                    to_hash.append((eid, f.raw or f.path, size, ext))
                u = next(uuids)
                pid = path_ids.get(f.parent) if f.parent is not None else self.root_parent_id
                if pid is None and f.parent is not None:
                    pid = self._parent_id(f)
                below = totals.get(f.path, _NO_TOTALS) if is_dir else _NO_TOTALS
                inserts.append([eid, u, loc, pid, f.path, f.raw, f.name, ext, kind, is_dir,
                                f.name.startswith("."), size or below[0], st.st_ino,
                                st.st_mtime_ns, st.st_ctime_ns, None, now,
                                below[1]])   # bools are stored as 0/1; a list: see _with_contents
                created += 1
                if events is not None and (f.ftype != 0 or size == 0):
                    events.append(("entry.created", payload(u, f.path, kind, None)))
            self.counts.created += created
            if orphaned:
                remove_dependents(conn, orphaned)
            if replaces:
                conn.executemany(_REPLACE, replaces)
            if moves:
                conn.executemany(_MOVE, moves)
            if stat_updates:
                conn.executemany(_UPDATE_STAT, stat_updates)
            if file_updates:
                conn.executemany(_UPDATE_FILE, file_updates)
            if known:
                self._with_contents(inserts, known)
            if inserts:
                conn.executemany(_INSERT, inserts)
            if decrements:
                conn.executemany(_DECREMENT, [(n, cid) for cid, n in decrements.items()])
        if self.search_rows is not None:      # written (sent on once committed)
            self.search_rows += [(r[0], r[6], r[4]) for r in inserts]

    def _with_contents(self, inserts: list[list], known: list[tuple[int, Result]]) -> None:
        """Give the new files hashed ahead their content identity in their one row write
        (kind from their bytes, as the content phase would), in the batch's transaction: set
        in their rows, which are lists for this."""
        found: dict[str, tuple] = {}
        per_hash: dict[str, int] = {}
        for i, (_, digest, _, (ckind, mime), _) in known:
            if digest not in found:
                found[digest] = (inserts[i][11], ckind, mime)
            per_hash[digest] = per_hash.get(digest, 0) + 1
        ident, created = store_identities(self.conn, self.now, found, per_hash, self.identities)
        c = self.counts
        c.identities_created += created
        for i, (_, digest, kind, _, _) in known:
            row = inserts[i]
            row[8], row[15] = kind, ident[digest][0]
            c.hashed += 1
            c.bytes_hashed += row[11]
            if self.want_events:
                c.events.append(("entry.created", payload(row[1], row[4], kind, ident[digest][1])))

    def _delete_batch(self, batch: list[tuple], details: dict[int, tuple]) -> None:
        conn = self.conn
        rows = [details[r[4]] for r in batch if r[4] in details]
        decrements: dict[int, int] = {}
        for d in rows:
            if d[5] is not None:
                decrements[d[5]] = decrements.get(d[5], 0) + 1
        with write_tx(conn, defer_fks=True):
            remove_dependents(conn, [d[1] for d in rows])
            conn.executemany("DELETE FROM entries WHERE id = ?", [(d[0],) for d in rows])
            if decrements:
                conn.executemany(_DECREMENT, [(n, cid) for cid, n in decrements.items()])
        self.counts.deleted += len(rows)
        if self.want_events:
            self.counts.events.extend(
                ("entry.deleted", payload(d[1], d[2], d[4], d[6])) for d in rows)
