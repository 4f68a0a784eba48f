"""The engine on real libraries: catalog in step with the schema, routing, a write visible to
the very next query (both engines), the persisted mirror, results, and the CLI."""
from __future__ import annotations

import dataclasses
import re
import sqlite3
import subprocess
import sys
import tempfile
import uuid

import pytest

import core
from core.domain.models import model
from vdfs_query import catalog

from query_world import Person


def make_tree(root, names):
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(f"content {i} {name}".encode() * (i + 1))
    return root


@pytest.fixture
def indexed(lib, tmp_path):
    root = make_tree(tmp_path / "tree", ["a.jpg", "b.jpg", "c.txt", "sub/d.png", "sub/e.txt"])
    lib.index(str(root)).wait(timeout=60)
    return lib, root


def test_catalog_columns_exist_in_a_fresh_library(lib):
    cols = {}
    for db in (lib.db_path, lib.jobs_db_path):
        conn = sqlite3.connect(db)
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cols[table] = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        conn.close()
    checked = 0
    for snippet in catalog.all_sql_snippets():
        for alias, column in re.findall(r"\b([a-z]+)\.([a-z_]+)\b", snippet):
            table = catalog.ALIASES[alias]
            assert column in cols[table], f"{table}.{column} (from {snippet!r}) is not in the schema"
            checked += 1
    for src in catalog.SOURCES.values():
        assert src.table in cols
    assert checked > 100


def test_kinds_match_the_indexer():
    from core.content.kinds import KINDS
    assert set(catalog.KINDS) == set(KINDS)


def test_routes(indexed):
    lib, root = indexed
    uid = lib.query("entries limit 1").rows()[0]["uuid"]
    assert lib.explain("entries where uuid = :u", u=uid).route == "sqlite"
    assert lib.explain(f'entries in "{root}/sub"').route == "sqlite"     # a small folder
    assert lib.explain("entries group by ext").route == "duckdb"
    assert lib.explain("content duplicates").route == "duckdb"
    assert lib.explain("tags").route == "sqlite"
    assert lib.explain('entries tagged "#rare"').route == "sqlite"          # a tag on few rows
    assert lib.query("entries where uuid = :u", u=uuid.UUID(uid)).rows()[0]["uuid"] == uid


def test_a_listing_under_a_big_folder_that_is_a_small_share_of_the_library_uses_sqlite(
        lib, tmp_path):
    """Above PROBE_CAP entries a folder's aggregates go to the mirror, but a listing reads only
    the folder's rows through the path index: it stays on SQLite while the folder holds at
    most 1/listing_share of all entries (at 10M entries a 17k-entry folder took 25 ms there
    against 254 ms on the mirror)."""
    from core.query.routing import PROBE_CAP
    big = tmp_path / "tree" / "big"
    big.mkdir(parents=True)
    for i in range(PROBE_CAP + 100):
        (big / f"f{i}.txt").touch()
    lib.index(str(tmp_path / "tree")).wait(timeout=120)
    listing, grouped = f'entries in "{big}" of kind text', f'entries in "{big}" group by ext'
    assert lib.explain(grouped).route == "duckdb"
    assert lib.explain(listing).route == "duckdb"      # 2,100 of ~2,100 entries: not a small share
    lib.engine.listing_share = 1                       # as if the library were 50x bigger
    lib.engine._probes.clear()
    assert lib.explain(listing).route == "sqlite"
    assert lib.explain(grouped).route == "duckdb"      # aggregates still scan the mirror
    assert sorted(r["name"] for r in lib.query(listing).rows()) == \
        sorted(r["name"] for r in lib.engine.run(listing, route="duckdb").rows())


def test_a_write_is_seen_by_the_next_query(indexed, tmp_path):
    lib, root = indexed
    eng = lib.engine
    q = 'entries tagged "#fresh"'
    for route in ("sqlite", "duckdb"):
        assert len(eng.run(q, route=route)) == 0
    api = lib.vdfs()
    entry = lib.query('entries where name = "a.jpg"').rows()[0]
    api.add_tag_to_entry(uuid.UUID(entry["uuid"]), "#fresh")
    for route in ("sqlite", "duckdb"):
        assert [r["name"] for r in eng.run(q, route=route).rows()] == ["a.jpg"]
    api.remove_tag_from_entry(uuid.UUID(entry["uuid"]), "#fresh")
    assert len(eng.run(q, route="duckdb")) == 0

    # new, changed and deleted files, through the real indexer
    (root / "new.heic").write_bytes(b"new image")
    (root / "c.txt").unlink()
    (root / "b.jpg").write_bytes(b"changed and longer than before")
    lib.index(str(root)).wait(timeout=60)
    for route in ("sqlite", "duckdb"):
        names = {r["name"] for r in eng.run("entries where not is_dir", route=route).rows()}
        assert names == {"a.jpg", "b.jpg", "new.heic", "d.png", "e.txt"}
        sizes = {r["name"]: r["size"] for r in eng.run("entries where not is_dir", route=route).rows()}
        assert sizes["b.jpg"] == len(b"changed and longer than before")
        groups = {r["ext"]: r["count"] for r in eng.run("entries group by ext", route=route).rows()}
        assert groups["heic"] == 1 and "txt" in groups and groups["txt"] == 1

    # a model
    api.create_model(Person(name="Dora", photo_count=1))
    for route in ("sqlite", "duckdb"):
        assert eng.run("models Person select name", route=route).rows() == [{"name": "Dora"}]


