"""Open and point-query benchmark: what a fresh CLI process pays before its first answer.

Builds a library (the query benchmark's generator), then in fresh processes times
`Library.open`, the first point query after it, and the time until the DuckDB mirror is ready
(first process: a build; second: loaded from disk when persisted). In this process it times
point lookups through `lib.query` beside the same SQL prepared in raw sqlite3.

    .venv/bin/python benchmarks/open_bench.py [--entries 200000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

_FRESH = """
import json, sys, time
t0 = time.perf_counter()
import core
t1 = time.perf_counter()
lib = core.Library.open(sys.argv[1])
t2 = time.perf_counter()
n = len(lib.query("entries where uuid = :u", u=sys.argv[2]))
t3 = time.perf_counter()
lib.engine.mirror
t4 = time.perf_counter()
lib.close()
print(json.dumps({"import": t1 - t0, "open": t2 - t1, "point": t3 - t2, "mirror": t4 - t3,
                  "rows": n}))
"""


def fresh(path: Path, uuid_text: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _FRESH, str(path), uuid_text], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--keep", help="build the library in this folder and keep it (reused if there)")
    args = ap.parse_args()
    base = Path(args.keep or tempfile.mkdtemp(prefix="vdfs-obench-"))
    os.environ.setdefault("VDFS_HOME", str(base / "home"))
    import core
    from query_bench import build, interleaved_best, sample_of

    path = base / "bench.vdfs"
    if not (path / "library.db").exists():
        lib = core.Library.create(path)
        build(lib, args.entries)
        lib.close()
    lib = core.Library.open(path)
    s = sample_of(lib)
    n = lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    lib.close()
    size = (path / "library.db").stat().st_size
    print(f"{n:,} entries, library.db {size / 2**20:.0f} MiB")
    for label in ("fresh process 1", "fresh process 2"):
        r = fresh(path, s["uuid"])
        print(f"{label}: open {r['open'] * 1e3:.1f} ms, first point query {r['point'] * 1e3:.1f} ms"
              f" (imports {r['import'] * 1e3:.0f} ms), mirror ready {r['mirror']:.2f} s")

    import sqlite3

    import vdfs_query
    lib = core.Library.open(path)
    raw = sqlite3.connect(path / "library.db")
    print("point lookups, best µs of interleaved short batches (raw sqlite3: the same SQL, prepared and cached; general: "
          "the engine's path for other repeated SQLite queries, with a deadline):")
    for label, text, params in (("uuid", "entries where uuid = :u", {"u": s["uuid"]}),
                                ("path", "entries where path = :p", {"p": s["path"]})):
        compiled = vdfs_query.compile(text, "sqlite", params=params,
                                      device_uuid=lib.device_uuid.bytes)
        fns = (lambda: len(lib.query(text, **params)),
               lambda: len(lib.engine.run(text, params, timeout=30.0)),
               lambda: len(raw.execute(compiled.sql, compiled.params).fetchall()))
        for fn in fns:              # warm all three alike: the first timed in a process runs cold
            for _ in range(5000):
                fn()
        ours, general, base_t = interleaved_best(fns)
        print(f"  {label:<5} vdfs {ours * 1e6:7.2f}   general {general * 1e6:7.2f}   "
              f"raw sqlite3 {base_t * 1e6:7.2f}   ratio {ours / base_t:.2f}x "
              f"(general {general / base_t:.2f}x)")
    lib.close()
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
