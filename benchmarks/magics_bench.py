"""Magics benchmark: what the notebook skin adds on top of the calls it wraps.

    python benchmarks/magics_bench.py [--files N] [--repeat R]

Figures (medians of R runs, same library, same process):
- `%vdfs <query>` vs `lib.query(text)` for a point lookup and an aggregate: the magic's
  overhead (argument parsing, :name binding, error guard) as a ratio;
- HTML rendering of a 50-row display vs the query itself;
- Tab completion of a field, a kind and a tag name (with T tags in the library): ms per Tab.
Never run by CI.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--tags", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=30)
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="vdfs-magics-bench-"))
    os.environ["VDFS_HOME"] = str(work / "home")
    data = work / "data"
    for i in range(a.files):
        d = data / f"d{i % 20:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.txt").write_text("x" * (i % 997))

    from IPython.core.completer import provisionalcompleter
    from IPython.testing.globalipapp import start_ipython
    ip = start_ipython()
    ip.run_line_magic("load_ext", "kernel_ext")
    import kernel_ext
    from kernel_ext.formatters import result_html
    ip.user_ns.update(libdir=str(work / "b.vdfs"), data=str(data), name="f00042.txt")
    ip.run_line_magic("vdfs", "open :libdir --create")
    ip.run_line_magic("vdfs", "index :data --wait")
    lib = kernel_ext.library()
    api = lib.vdfs()
    first = [uuid.UUID(bytes=r[0]) for r in lib.conn.execute("SELECT uuid FROM entries LIMIT 50")]
    for i in range(a.tags):
        api.add_tag_to_entry(first[i % len(first)], f"#tag{i:04d}")

    point = "entries where name = :name select name, size"
    agg = "entries select kind, count() as n, sum(size) as bytes group by kind"
    rows = []
    for label, text in (("point lookup", point), ("aggregate", agg)):
        lib.query(text, name="f00042.txt")          # warm (mirror built, plans cached)
        direct = median_ms(lambda: lib.query(text, name="f00042.txt"), a.repeat)
        magic = median_ms(lambda: ip.run_line_magic("vdfs", text), a.repeat)
        rows.append((f"%vdfs {label}", magic, direct))
    res = lib.query("entries select name, size, modified limit 50")
    q = median_ms(lambda: lib.query("entries select name, size, modified limit 50"), a.repeat)
    h = median_ms(lambda: result_html(res), a.repeat)
    rows.append(("HTML of 50 rows (vs the query)", h, q))

    def tab(text: str):
        with provisionalcompleter():
            return list(ip.Completer.completions(text, len(text)))
    for label, text in (("field", "%vdfs entries where si"), ("kind", "%vdfs entries of kind im"),
                        (f"tag ({a.tags} tags)", "%vdfs entries tagged tag01")):
        assert tab(text), label
        rows.append((f"Tab completion: {label}", median_ms(lambda: tab(text), a.repeat), None))

    print(f"{a.files} files, median of {a.repeat} runs")
    for label, ms, base in rows:
        ratio = f"  x{ms / base:.2f} of {base:.2f} ms" if base else ""
        print(f"  {label:36s} {ms:8.2f} ms{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
