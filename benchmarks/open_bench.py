"""Open and point-query benchmark: what a fresh CLI process pays before its first answer.

Builds a library (the query benchmark's generator) or takes one (--library), then:
- in --runs fresh processes each, the medians of import / open / first point query, beside a
  fresh process doing the same lookup in raw sqlite3 (import, connect, the same SQL), both
  measured in this run, with the ratio (the issue's target: open + first query ≤ 150 ms, at
  any library size); once with the text of the run before (`vdfs query -p` repeated: the
  parsed tree comes from the cache) and once with a text never parsed (Lark runs). Children run with bytecode cached in a temporary folder, as an installed
  package does, and one untimed run of each goes first (bytecode, the parser cache, the OS
  page cache);
- in two fresh processes, the time until the DuckDB mirror is ready (a build, then loaded from
  disk when persisted);
- in this process, point lookups through `lib.query` beside the same SQL prepared in raw sqlite3.

    .venv/bin/python benchmarks/open_bench.py [--entries 200000] [--keep DIR | --library PATH]
                                              [--runs 9] [--fresh-only]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPEN_TARGET_MS = 150.0          # the target for open + first point query
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

_FRESH = """
import json, sys, time
t0 = time.perf_counter()
import core
t1 = time.perf_counter()
lib = core.Library.open(sys.argv[1])
t2 = time.perf_counter()
n = len(lib.query(sys.argv[3], u=sys.argv[2]))
t3 = time.perf_counter()
if sys.argv[4:] == ["mirror"]:
    lib.engine.mirror
t4 = time.perf_counter()
lib.close()
print(json.dumps({"import": t1 - t0, "open": t2 - t1, "point": t3 - t2, "mirror": t4 - t3,
                  "rows": n}))
"""

# The floor: the same lookup by a fresh process that only has sqlite3.
_RAW = """
import json, sys, time
t0 = time.perf_counter()
import sqlite3
t1 = time.perf_counter()
conn = sqlite3.connect(sys.argv[1])
t2 = time.perf_counter()
params = [bytes.fromhex(p["hex"]) if isinstance(p, dict) else p for p in json.loads(sys.argv[3])]
n = len(conn.execute(sys.argv[2], params).fetchall())
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "open": t2 - t1, "point": t3 - t2, "rows": n}))
"""


def child_env() -> dict:
    """Children import our code with bytecode cached (in a temporary folder, not the checkout),
    as an installed package does: a checkout run with PYTHONDONTWRITEBYTECODE would time the
    compiler instead."""
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PYTHONPYCACHEPREFIX": os.path.join(tempfile.gettempdir(), "vdfs-obench-pyc")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _cpu_of_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(code: str, *args: str) -> dict:
    """One child's own figures, its wall time and its CPU time (user + system: on a shared
    machine the steadier of the two)."""
    t0, c0 = time.perf_counter(), _cpu_of_children()
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True, env=child_env())
    wall, cpu = time.perf_counter() - t0, _cpu_of_children() - c0
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "wall": wall, "cpu": cpu}


POINT = "entries where uuid = :u"


def fresh(path: Path, uuid_text: str, mirror: bool = True, text: str = POINT) -> dict:
    """One fresh process: import core, open, the first point query (then the mirror)."""
    return _run(_FRESH, str(path), uuid_text, text, *(["mirror"] if mirror else []))


def first_query(path: Path, uuid_text: str, runs: int, new_text: bool) -> tuple[dict, dict]:
    """Medians (seconds) over `runs` fresh processes of vdfs and of raw sqlite3 doing the same
    lookup, taken in turn so both see the same machine; one untimed run of each first.
    `new_text`: each vdfs process gets a text no process parsed before (a comment makes it
    new), so none is answered from the cache of parsed texts."""
    import vdfs_query
    compiled = vdfs_query.compile(POINT, "sqlite",
                                  params={"u": uuid_text})
    params = json.dumps([{"hex": p.hex()} if isinstance(p, bytes) else p
                         for p in compiled.params])
    ours, raw = [], []
    for i in range(runs + 1):
        text = f"{POINT} -- {time.time_ns()}" if new_text else POINT
        a = fresh(path, uuid_text, mirror=False, text=text)
        b = _run(_RAW, str(path / "library.db"), compiled.sql, params)
        if i:
            ours.append(a)
            raw.append(b)
    med = lambda rs: {k: statistics.median(r[k] for r in rs)
                      for k in ("import", "open", "point", "wall", "cpu")} | {"rows": rs[0]["rows"]}
    both = lambda rs: statistics.median(r["open"] + r["point"] for r in rs)
    return med(ours) | {"open+point": both(ours)}, med(raw) | {"open+point": both(raw)}


def print_first_query(path: Path, uuid_text: str, runs: int, new_text: bool) -> None:
    ours, raw = first_query(path, uuid_text, runs, new_text)
    what = "a text never parsed before" if new_text else "the same text as the run before"
    print(f"fresh process, {what}; medians of {runs} runs, ms:")
    print(f"  {'':<12}{'import':>8}{'open':>8}{'query':>8}{'open+query':>12}"
          f"{'process wall':>14}{'process cpu':>13}")
    for label, r in (("vdfs", ours), ("raw sqlite3", raw)):
        print(f"  {label:<12}" + "".join(f"{r[k] * 1e3:{w}.1f}" for k, w in (
            ("import", 8), ("open", 8), ("point", 8), ("open+point", 12), ("wall", 14),
            ("cpu", 13))))
    print(f"  ratio vdfs / raw sqlite3: open+query {ours['open+point'] / raw['open+point']:.0f}x, "
          f"process wall {ours['wall'] / raw['wall']:.2f}x (+{(ours['wall'] - raw['wall']) * 1e3:.0f}"
          f" ms), process cpu {ours['cpu'] / raw['cpu']:.2f}x; target open+query ≤ "
          f"{OPEN_TARGET_MS:.0f} ms: {'met' if ours['open+point'] * 1e3 <= OPEN_TARGET_MS else 'MISSED'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--keep", help="build the library in this folder and keep it (reused if there)")
    ap.add_argument("--library", help="measure this existing library (scale_build.py's, say)")
    ap.add_argument("--runs", type=int, default=9, help="fresh processes per first-query figure")
    ap.add_argument("--fresh-only", action="store_true",
                    help="only the fresh-process figures (no mirror, no in-process lookups)")
    args = ap.parse_args()
    base = Path(args.keep or tempfile.mkdtemp(prefix="vdfs-obench-"))
    os.environ.setdefault("VDFS_HOME", str(base / "home"))
    import core
    from query_bench import build, interleaved_best, sample_of

    path = Path(args.library).absolute() if args.library else base / "bench.vdfs"
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
    for new_text in (False, True):
        print_first_query(path, s["uuid"], args.runs, new_text)
    if args.fresh_only:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        return 0
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
