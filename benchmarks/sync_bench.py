"""Sync benchmark: initial sync of an indexed library, and a one-change incremental sync.

    python benchmarks/sync_bench.py [--files N] [--tags N]

Builds a tree of N small files on device "desk", indexes it and tags N/10 (default --tags)
contents with N/100 distinct tag names, then prints:
  - initial sync: export of every record (scan + encode), the bundle's bytes beside
    library.db's, and its import into a new library on device "laptop" (joins the library);
  - the scan (it compares the tables with the records held to find local changes): of every
    table, as after an index, and with nothing written since;
  - incremental: one tag added on desk, exported for laptop, imported there (latency).
Never run by CI.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core  # noqa: E402


def device(root: Path, name: str) -> core.Library:
    os.environ["VDFS_HOME"] = str(root / f"{name}-home")
    os.environ["VDFS_DEVICE_NAME"] = name
    return core.Library.create(root / f"{name}.vdfs")


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--tags", type=int, default=None, help="tag links (default files/10)")
    args = ap.parse_args()
    links = args.files // 10 if args.tags is None else args.tags
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tree = root / "tree"
        for i in range(args.files):
            sub = tree / f"d{i % 100}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"f{i}.txt").write_bytes(b"file %d" % i)
        desk = device(root, "desk")
        desk.index(desk.add_location(tree)).wait()
        contents = [r[0] for r in desk.conn.execute(
            "SELECT uuid FROM content_identities ORDER BY id LIMIT ?", (links,))]
        api = desk.vdfs()
        with api.batch():
            for i, cu in enumerate(contents):
                api.add_tag_to_content(cu, f"#tag{i % max(1, args.files // 100)}")
        db_bytes = (root / "desk.vdfs" / "library.db").stat().st_size
        bundle = root / "initial.vdfsbundle"
        size, t_export = timed(lambda: desk.sync.export(bundle))
        laptop = device(root, "laptop")
        result, t_import = timed(lambda: laptop.sync.import_(bundle, join=True))
        print(f"initial sync: {args.files} entries, {len(contents)} tag links, "
              f"{result.received} records")
        print(f"  export {t_export:.2f} s, bundle {size / 1e6:.2f} MB "
              f"(library.db {db_bytes / 1e6:.2f} MB), import {t_import:.2f} s")
        back = root / "back.vdfsbundle"
        laptop.sync.export(back, peer="desk")
        desk.sync.import_(back)
        desk.conn.execute("INSERT OR IGNORE INTO sync_dirty (part) VALUES ('shared'), ('owned')")
        _, t_full = timed(desk.sync.scan)           # as after an index: every table re-read
        _, t_clean = timed(desk.sync.scan)
        print(f"  scan of every table (as after an index): {t_full * 1000:.0f} ms; "
              f"with nothing written since: {t_clean * 1000:.1f} ms")
        api.add_tag_to_content(contents[0], "#one-more")
        one = root / "one.vdfsbundle"

        def incremental() -> int:
            n = desk.sync.export(one, peer="laptop")
            laptop.sync.import_(one)
            return n
        n, t_inc = timed(incremental)
        assert laptop.query('entries tagged "#one-more"').rows()
        print(f"incremental 1-change sync: {t_inc * 1000:.0f} ms, bundle {n} bytes")
        desk.close()
        laptop.close()


if __name__ == "__main__":
    main()