def test_mirror_recovers_from_a_pruned_log_and_the_scan_agrees(indexed):
    lib, root = indexed
    eng = lib.engine
    want = lib.conn.execute("SELECT ext, count(*) FROM entries GROUP BY ext").fetchall()
    scan = eng.run("entries group by ext", route="scan")     # DuckDB reading a SQLite snapshot
    assert scan.route == "scan" and {(r["ext"], r["count"]) for r in scan.rows()} == set(want)
    assert eng.mirror.refresh(eng._sconn) == 0                # built, nothing to replay
    # rows the mirror never saw are pruned by someone else: the gap forces a rebuild
    lib.conn.execute("UPDATE entries SET size = size + 1 WHERE name = 'a.jpg'")
    lib.conn.execute("UPDATE entries SET size = size + 1 WHERE name = 'a.jpg'")
    lib.conn.execute("DELETE FROM change_log WHERE seq = (SELECT max(seq) - 1 FROM change_log)")
    size = lib.conn.execute("SELECT size FROM entries WHERE name = 'a.jpg'").fetchone()[0]
    r = eng.run('entries where name = "a.jpg" and size > 0 order by size', route="duckdb")
    assert r.route == "duckdb" and r.rows()[0]["size"] == size
    # a second process-like engine on the same library agrees
    from core.query.engine import Engine
    other = Engine(lib.db_path, device_uuid=lib.device_uuid.bytes, mirror="sync")
    try:
        assert other.run('entries where name = "a.jpg" and size > 0').rows() == r.rows()
    finally:
        other.close()


def test_background_build_answers_from_sqlite_until_ready(indexed):
    lib, root = indexed
    from core.query.engine import Engine
    eng = Engine(lib.db_path, device_uuid=lib.device_uuid.bytes)
    try:
        first = eng.run("entries group by kind")
        assert first.route in ("sqlite", "duckdb")
        eng._mirror.ready.wait(60)
        again = eng.run("entries group by kind")
        assert again.route == "duckdb" and again.rows() == first.rows()
    finally:
        eng.close()


def test_hostile_names_match_literally(lib, tmp_path):
    names = ["it's.txt", "x'; DROP TABLE entries; --.txt", 'q"uote.txt', "100%_done.txt",
             "a*b?.txt", "plain.txt"]
    root = make_tree(tmp_path / "h", names)
    lib.index(str(root)).wait(timeout=60)
    eng = lib.engine
    for name in names:
        for route in ("sqlite", "duckdb"):
            rows = eng.run("entries where name = :n", {"n": name}, route=route).rows()
            assert [r["name"] for r in rows] == [name]
    for route in ("sqlite", "duckdb"):
        assert [r["name"] for r in eng.run('entries where name ~ "100%_*"', route=route).rows()] == ["100%_done.txt"]
        assert {r["name"] for r in eng.run('entries where name ~ "*\'*"', route=route).rows()} == \
            {"it's.txt", "x'; DROP TABLE entries; --.txt"}
    assert lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == len(names) + 1


def test_result_conversions_and_display(indexed):
    lib, root = indexed
    r = lib.query("entries order by path")
    assert len(r) == 7 and r.columns[0] == "uuid"
    t = r.arrow()
    assert t.num_rows == 7 and str(t.schema.field("modified").type).startswith("timestamp")
    assert list(r.df()["name"]) == [row["name"] for row in r.rows()]
    assert r.pl().height == 7
    html = r._repr_html_(limit=3)
    assert "showing 3 of 7 rows" in html and html.count("<tr>") == 4
    s = lib.query("entries where uuid = :u", u=r.rows()[0]["uuid"])     # the SQLite path
    assert s.route == "sqlite" and s.rows()[0] == r.rows()[0]
    eng = lib.engine
    a, b = (eng.run("entries order by path", route=route).arrow() for route in ("sqlite", "duckdb"))
    assert a.schema.names == b.schema.names
    assert a.column("uuid").to_pylist() == b.column("uuid").to_pylist()
    assert a.column("modified").to_pylist() == b.column("modified").to_pylist()


