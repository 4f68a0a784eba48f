"""Query engine benchmark: 1M entries, every query shape, against three baselines in one run.

Builds a library of 1,000,000 entries (realistic paths, kinds, sizes, 8% duplicate content,
100k PhotoAnalysis models, tags) by inserting rows directly, then times each query through
`lib.query` (parse → IR → route → SQLite or the DuckDB mirror → Result) beside the same SQL
run raw by (a) sqlite3, (b) DuckDB over the sqlite scan (ATTACH … TYPE sqlite), (c) DuckDB on
native in-memory tables — medians of interleaved runs — and prints the ratio to the best.
Also prints DSL parse+compile time per query (caches cleared) and the mirror's build time.

    .venv/bin/python benchmarks/query_bench.py [--entries 1000000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CATEGORIES = {
    "photos": (["jpg"] * 6 + ["png", "heic", "heic"], "image", 14.5, 0.8),
    "videos": (["mp4", "mp4", "mov"], "video", 18.0, 1.2),
    "music": (["mp3", "mp3", "flac"], "audio", 15.2, 0.5),
    "documents": (["pdf", "docx", "txt", "md"], "document", 11.0, 1.5),
    "code": (["py", "js", "rs", "c", "md"], "code", 8.5, 1.2),
    "downloads": (["zip", "exe", "pdf", "jpg", "iso"], "archive", 15.0, 2.0),
}
KIND_OF = {"jpg": "image", "png": "image", "heic": "image", "mp4": "video", "mov": "video",
           "mp3": "audio", "flac": "audio", "pdf": "document", "docx": "document", "txt": "text",
           "md": "text", "py": "code", "js": "code", "rs": "code", "c": "code", "zip": "archive",
           "exe": "executable", "iso": "archive"}
SCENES = ["beach", "city", "forest", "mountain", "indoor", "party", "snow", "food"]


def build(lib, n_entries: int, seed: int = 7) -> dict:
    """Insert ~n_entries rows straight into library.db; returns handles for the queries."""
    rnd = random.Random(seed)
    conn = lib.conn
    now_ns = time.time_ns()
    now_iso = "2026-01-01T00:00:00.000000Z"
    conn.execute("INSERT INTO locations (uuid, device_id, path, name, created_at) VALUES (?, ?, '/data', 'data', ?)",
                 (uuid.uuid4().bytes, lib.device_id, now_iso))
    loc_id = conn.execute("SELECT id FROM locations").fetchone()[0]
    # bulk load without secondary indexes, then rebuild them (2-4x faster than row by row)
    idx = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                       "AND tbl_name IN ('entries', 'content_identities', 'user_metadata', 'models', "
                       "'tag_links')").fetchall()
    for name, _ in idx:
        conn.execute(f"DROP INDEX {name}")

    users, years, albums = 10, list(range(2015, 2025)), max(1, n_entries // (10 * 6 * 10 * 98))
    entries, contents = [], []
    content_of_size: list[tuple[int, int, str]] = []      # (content id, size, kind) for duplicates
    next_id, next_cid, inode = 1, 1, 1000
    sample = {}

    def add_dir(path: str, parent: int | None) -> int:
        nonlocal next_id, inode
        eid = next_id
        next_id += 1
        inode += 1
        entries.append((eid, uuid.uuid4().bytes, loc_id, parent, path, path.rsplit("/", 1)[-1] or "/",
                        None, "directory", 1, 0, 0, 0, inode, now_ns, now_ns, None, now_iso))
        return eid

    root = add_dir("/data", None)
    per_album = max(1, n_entries // (users * len(CATEGORIES) * len(years) * albums))
    for u in range(users):
        udir = add_dir(f"/data/user{u}", root)
        for cat, (exts, _, mu, sigma) in CATEGORIES.items():
            cdir = add_dir(f"/data/user{u}/{cat}", udir)
            for y in years:
                ydir = add_dir(f"/data/user{u}/{cat}/{y}", cdir)
                for a in range(albums):
                    adir_path = f"/data/user{u}/{cat}/{y}/album{a:03d}"
                    adir = add_dir(adir_path, ydir)
                    for i in range(per_album):
                        ext = rnd.choice(exts)
                        kind = KIND_OF[ext]
                        if content_of_size and rnd.random() < 0.08:       # a copy of earlier content
                            cid, size, kind = rnd.choice(content_of_size)
                        else:
                            size = max(1, int(rnd.lognormvariate(mu, sigma)))
                            cid = next_cid
                            next_cid += 1
                            contents.append([cid, uuid.uuid4().bytes, f"{cid:016x}", size, kind, 0])
                            if rnd.random() < 0.05:
                                content_of_size.append((cid, size, kind))
                        contents[cid - 1][5] += 1
                        name = (f"IMG_{y}{a:03d}{i:04d}.{ext}" if kind == "image"
                                else f"{cat[:-1]}_{a:03d}_{i:04d}.{ext}")
                        hidden = int(rnd.random() < 0.01)
                        if hidden:
                            name = "." + name
                        mtime = now_ns - int(rnd.random() * 5 * 365 * 86400e9)
                        inode += 1
                        eid = next_id
                        next_id += 1
                        entries.append((eid, uuid.uuid4().bytes, loc_id, adir, f"{adir_path}/{name}",
                                        name, ext, kind, 0, hidden, size, 0, inode, mtime, mtime, cid,
                                        now_iso))
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO content_identities (id, uuid, content_hash, size, kind, entry_count, "
                     "first_seen_at) VALUES (?, ?, ?, ?, ?, ?, '2026-01-01')", contents)
    conn.executemany("INSERT INTO entries (id, uuid, location_id, parent_id, path, name, ext, kind, is_dir, "
                     "hidden, size, child_count, inode, mtime_ns, ctime_ns, content_id, indexed_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entries)
    # models: PhotoAnalysis on 100k image contents, 1000 people; tags on 5000 contents
    images = [c for c in contents if c[4] == "image"]
    rnd.shuffle(images)
    meta, models, links = [], [], []
    mid = 0
    for c in images[:100_000]:
        mid += 1
        meta.append((mid, uuid.uuid4().bytes, None))
        models.append((uuid.uuid4().bytes, "com.spacedrive.photos", "PhotoAnalysis",
                       json.dumps({"scene": rnd.choice(SCENES), "faces": rnd.randint(0, 6),
                                   "identified_people": []}), None, c[1], 0, mid))
    for p in range(1000):
        mid += 1
        meta.append((mid, uuid.uuid4().bytes, None))
        models.append((uuid.uuid4().bytes, "com.spacedrive.photos", "Person",
                       json.dumps({"name": f"person{p}", "photo_count": rnd.randint(0, 500)}), None, None, 1, mid))
    tagged = images[100_000:105_000] or images[:5000]
    conn.execute("INSERT INTO tags (id, uuid, name, created_at) VALUES (1, ?, '#vacation', ?)",
                 (uuid.uuid4().bytes, now_iso))
    for c in tagged:
        mid += 1
        meta.append((mid, uuid.uuid4().bytes, c[1]))
        links.append((mid, 1, "user", now_iso))
    conn.executemany("INSERT INTO user_metadata (id, uuid, content_identity_uuid, created_at, updated_at) "
                     f"VALUES (?, ?, ?, '{now_iso}', '{now_iso}')", meta)
    conn.executemany("INSERT INTO models (uuid, extension_id, model_type, data, entry_uuid, "
                     "content_identity_uuid, standalone, metadata_id, sync_strategy, created_at, updated_at) "
                     f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, '{now_iso}', '{now_iso}')", models)
    conn.executemany("INSERT INTO tag_links (metadata_id, tag_id, applied_by, applied_at) VALUES (?, ?, ?, ?)",
                     links)
    conn.execute("COMMIT")
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _, sql in idx:
        conn.execute(sql)
    conn.execute("ANALYZE")
    index_s = time.perf_counter() - t0
    return {"entries": len(entries), "contents": len(contents), "models": len(models),
            "insert_s": insert_s, "index_s": index_s}


def sample_of(lib) -> dict:
    """Values the point queries look up: an entry in the middle of the library."""
    n = lib.conn.execute("SELECT max(id) FROM entries WHERE content_id IS NOT NULL").fetchone()[0]
    u, path, cu = lib.conn.execute(
        "SELECT e.uuid, e.path, c.uuid FROM entries e JOIN content_identities c ON c.id = e.content_id "
        "WHERE e.id >= ? ORDER BY e.id LIMIT 1", (n // 2,)).fetchone()
    return {"uuid": str(uuid.UUID(bytes=u)), "path": path, "album": path.rsplit("/", 1)[0],
            "user_photos": "/data/user3/photos/2019", "content": str(uuid.UUID(bytes=cu))}


def suite(s: dict) -> list[tuple[str, str, dict]]:
    """(label, DSL text, parameters) of every query shape, for the sample values `s`."""
    return [
        ("point (uuid)", "entries where uuid = :u", {"u": s["uuid"]}),
        ("point (path)", "entries where path = :p", {"p": s["path"]}),
        ("indexed count (folder)", "entries in :dir select count() as n", {"dir": s["album"]}),
        ("content lookup", "entries where content_uuid = :c on this device", {"c": s["content"]}),
        ("prefix listing (1k+)", "entries in :dir of kind image", {"dir": s["user_photos"]}),
        ("filter+top-N", "entries of kind image where size > 2MB and modified > 7 days ago "
                         "order by size desc limit 50", {}),
        ("group by ext", "entries group by ext select ext, count() as files, sum(size) as bytes "
                         "order by bytes desc limit 10", {}),
        ("duplicates", "content duplicates order by wasted desc limit 20", {}),
        ("tagged", 'entries tagged "#vacation" of kind image', {}),
        ("model JSON filter", 'models PhotoAnalysis where scene = "beach" and faces >= 3 '
                              'select count() as n', {}),
        ("model JSON group", "models PhotoAnalysis group by scene select scene, count() as n", {}),
    ]


def timed(fn, min_runs: int = 3, max_runs: int = 21, budget: float = 1.0) -> float:
    """Median seconds of fn() after a warm-up; sub-millisecond calls are timed in batches."""
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    batch = max(1, int(0.002 / max(first, 1e-7)))
    runs, start = [], time.perf_counter()
    while len(runs) < max_runs and (len(runs) < min_runs or time.perf_counter() - start < budget):
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        runs.append((time.perf_counter() - t) / batch)
    return statistics.median(runs)


def baselines(lib, native_path: str | None = None) -> tuple:
    """(raw sqlite3, DuckDB scanning the sqlite file, DuckDB on native tables) for `lib`.

    They read a snapshot file: DuckDB's own SQLite must not open the live library.db beside
    Python's (core/query/mirror.py says why); a copy scans at the same speed. The native copy
    lives in memory, or in the DuckDB file `native_path` (built once, then reused) so that a
    library of millions of entries does not need its size in RAM.
    """
    import duckdb
    from core.query.scan import load_sqlite_extension, snapshot
    from vdfs_query.patterns import regexp
    sconn = lib.connect()
    sconn.create_function("vdfs_regexp", 2, regexp, deterministic=True)
    snap = snapshot(str(lib.db_path))
    atexit.register(os.unlink, snap)
    scan = duckdb.connect()
    load_sqlite_extension(scan)
    scan.execute(f"ATTACH '{snap}' AS lib (TYPE sqlite, READ_ONLY)")
    scan.execute("USE lib")
    reuse = native_path is not None and os.path.exists(native_path)
    native = duckdb.connect(native_path or ":memory:")
    if native_path is not None:
        from core.query.mirror_store import memory_limit
        native.execute(f"SET memory_limit = '{memory_limit()}B'")
    if not reuse:
        load_sqlite_extension(native)
        native.execute(f"ATTACH '{snap}' AS src (TYPE sqlite, READ_ONLY)")
        for t in ("devices", "locations", "entries", "content_identities", "user_metadata", "tags",
                  "tag_links", "models"):
            native.execute(f"CREATE TABLE {t} AS SELECT * FROM src.{t}")
        native.execute("DETACH src")
    return sconn, scan, native


def compare(lib, conns: tuple, label: str, text: str, params: dict, budget: float = 1.0) -> tuple:
    """(lib.query's Result, then median seconds of lib.query, raw sqlite3, DuckDB scan and
    DuckDB native) for one query; the four interleaved over two rounds, best of the two."""
    import vdfs_query
    sconn, scan, native = conns
    dev = lib.device_uuid.bytes
    res = lib.query(text, **params)
    csql = vdfs_query.compile(text, "sqlite", params=params, device_uuid=dev)
    cduck = vdfs_query.compile(text, "duckdb", params=params, device_uuid=dev)
    base_s = lambda: sconn.execute(csql.sql, csql.params).fetchall()
    base_scan = lambda: scan.execute(cduck.sql, cduck.params).to_arrow_table()
    base_nat = lambda: native.execute(cduck.sql, cduck.params).to_arrow_table()
    ours = lambda: len(lib.query(text, **params))
    assert len(base_s()) == len(res) == base_nat().num_rows, label
    fns = (ours, base_s, base_scan, base_nat)
    if timed(ours, max_runs=3, budget=0) < 50e-6:     # a lookup: only short batches are fair
        return (res, *interleaved_best(fns[:2], rounds=max(20, int(budget * 200))),
                *(timed(f, budget=budget) for f in fns[2:]))
    rounds = [[timed(f, budget=budget) for f in fns] for _ in range(2)]
    return (res, *(min(r[i] for r in rounds) for i in range(4)))


def interleaved_best(fns, rounds: int = 400, number: int = 200) -> list[float]:
    """Seconds per call of each function: the best of many short batches, taken in turn. A
    microsecond call on a shared machine is mostly preempted in long batches; the fastest
    short batch is its cost, and taking turns gives each function the same machine."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[i] = min(best[i], (time.perf_counter() - t0) / number)
    return best


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--keep", help="build the library in this folder and keep it (reused if there)")
    args = ap.parse_args()
    started = time.perf_counter()
    base = Path(args.keep or tempfile.mkdtemp(prefix="vdfs-qbench-"))
    os.environ.setdefault("VDFS_HOME", str(base / "home"))
    import core
    import vdfs_query
    from vdfs_query import compiler, parser

    if (base / "bench.vdfs" / "library.db").exists():
        lib = core.Library.open(base / "bench.vdfs")
        print(f"reusing {lib.conn.execute('SELECT count(*) FROM entries').fetchone()[0]:,} entries "
              f"in {base}")
    else:
        lib = core.Library.create(base / "bench.vdfs")
        t0 = time.perf_counter()
        info = build(lib, args.entries)
        print(f"built {info['entries']:,} entries, {info['contents']:,} contents, {info['models']:,} "
              f"models in {time.perf_counter() - t0:.1f}s (insert {info['insert_s']:.1f}s incl. "
              f"change-log triggers, indexes {info['index_s']:.1f}s)")
    s = sample_of(lib)
    queries = suite(s)

    # the first aggregate query starts the mirror build (answered by SQLite meanwhile)
    t0 = time.perf_counter()
    first = lib.query("entries group by kind")
    t1 = time.perf_counter()
    lib.engine.mirror                     # wait for the background build
    print(f"first aggregate query {(t1 - t0) * 1e3:.0f} ms via {first.route}; mirror ready after "
          f"{time.perf_counter() - t0:.1f}s")

    conns = baselines(lib)

    dev = lib.device_uuid.bytes
    print("times in ms, medians; ratio = vdfs / best baseline")
    header = (f"{'query':<24}{'route':>7}{'vdfs ms':>10}{'sqlite3':>10}{'duck-scan':>11}"
              f"{'duck-nat':>10}{'best':>9}{'ratio':>7}{'compile µs':>12}")
    print(header)
    print("-" * len(header))
    worst = 0.0
    for label, text, params in queries:
        res, t_ours, t_s, t_scan, t_nat = compare(lib, conns, label, text, params)
        best = min(t_s, t_scan, t_nat)

        def compile_once() -> None:
            parser.parse.cache_clear()
            compiler._ir_of_text.cache_clear()
            compiler._template.cache_clear()
            vdfs_query.compile(text, res.route, params=params, device_uuid=dev)
        t_compile = timed(compile_once, min_runs=20, max_runs=50, budget=0.3)
        ratio = t_ours / best
        worst = max(worst, ratio)
        print(f"{label:<24}{res.route:>7}{_ms(t_ours):>10}{_ms(t_s):>10}{_ms(t_scan):>11}"
              f"{_ms(t_nat):>10}{_ms(best):>9}{ratio:>6.2f}x{t_compile * 1e6:>11.0f}")
    print(f"worst ratio to the best baseline: {worst:.2f}x (target ≤ 1.5x)")

    # freshness: a write then at once a query, on the mirror (second round: warm imports)
    agg = "entries group by ext select ext, count() as files, sum(size) as bytes order by bytes desc limit 10"
    for _ in range(2):
        t_q = timed(lambda: lib.query(agg))
        t0 = time.perf_counter()
        lib.conn.execute("UPDATE entries SET size = size + 1 WHERE path = ?", (s["path"],))
        r = lib.query(agg)
        t_w = time.perf_counter() - t0
    print(f"write + the same aggregate at once: {t_w * 1e3:.1f} ms (the query alone {t_q * 1e3:.1f} ms; "
          f"route {r.route}, sees the write: {r.rows() != []})")
    lib.close()
    print(f"benchmark took {time.perf_counter() - started:.0f}s")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
