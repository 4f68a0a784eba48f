"""Scale benchmark: a library of 10M entries on one machine, measured from fresh processes.

Builds (or reuses with --keep) a library of --entries entries (scale_build.py: rows made by
SQLite in the schema's shape, with paths, content identities, tags and extension models), then
prints:
- build time and the size of library.db;
- the persisted DuckDB mirror's size on disk and how long a fresh process takes to build it,
  then to load it;
- the peak RSS of a fresh process that runs the whole query suite (target ≤ 2 GB);
- open + first point query from a fresh process, in Python and through the `vdfs` CLI (target
  ≤ 150 ms; the CLI figure is the whole process, shown beside `vdfs --version` as its floor);
- each query's time through lib.query beside the best of raw sqlite3 / DuckDB over the sqlite
  file / DuckDB on native tables, measured in this run (target ≤ 1.5×, point lookups ≤ 1.2×).

    .venv/bin/python benchmarks/scale_bench.py [--entries 10000000] [--keep DIR] [--budget S]
        [--only LABEL[,LABEL]]   (only these queries' times: e.g. --only duplicates,tagged)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

POINT_TARGET, QUERY_TARGET, RSS_TARGET = 1.2, 1.5, 2 * 10**9

# Run in a fresh interpreter: "mirror" times the mirror becoming ready (built or loaded);
# "suite" runs every query twice and reports the process's peak RSS.
_CHILD = """
import json, resource, sys, time
import core
from query_bench import suite
mode, path, sample = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
lib = core.Library.open(path)
t0 = time.perf_counter()
lib.engine.mirror
out = {"mirror_s": time.perf_counter() - t0, "mirror_error": lib.engine.mirror_error}
if mode == "suite":
    rows = {}
    for label, text, params in suite(sample):
        for _ in range(2):
            rows[label] = len(lib.query(text, **params))
    out["rows"] = rows
lib.close()
out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


def _env() -> dict:
    """Children as open_bench runs them (bytecode cached, as an install has), with the
    benchmarks importable."""
    from open_bench import child_env
    return {**child_env(), "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")])}


def child(mode: str, path: Path, sample: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(path), json.dumps(sample)],
                         check=True, capture_output=True, text=True, env=_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def wall(argv: list[str], runs: int) -> float:
    """Median wall-clock seconds of a whole process (after one untimed run: bytecode)."""
    times = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=_env())
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=10_000_000)
    ap.add_argument("--keep", help="build the library in this folder and keep it (reused if there)")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds spent timing each variant")
    ap.add_argument("--runs", type=int, default=3, help="fresh processes per open figure")
    ap.add_argument("--only", help="comma-separated query labels (or parts of them): time only "
                    "these queries, skipping the mirror, RSS and open figures")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    base = Path(args.keep or tempfile.mkdtemp(prefix="vdfs-scale-")).absolute()
    base.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VDFS_HOME", str(base / "home"))
    import core
    from open_bench import print_first_query
    from query_bench import _ms, baselines, compare, sample_of, suite
    from scale_build import build_library
    from core.query.mirror_store import MIRROR_FILE, memory_limit

    path = base / "scale.vdfs"
    if (path / "library.db").exists():
        print(f"build: reused {path}")
    else:
        info = build_library(path, args.entries)
        print(f"build: {info['rows_s'] + info['index_s']:.1f} s ({info['entries']:,} entries, "
              f"{info['content_identities']:,} contents, {info['models']:,} models, "
              f"{info['tag_links']:,} tag links; rows {info['rows_s']:.1f} s, indexes "
              f"{info['index_s']:.1f} s)")
    lib = core.Library.open(path)
    n = lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    s = sample_of(lib)
    lib.close()
    print(f"library.db: {_mib((path / 'library.db').stat().st_size)} for {n:,} entries")
    if args.only:
        return query_table(path, base, s, args, started)

    mirror_file = path / MIRROR_FILE
    how = "loaded" if mirror_file.exists() else "built"
    built = child("mirror", path, s)
    loaded = child("mirror", path, s)
    on_disk = mirror_file.stat().st_size if mirror_file.exists() else 0
    print(f"mirror on disk: {_mib(on_disk)} (fresh process: ready in {built['mirror_s']:.2f} s "
          f"{how}, then {loaded['mirror_s']:.2f} s loaded; memory limit "
          f"{_mib(memory_limit())}{'; ' + built['mirror_error'] if built['mirror_error'] else ''})")

    ran = child("suite", path, s)
    print(f"peak RSS of a fresh process running the query suite: {_mib(ran['rss'])} "
          f"(target ≤ {_mib(RSS_TARGET)}: {'met' if ran['rss'] <= RSS_TARGET else 'MISSED'})")

    for new_text in (False, True):      # open + first point query, fresh Python processes
        print_first_query(path, s["uuid"], args.runs, new_text)
    cli = [sys.executable, "-m", "core.cli"]
    t_cli = wall(cli + ["-L", str(path), "query", "entries where uuid = :u", "-p", f"u={s['uuid']}",
                        "-f", "json"], args.runs) * 1e3
    t_floor = wall(cli + ["--version"], args.runs) * 1e3
    print(f"open + first point query, fresh `vdfs query` process: {t_cli:.0f} ms wall "
          f"(`vdfs --version` {t_floor:.0f} ms; the difference {t_cli - t_floor:.0f} ms)")

    return query_table(path, base, s, args, started)


def query_table(path: Path, base: Path, s: dict, args: argparse.Namespace, started: float) -> int:
    """Each query's time through lib.query beside the best baseline, measured in this run
    (only the queries --only names, when it is given)."""
    import core
    from query_bench import _ms, baselines, compare, suite
    queries = [q for q in suite(s) if _chosen(q[0], args.only)]
    if not queries:
        print(f"no query of the suite matches --only {args.only!r}")
        return 2
    lib = core.Library.open(path)
    lib.engine.mirror
    conns = baselines(lib, native_path=str(base / "native.duckdb"))
    print("times in ms, medians; ratio = vdfs / best of sqlite3, duck-scan, duck-native")
    header = (f"{'query':<24}{'route':>7}{'vdfs':>10}{'sqlite3':>10}{'duck-scan':>11}"
              f"{'duck-nat':>10}{'ratio':>8}{'target':>8}")
    print(header)
    print("-" * len(header))
    worst = {}
    for label, text, params in queries:
        res, t_ours, t_s, t_scan, t_nat = compare(lib, conns, label, text, params, args.budget)
        target = POINT_TARGET if label.startswith("point") else QUERY_TARGET
        ratio = t_ours / min(t_s, t_scan, t_nat)
        worst[label] = (ratio, target)
        print(f"{label:<24}{res.route:>7}{_ms(t_ours):>10}{_ms(t_s):>10}{_ms(t_scan):>11}"
              f"{_ms(t_nat):>10}{ratio:>7.2f}x{target:>7.1f}x")
    lib.close()
    missed = [label for label, (r, t) in worst.items() if r > t]
    print(f"worst ratio: {max(r for r, _ in worst.values()):.2f}x; over target: "
          f"{', '.join(missed) if missed else 'none'}")
    print(f"benchmark took {time.perf_counter() - started:.0f} s")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


def _chosen(label: str, only: str | None) -> bool:
    """Whether --only selects the query `label` (every query when it is not given)."""
    return not only or any(part.strip() and part.strip().lower() in label.lower()
                           for part in only.split(","))


if __name__ == "__main__":
    sys.exit(main())