def test_builder_terminals_through_the_host(indexed):
    lib, root = indexed
    vdfs = lib.vdfs()
    images = vdfs.query_entries().of_type("image").in_location(root)
    assert images.count() == 3
    assert sorted(images.map(lambda e: e.name)) == ["a.jpg", "b.jpg", "d.png"]
    first = images.order_by("size", desc=True).first()
    assert first.name == "d.png" and isinstance(first.uuid, uuid.UUID)
    c = first.content_uuid
    again = vdfs.query_entries().where_content_id(c).on_this_device().first()
    assert again.uuid == first.uuid
    vdfs.create_model(Person(name="Eve", photo_count=3))
    people = vdfs.query_models(Person).select_inline_only().collect()
    assert [type(p) for p in people] == [Person] and people[0].name == "Eve"
    assert vdfs.query_models(Person).where("photo_count", ">", 2).count() == 1


def test_cli_query_and_explain(indexed):
    lib, root = indexed
    cmd = [sys.executable, "-m", "core.cli", "--library", str(lib.path)]
    out = subprocess.run(cmd + ["query", "entries of kind image order by name"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "a.jpg" in out.stdout and len(out.stdout.splitlines()) == 4   # header + 3 rows
    out = subprocess.run(cmd + ["explain", "entries where size > 1kb"], capture_output=True,
                         text=True, timeout=60)
    assert "e.size > ?" in out.stdout and "1,000" in out.stdout
    out = subprocess.run(cmd + ["query", "entries wher size > 1"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "did you mean 'where'?" in out.stderr and "^" in out.stderr


def test_small_sources_and_location_names(indexed):
    lib, root = indexed
    locs = lib.query("locations on this device").rows()
    assert [loc["path"] for loc in locs] == [str(root)]
    assert lib.query('locations on device "elsewhere"').rows() == []
    everything = lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert len(lib.query(f'entries where location = "{locs[0]["name"]}"')) == everything
    assert [d["name"] for d in lib.query("devices").rows()] == ["test-device"]
    lib.vdfs().create_collection("Favourites")
    rows = lib.query('collections where name ~ "fav*"').rows()
    assert [(r["name"], r["items"]) for r in rows] == [("Favourites", 0)]


def test_mirror_without_the_sqlite_extension_copies_through_python(indexed, monkeypatch):
    lib, root = indexed
    from core.query import mirror as mirror_mod
    from core.query.engine import Engine
    monkeypatch.setattr(mirror_mod, "load_sqlite_extension", lambda duck: False)
    eng = Engine(lib.db_path, device_uuid=lib.device_uuid.bytes, mirror="sync")
    try:
        assert not eng.mirror.has_extension
        r = eng.run("entries group by ext select ext, count() as n, sum(size) as bytes", route="duckdb")
        want = lib.conn.execute("SELECT ext, count(*), sum(size) FROM entries GROUP BY ext").fetchall()
        assert r.route == "duckdb" and {(x["ext"], x["n"], x["bytes"]) for x in r.rows()} == set(want)
        lib.vdfs().add_tag_to_entry(uuid.UUID(lib.query('entries where name = "c.txt"').rows()[0]["uuid"]), "#t")
        assert [x["name"] for x in eng.run('entries tagged "#t"', route="duckdb").rows()] == ["c.txt"]
    finally:
        eng.close()


def test_rows_inserted_directly_reach_the_mirror(indexed):
    """entries/content_identities have no INSERT trigger: new ids above the copied ones are
    found by the mirror; a row updated and another inserted in one go are both replayed."""
    lib, root = indexed
    eng = lib.engine
    assert eng.run("entries group by kind", route="duckdb").route == "duckdb"
    loc = lib.conn.execute("SELECT id FROM locations").fetchone()[0]
    lib.conn.execute("BEGIN")
    lib.conn.execute("INSERT INTO content_identities (uuid, content_hash, size, kind, entry_count, "
                     "first_seen_at) VALUES (?, 'feedfeedfeedfeed', 77, 'video', 1, 'now')",
                     (uuid.uuid4().bytes,))
    cid = lib.conn.execute("SELECT max(id) FROM content_identities").fetchone()[0]
    lib.conn.executemany(
        "INSERT INTO entries (uuid, location_id, path, name, ext, kind, size, content_id, indexed_at) "
        "VALUES (?, ?, ?, ?, 'mp4', 'video', 77, ?, 'now')",
        [(uuid.uuid4().bytes, loc, f"{root}/v{i}.mp4", f"v{i}.mp4", cid) for i in range(3)])
    lib.conn.execute("UPDATE entries SET size = 5 WHERE name = 'a.jpg'")
    lib.conn.execute("COMMIT")
    for route in ("duckdb", "sqlite"):
        rows = eng.run("entries of kind video order by name", route=route).rows()
        assert [r["name"] for r in rows] == ["v0.mp4", "v1.mp4", "v2.mp4"]
        assert rows[0]["content_uuid"] is not None
        assert eng.run('entries where name = "a.jpg"', route=route).rows()[0]["size"] == 5
        assert [r["content_hash"] for r in eng.run("content where kind = video", route=route).rows()] == \
            ["feedfeedfeedfeed"]


def test_duckdb_never_opens_the_live_library_file(indexed):
    """DuckDB's own SQLite must not open library.db beside Python's (it would truncate the
    -shm that Python's SQLite has mapped): the mirror and the scan read private snapshots."""
    lib, root = indexed
    eng = lib.engine
    eng.run("entries group by ext", route="duckdb")
    eng.run("entries group by ext", route="scan")
    attached = eng.mirror.duck.execute(
        "SELECT database_name, path, type FROM duckdb_databases()").fetchall()
    assert [r for r in attached if r[2] == "sqlite"] == []       # the snapshot was detached
    assert all(r[1] != str(lib.db_path) for r in attached)
    # a write through Python after a snapshot-built copy is still seen at once
    lib.conn.execute("UPDATE entries SET size = 123456789 WHERE name = 'a.jpg'")
    rows = eng.run('entries where size = 123456789 select name', route="duckdb").rows()
    assert rows == [{"name": "a.jpg"}]


def test_snapshots_are_removed_on_every_path(indexed, tmp_path, monkeypatch):
    """Each snapshot DuckDB reads is a temp file: gone after a mirror build, a scan, a scan whose
    parameters fail to bind, and a rebuild forced by a change-log gap."""
    from core.query import mirror as mirror_mod, scan as scan_mod
    lib, root = indexed
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(snaps))
    made = []
    real = scan_mod.snapshot
    for module in (mirror_mod, scan_mod):     # the mirror's builds and the scans' snapshots
        monkeypatch.setattr(module, "snapshot", lambda db: made.append(real(db)) or made[-1])
    eng = lib.engine

    eng.run("entries group by ext", route="duckdb")
    eng.run("entries group by ext", route="scan")
    with pytest.raises(ValueError, match="not a size"):         # fails in bind, after the snapshot
        eng.run("entries where size > :n group by ext", {"n": "not a size"}, route="scan")
    lib.conn.execute("UPDATE entries SET size = size + 1 WHERE name = 'a.jpg'")
    lib.conn.execute("UPDATE entries SET size = size + 1 WHERE name = 'a.jpg'")
    lib.conn.execute("DELETE FROM change_log WHERE seq = (SELECT max(seq) - 1 FROM change_log)")
    assert eng.mirror.refresh(eng._sconn) == -1                  # the gap forced a rebuild
    assert len(made) == 4 and all(p.startswith(str(snaps)) for p in made)
    assert list(snaps.glob("vdfs-snapshot-*")) == []


def test_a_repeated_folder_query_trusts_then_rechecks_its_route(indexed):
    """A repeated query whose route depends on a folder's size takes the fast path: the route
    decided for these values is trusted for a while, then decided again — same rows each time."""
    lib, root = indexed
    text = "entries in :d select name order by name"
    first = [r["name"] for r in lib.query(text, d=str(root / "sub")).rows()]
    assert first == ["d.png", "e.txt"]
    for _ in range(3):                                   # trusted: the route is not re-probed
        assert [r["name"] for r in lib.query(text, d=str(root / "sub")).rows()] == first
    lib.engine._recent_routes = {k: (v[0] - 3600, v[1]) for k, v in lib.engine._recent_routes.items()}
    assert [r["name"] for r in lib.query(text, d=str(root / "sub")).rows()] == first   # rechecked


def test_explain_says_when_sqlite_answers_until_the_mirror_is_ready(tmp_path):
    """A process's first query meant for the mirror is answered by SQLite while the mirror
    opens: explain says so instead of only 'route: duckdb'."""
    import core
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    with core.Library.create(tmp_path / "l.vdfs") as lib:
        lib.index(folder).wait(30)
    with core.Library.open(tmp_path / "l.vdfs") as lib:
        first = lib.explain("entries group by ext")
        assert first.route == "duckdb"
        assert "until the DuckDB mirror is ready, SQLite answers" in str(first)
        lib.engine.mirror                     # built now
        assert "SQLite answers" not in str(lib.explain("entries group by ext"))
        assert "SQLite answers" not in str(lib.explain("tags"))
