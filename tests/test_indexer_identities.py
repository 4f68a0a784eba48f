"""A first load looks content identities up in memory (KnownIdentities) instead of querying
them per batch. The map stays the database's truth: identities another writer adds between
batches (sync applying another device's) are reused, not inserted twice, and a batch that
rolls back forgets the identities it added."""
from __future__ import annotations

from core.content.identity import content_hash_path, content_uuid_bytes
from core.indexer import content
from core.indexer.store import KnownIdentities, store_identities


def _tree(root, n=120):
    for i in range(n):
        d = root / f"d{i // 10:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:03d}.txt").write_bytes(f"file number {i}\n".encode() * (i + 1))
    return root


def test_an_identity_another_writer_adds_mid_load_is_reused(lib, tmp_path, monkeypatch):
    monkeypatch.setenv("VDFS_INDEX_BULK_MIN", "1")
    monkeypatch.setattr(content, "PARALLEL_MIN", 8)       # hashed ahead, by a worker
    root = _tree(tmp_path / "tree")
    late = root / "d11" / "f119.txt"                      # written by the last batch
    digest = content_hash_path(str(late))
    other = lib.connect()
    added = []

    def sync_adds_it(event):   # after the first committed batch, as sync would insert it
        p = event.payload
        if p.get("phase") == "processing" and p.get("done") and not added:
            cur = other.execute(
                "INSERT INTO content_identities (uuid, content_hash, size, kind, mime_type, "
                "entry_count, first_seen_at, kind_rule) VALUES (?, ?, ?, 'text', 'text/plain', "
                "0, '2026-01-01T00:00:00Z', 1)",
                (content_uuid_bytes(digest), digest, late.stat().st_size))
            added.append(cur.lastrowid)
    lib.events.subscribe(sync_adds_it, kinds=["job.progress"])
    result = lib.index(str(root), workers=2, batch_size=40).wait()
    other.close()
    assert added and result["errors_total"] == 0
    assert result["hashed"] == 120
    cid, count = lib.conn.execute(
        "SELECT c.id, c.entry_count FROM entries e JOIN content_identities c "
        "ON c.id = e.content_id WHERE e.path = ?", (str(late),)).fetchone()
    assert (cid, count) == (added[0], 1)
    assert lib.conn.execute("SELECT count(*) FROM content_identities").fetchone()[0] == 120
    # ...in the file's one row write: no row was written again by the content phase
    assert lib.conn.execute(
        "SELECT count(*) FROM change_log l JOIN entries e ON e.id = l.rid WHERE l.tbl = 3 "
        "AND e.is_dir = 0").fetchone()[0] == 0


def test_a_rolled_back_batch_forgets_the_identities_it_added(lib):
    conn = lib.connect()
    known = KnownIdentities(conn)
    found = {f"{i:016x}": (10, "text", "text/plain") for i in range(5)}
    per_hash = dict.fromkeys(found, 1)
    conn.execute("BEGIN IMMEDIATE")
    mark = known.mark()
    conn.execute("SAVEPOINT batch")
    first, created = store_identities(conn, "now", found, per_hash, known)
    assert created == 5 and set(known.by_hash) == set(found)
    conn.execute("ROLLBACK TO batch")
    known.undo(mark)
    assert known.by_hash == {} and known.mark() == mark
    again, created = store_identities(conn, "now", dict(list(found.items())[:3]),
                                      per_hash, known)
    conn.execute("COMMIT")
    stored = {d: (cid, cu) for cid, cu, d in conn.execute(
        "SELECT id, uuid, content_hash FROM content_identities")}
    assert created == 3 and stored == again == known.by_hash
    conn.close()
