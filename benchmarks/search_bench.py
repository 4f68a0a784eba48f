"""Search benchmark: substring search over 1M entry names, against a scan and against plocate.

Builds a library of N entries (default 1,000,000; names made of words, numbers and
extensions, in a folder tree) by inserting rows straight into library.db, as query_bench.py
does, then reports:

- index build: the bulk insert without the name index's trigger, the FTS5 'rebuild' of the
  trigram index over it (what the search migration does to an existing library), the cost per row the
  trigger adds to an insert (one committed batch of 50,000 rows, the indexer's batch, removed
  again), and the index's size on disk beside library.db's;
- latency (median and p95 of interleaved runs) of substring searches of 3+ characters of
  various selectivity, through the engine (`files where matches :q limit 100`, and the ranked
  `search :q limit 50` with snippets) and straight through SQLite's FTS5, against the glob scan
  `files where name ~ "*q*" limit 100` (as the engine routes it) and a plain SQLite `instr`
  scan, and against `plocate -i -l 100 q` over the same paths (a separate process per query, so
  its figure includes process start; `true`'s start is printed beside it).

plocate is the Debian package `plocate` (`apt-get install plocate`); without it that column is
left out. Benchmarks are not run by CI (`make bench`).

    .venv/bin/python benchmarks/search_bench.py [--entries 1000000] [--runs 15] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SYLLABLES = ["ka", "lo", "mi", "ren", "tas", "vo", "qu", "ber", "dan", "el", "fi", "gor", "hu",
             "is", "jo", "ny", "pa", "ro", "sel", "tur", "ux", "wy", "zen", "or", "an"]
EXTS = ["jpg", "jpg", "png", "pdf", "docx", "txt", "md", "mp4", "mp3", "zip", "py"]
# planted words: (word, share of names that carry it) — known selectivity for the queries
PLANTED = [("invoice", 0.0002), ("holiday", 0.002), ("report", 0.02)]
TERMS = ["invoice", "nvoic", "holiday", "olida", "report", "epor", "zenqu", "kalo", "2019"]


_INSERT_TRIGGER = ("CREATE TRIGGER entries_fts_ins AFTER INSERT ON entries BEGIN "
                   "INSERT INTO entries_fts (rowid, name, path) VALUES (NEW.id, NEW.name, NEW.path); END")


def words(rnd: random.Random, n: int) -> list[str]:
    return ["".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 4))) for _ in range(n)]


def build(lib, n: int, seed: int = 19) -> dict:
    """Insert n entries (files in a user/category/year/album tree) with the name index's insert
    trigger off, then rebuild the index; returns the timings and sizes."""
    rnd = random.Random(seed)
    vocab = words(rnd, 5000)
    conn = lib.conn
    now_iso = "2026-01-01T00:00:00.000000Z"
    conn.execute("INSERT INTO locations (uuid, device_id, path, name, created_at) "
                 "VALUES (?, ?, '/data', 'data', ?)", (uuid.uuid4().bytes, lib.device_id, now_iso))
    loc = conn.execute("SELECT id FROM locations").fetchone()[0]
    rows, next_id = [], 1

    def add(path: str, parent: int | None, is_dir: int, ext: str | None) -> int:
        nonlocal next_id
        eid, next_id = next_id, next_id + 1
        name = path.rsplit("/", 1)[-1] or "/"
        rows.append((eid, uuid.uuid4().bytes, loc, parent, path, name, ext,
                     "directory" if is_dir else "other", is_dir, eid, now_iso))
        return eid

    root = add("/data", None, 1, None)
    per_dir = 200
    folders = max(1, n // per_dir)
    for f in range(folders):
        year = 2015 + f % 10
        dpath = f"/data/user{f % 10}/{rnd.choice(vocab)}/{year}/album{f:05d}"
        did = add(dpath, root, 1, None)
        for _ in range(per_dir):
            parts = [rnd.choice(vocab) for _ in range(rnd.randint(1, 3))]
            for word, share in PLANTED:
                if rnd.random() < share:
                    parts.insert(rnd.randint(0, len(parts)), word.capitalize()
                                 if rnd.random() < 0.5 else word)
            ext = rnd.choice(EXTS)
            name = "_".join(parts) + f"-{rnd.randint(0, 9999):04d}.{ext}"
            add(f"{dpath}/{name}", did, 0, ext)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute("DROP TRIGGER entries_fts_ins")
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO entries (id, uuid, location_id, parent_id, path, name, ext, kind, "
                     "is_dir, inode, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    insert_s = time.perf_counter() - t0
    before = conn.execute("PRAGMA page_count").fetchone()[0]
    t0 = time.perf_counter()
    conn.execute("INSERT INTO entries_fts (entries_fts) VALUES ('rebuild')")
    rebuild_s = time.perf_counter() - t0
    after = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(_INSERT_TRIGGER)
    # what the trigger adds to an insert: one indexer batch (50,000 rows, committed) with and
    # without it, each removed again afterwards (with its index rows, or without)
    batch = min(50_000, len(rows) - 1)
    extra = [(next_id + i, uuid.uuid4().bytes, loc, root, f"/data/extra/{i}/{r[5]}", r[5], r[6],
              "other", 0, next_id + i, now_iso) for i, r in enumerate(rows[1:batch + 1])]
    per_row = {}
    for with_trigger in (True, False):
        if not with_trigger:
            conn.execute("DROP TRIGGER entries_fts_ins")
            conn.execute("DROP TRIGGER entries_fts_del")
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO entries (id, uuid, location_id, parent_id, path, name, ext, "
                         "kind, is_dir, inode, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", extra)
        conn.execute("COMMIT")
        per_row[with_trigger] = (time.perf_counter() - t0) / len(extra)
        conn.execute("DELETE FROM entries WHERE id >= ?", (next_id,))
    conn.execute(_INSERT_TRIGGER)
    conn.execute("CREATE TRIGGER entries_fts_del AFTER DELETE ON entries BEGIN "
                 "INSERT INTO entries_fts (entries_fts, rowid, name, path) "
                 "VALUES ('delete', OLD.id, OLD.name, OLD.path); END")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"rows": len(rows), "insert_s": insert_s, "rebuild_s": rebuild_s,
            "index_bytes": (after - before) * page, "paths": [r[4] for r in rows],
            "trigger_us": (per_row[True] - per_row[False]) * 1e6,
            "insert_us": per_row[False] * 1e6}


def timed_runs(fn, runs: int) -> list[float]:
    fn()                                        # warm: caches, compiled templates
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def ms(x: float) -> str:
    return f"{x * 1000:8.2f}"


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--keep", metavar="DIR", help="build the library in DIR and keep it")
    args = ap.parse_args()
    import core
    home = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="vdfs-search-bench-"))
    os.environ.setdefault("VDFS_HOME", str(home / "home"))
    lib = core.Library.create(home / "bench.vdfs")
    try:
        t0 = time.perf_counter()
        info = build(lib, args.entries)
        db = Path(lib.db_path)
        print(f"library: {info['rows']:,} entries, built in {time.perf_counter() - t0:.1f} s "
              f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: a shared machine)")
        print(f"bulk insert without the index trigger: {info['insert_s']:.1f} s; "
              f"FTS5 trigram rebuild (names + paths): {info['rebuild_s']:.1f} s")
        print(f"a 50,000-row batch, per row: {info['insert_us']:.1f} µs, + {info['trigger_us']:.1f}"
              f" µs for the index trigger")
        print(f"index size: {info['index_bytes'] / 1e6:.0f} MB; library.db "
              f"{db.stat().st_size / 1e6:.0f} MB in all")

        plocate = shutil.which("plocate")
        build_tool = shutil.which("plocate-build") or "/usr/sbin/plocate-build"
        pdb = home / "paths.plocate"
        if plocate and os.path.exists(build_tool):
            (home / "paths.txt").write_text("\n".join(info["paths"]) + "\n", encoding="utf-8")
            t0 = time.perf_counter()
            subprocess.run([build_tool, "--plaintext", "-l", "no", str(home / "paths.txt"),
                            str(pdb)], check=True)
            print(f"plocate-build: {time.perf_counter() - t0:.1f} s, "
                  f"{pdb.stat().st_size / 1e6:.0f} MB")
        else:
            plocate = None
            print("plocate: not installed (apt-get install plocate); column left out")

        eng, sconn = lib.engine, lib.engine._sconn
        t0 = time.perf_counter()
        eng.mirror                               # the glob scan is routed to the mirror
        print(f"DuckDB mirror built in {time.perf_counter() - t0:.1f} s")
        cols = ["matches", "search", "fts raw", "glob ~", "instr", "plocate"]
        print(f"\n{'term':10} {'hits':>8}  " + "  ".join(f"{c:>8}" for c in cols)
              + "   (median ms)")
        allruns: dict[str, list[float]] = {c: [] for c in cols}
        start = time.perf_counter()
        sub = [plocate, "-d", str(pdb), "-i", "-l", "100"] if plocate else None
        for term in TERMS:
            hits = sconn.execute("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH ?",
                                 (f'"{term}"',)).fetchone()[0]
            fns = {
                "matches": lambda: lib.query("files where matches :q limit 100", q=term).rows(),
                "search": lambda: lib.query("search :q limit 50", q=term).rows(),
                "fts raw": lambda: sconn.execute(
                    "SELECT rowid FROM entries_fts WHERE entries_fts MATCH ? LIMIT 100",
                    (f'"{term}"',)).fetchall(),
                "glob ~": lambda: lib.query("files where name ~ :g limit 100",
                                            g=f"*{term}*").rows(),
                "instr": lambda: sconn.execute(
                    "SELECT id FROM entries WHERE instr(lower(name), ?) > 0 LIMIT 100",
                    (term.lower(),)).fetchall(),
            }
            if sub:
                fns["plocate"] = lambda: subprocess.run(sub + [term], stdout=subprocess.DEVNULL,
                                                        check=False)
            med = {}
            for c, fn in fns.items():
                runs = timed_runs(fn, args.runs)
                allruns[c] += runs
                med[c] = statistics.median(runs)
            print(f"{term:10} {hits:8,}  " + "  ".join(ms(med[c]) if c in med else f"{'-':>8}"
                                                         for c in cols))
        print(f"\n{'all terms':19}  " + "  ".join(
            ms(statistics.median(allruns[c])) if allruns[c] else f"{'-':>8}" for c in cols)
            + "   median")
        print(f"{'':19}  " + "  ".join(ms(p95(allruns[c])) if allruns[c] else f"{'-':>8}"
                                       for c in cols) + "   p95")
        if sub:
            t = timed_runs(lambda: subprocess.run(["true"]), args.runs)
            print(f"(a process start, `true`: {ms(statistics.median(t)).strip()} ms median)")
        print(f"timed in {time.perf_counter() - start:.0f} s")
    finally:
        lib.close()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
