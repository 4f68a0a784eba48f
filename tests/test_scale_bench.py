"""The scale benchmark at a tiny size: its generated library is one the real code opens and
answers, and its report carries every figure issue 16 asks for (build time, library.db and
mirror sizes, peak RSS, fresh-process open + point query in Python and through the CLI, and a
ratio per query). The benchmark itself is never run by CI at full size."""
from __future__ import annotations

import re
import subprocess
import sys

import core

from conftest import REPO

ENTRIES = 2000


def test_scale_bench_report_and_library(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scale_bench.py"), "--entries", str(ENTRIES),
         "--keep", str(tmp_path), "--budget", "0.01", "--runs", "1"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = out.stdout
    assert re.search(r"^build: [\d.]+ s \(2,000 entries, [\d,]+ contents, [\d,]+ models, [\d,]+ tag links",
                     report, re.M), report
    assert re.search(r"^library\.db: [\d,]+ MiB for 2,000 entries", report, re.M)
    assert re.search(r"^mirror on disk: [\d,]+ MiB \(fresh process: ready in [\d.]+ s built, then",
                     report, re.M)
    assert re.search(r"^peak RSS of a fresh process running the query suite: [\d,]+ MiB", report, re.M)
    for which in ("the same text as the run before", "a text never parsed before"):
        assert re.search(rf"^fresh process, {which}; medians of 1 runs, ms:\n.*\n"
                         r"  vdfs +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ .*\n"
                         r"  raw sqlite3 .*\n"
                         r"  ratio vdfs / raw sqlite3: open\+query \d+x, .*target open\+query "
                         r"≤ 150 ms: (met|MISSED)$", report, re.M), (which, report)
    assert re.search(r"^open \+ first point query, fresh `vdfs query` process: \d+ ms wall", report, re.M)
    labels = ("point (uuid)", "point (path)", "indexed count (folder)", "content lookup",
              "duplicates", "tagged", "model JSON filter", "model JSON group", "group by ext")
    for label in labels:
        assert re.search(rf"^{re.escape(label)} +(sqlite|duckdb) .* [\d.]+x +1\.[25]x$", report,
                         re.M), (label, report)
    assert (tmp_path / "scale.vdfs" / "mirror.duckdb").is_file()

    lib = core.Library.open(tmp_path / "scale.vdfs")
    try:
        assert lib.query("entries select count() as n").scalar() == ENTRIES
        row = lib.conn.execute("SELECT path, content_id FROM entries WHERE is_dir = 0 "
                               "ORDER BY id LIMIT 1").fetchone()
        hit = lib.query("entries where path = :p", p=row[0]).rows()
        assert [r["path"] for r in hit] == [row[0]] and hit[0]["content_uuid"]
        # every file has its content, every folder its aggregate size of the files below
        assert lib.conn.execute("SELECT count(*) FROM entries e LEFT JOIN content_identities c "
                                "ON c.id = e.content_id WHERE e.is_dir = 0 AND c.id IS NULL"
                                ).fetchone()[0] == 0
        top = lib.query('entries where path = "/data"').rows()[0]
        assert top["size"] == lib.conn.execute(
            "SELECT sum(size) FROM entries WHERE is_dir = 0").fetchone()[0]
        assert lib.query("models PhotoAnalysis select count() as n").scalar() > 0
        assert lib.query("models Person select count() as n").scalar() == 1000
        assert len(lib.query('entries tagged "#vacation"')) > 0
        assert len(lib.query("content duplicates")) > 0
    finally:
        lib.close()
