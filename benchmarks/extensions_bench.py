"""Extension scope benchmark: what permission scoping costs a query and a host-API check.

    python benchmarks/extensions_bench.py [--files N] [--repeat N]

Builds a tree of N files (half *.jpg under photos/, the rest elsewhere), indexes it, installs a
test extension granted `ReadEntries("**/*.jpg")` scoped to photos/, and prints medians of:
  - `lib.query("entries")` (unscoped baseline) vs the extension's `api.query("entries")`, whose
    scope is compiled into SQL as regex filters;
  - an unscoped count vs the scoped `query_entries().count()`;
  - GrantSet.check_read_entry per path (Python) vs a bare `re.fullmatch` of the glob.
Ratios are against baselines measured in the same run. Never run by CI.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core  # noqa: E402
from core.extensions import Permission  # noqa: E402
from core.extensions.definition import extension  # noqa: E402
from core.access.globs import compile_glob  # noqa: E402
from core.extensions.manager import ExtensionManager  # noqa: E402


@extension(id="com.bench.scope", name="Bench", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*.jpg")])
class Bench:
    pass


def median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        for i in range(args.files):
            sub = root / ("photos" if i % 2 == 0 else "docs") / f"d{i % 50}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"f{i}.{'jpg' if i % 4 in (0, 1) else 'txt'}").write_bytes(b"x%d" % i)
        lib = core.Library.create(Path(tmp) / "bench.vdfs")
        lib.index(lib.add_location(root)).wait()
        mgr = lib.extensions
        ctx = mgr.install(Bench, [Permission.ReadEntries(glob="**/*.jpg").scoped_to(str(root / "photos"))])
        api = ctx.vdfs()
        lib.query("entries").rows()            # warm the engine (mirror) once
        n_all = len(lib.query("entries").rows())
        n_scoped = len(api.query("entries").rows())
        base = median_s(lambda: lib.query("entries").rows(), args.repeat)
        scoped = median_s(lambda: api.query("entries").rows(), args.repeat)
        cbase = median_s(lambda: lib.vdfs().query_entries().count(), args.repeat)
        cscoped = median_s(lambda: api.query_entries().count(), args.repeat)
        paths = [r[0] for r in lib.conn.execute("SELECT path FROM entries")]
        rx = compile_glob("**/*.jpg")
        rel = [p[len(str(root)) + 1:] for p in paths]
        bare = median_s(lambda: [rx.fullmatch(p) for p in rel], args.repeat)
        gs = ctx.grants
        checked = median_s(lambda: [gs.entry_allowed(p, str(root)) for p in paths], args.repeat)
        print(f"entries: {n_all} in library, {n_scoped} visible to the extension")
        print(f"rows:  unscoped {base * 1e3:8.1f} ms   scoped {scoped * 1e3:8.1f} ms   "
              f"ratio {scoped / base:.2f}x")
        print(f"count: unscoped {cbase * 1e3:8.1f} ms   scoped {cscoped * 1e3:8.1f} ms   "
              f"ratio {cscoped / cbase:.2f}x")
        print(f"check: bare regex {bare / len(paths) * 1e6:6.2f} us/path   GrantSet "
              f"{checked / len(paths) * 1e6:6.2f} us/path   ratio {checked / bare:.2f}x")
        mgr.close()
        lib.close()


if __name__ == "__main__":
    main()
