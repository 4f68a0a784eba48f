"""Index benchmark: files/s of each indexer phase next to baselines measured in the same run.

    python benchmarks/index_bench.py [TREE] [--repeat N] [--workers N] [--no-cold] [--phases]

Baselines: `find TREE -type f -printf '%s %T@ %i %p\\n'` (walk + stat in C) and a bare-Python
sampled-hash pass (scandir walk, then core.content.identity.content_hash_path per file). Targets on a
warm cache: full index >= 50k files/s; unchanged re-index >= 0.7x find. Then the same full index
and `find` with cold caches (see drop_caches for how). On a shared machine wall-clock rates are
noisy, so CPU seconds per entry are printed too: of this process (the job runs in one of its
threads) and of the helper processes (hash and walk workers); `--phases` adds each phase's wall
and job-thread CPU seconds. Never run by CI.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core  # noqa: E402
from core.content.identity import content_hash_path  # noqa: E402


def run_find(tree: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = subprocess.run(["find", tree, "-type", "f", "-printf", r"%s %T@ %i %p\n"],
                         capture_output=True, check=False).stdout
    return time.perf_counter() - t0, out.count(b"\n")


def regular_files(tree: str) -> list[tuple[str, int]]:
    found, stack = [], [tree]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for de in it:
                try:
                    if de.is_dir(follow_symlinks=False):
                        stack.append(de.path)
                    elif de.is_file(follow_symlinks=False):
                        found.append((de.path, de.stat(follow_symlinks=False).st_size))
                except OSError:
                    pass
    return found


def bare_hash(files: list[tuple[str, int]]) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = 0
    for path, size in files:
        if size:
            try:
                content_hash_path(path, size)
                n += 1
            except OSError:
                pass
    return time.perf_counter() - t0, n


def cpu_seconds() -> tuple[float, float]:
    """(user+sys of this process, user+sys of its finished children) so far."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def timed_index(lib: core.Library, tree: str, opts: dict) -> tuple[dict, float, float, float]:
    """One index run: (result, wall s, CPU s of this process, CPU s of helper processes)."""
    me0, kids0 = cpu_seconds()
    t0 = time.perf_counter()
    result = lib.index(tree, **opts).wait()
    wall = time.perf_counter() - t0
    me1, kids1 = cpu_seconds()
    return result, wall, me1 - me0, kids1 - kids0


def cpu_line(label: str, entries: int, me: float, kids: float) -> None:
    print(f"{'':34} CPU {label}: this process {me:.2f} s ({me / entries * 1e6:.1f} us/entry), "
          f"helpers {kids:.2f} s ({kids / entries * 1e6:.1f} us/entry)")


def phase_table(timings: dict) -> None:
    """Wall and job-thread CPU seconds of each phase the job timed."""
    print(f"{'  phase':34} {'wall s':>8} {'cpu s':>10}")
    for key, wall in timings.items():
        if not key.startswith("cpu_"):
            cpu = timings.get(f"cpu_{key}")
            print(f"{'  ' + key:34} {wall:8.3f} {'' if cpu is None else f'{cpu:10.3f}'}")


def drop_caches(tree: str) -> str:
    """Make the next read of `tree` cold; returns how. As root, the kernel's page, dentry and
    inode caches are emptied (`sync; echo 3 > /proc/sys/vm/drop_caches`). Where that is not
    permitted (no root, a read-only /proc in a container), each file's cached pages are
    evicted with posix_fadvise(DONTNEED): the file bytes are read cold, but directories and
    inodes stay cached, so the walk is warmer than after a reboot."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return "page, dentry and inode caches dropped (echo 3 > /proc/sys/vm/drop_caches)"
    except OSError as exc:
        why = f"{type(exc).__name__}: {exc.strerror or exc}"
    for path, _ in regular_files(tree):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return (f"cannot drop the kernel caches ({why}); file pages evicted with "
            "posix_fadvise(DONTNEED), directories and inodes still cached")


def cold_figures(tree: str, opts: dict, phases: bool) -> None:
    """find and a full index, each right after the caches were dropped."""
    how = drop_caches(tree)
    find_s, find_n = run_find(tree)
    drop_caches(tree)
    with tempfile.TemporaryDirectory(prefix="vdfs-bench-cold-") as tmp:
        lib = core.Library.create(Path(tmp) / "bench.vdfs")
        full, index_s, me, kids = timed_index(lib, tree, opts)
        lib.close()
    entries = full["files"] + full["dirs"]
    print(f"cold cache: {how}")
    print(f"{'find -printf, cold':34} {find_s:8.3f} {find_n / find_s:10.0f} {'1.00x find cold':>22}")
    tm = full["timings"]
    print(f"{'full index, cold (wall)':34} {index_s:8.3f} {entries / index_s:10.0f} "
          f"{find_s / index_s:>17.2f}x find")
    print(f"{'':34} discovery {tm.get('discovery', 0):.3f} s, processing "
          f"{tm.get('processing', 0):.3f} s, content {tm.get('content', 0):.3f} s (hashing here "
          f"{tm.get('content_hashing', 0):.3f} s, waiting {tm.get('content_waiting', 0):.3f} s)")
    cpu_line("cold", entries, me, kids)
    if phases:
        phase_table(tm)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", nargs="?", default="/usr")
    ap.add_argument("--repeat", type=int, default=3, help="runs of find and re-index (median)")
    ap.add_argument("--workers", type=int, default=None, help="hashing processes (default 2)")
    ap.add_argument("--no-cold", action="store_true",
                    help="skip the cold-cache figures (they empty the whole machine's caches)")
    ap.add_argument("--phases", action="store_true",
                    help="print each phase's wall and CPU seconds")
    a = ap.parse_args()
    tree = os.path.abspath(a.tree)
    run_find(tree)                       # warm the page cache
    t0 = time.perf_counter()
    walk_n = len(regular_files(tree))
    walk_s = time.perf_counter() - t0
    files = regular_files(tree)
    bare_hash(files)                     # warm the sampled bytes too, then measure
    hash_s, hashed = bare_hash(files)
    opts = {} if a.workers is None else {"workers": a.workers}
    with tempfile.TemporaryDirectory(prefix="vdfs-bench-") as tmp:
        lib = core.Library.create(Path(tmp) / "bench.vdfs")
        full, full_s, full_me, full_kids = timed_index(lib, tree, opts)
        finds, reindex, single, re_cpu = [], [], [], []
        for _ in range(a.repeat):        # interleaved, so all see the same machine state
            finds.append(run_find(tree))
            again, secs, me, kids = timed_index(lib, tree, opts)
            reindex.append(secs)
            re_cpu.append((me, kids))
            t0 = time.perf_counter()
            lib.index(tree, workers=1).wait()
            single.append(time.perf_counter() - t0)
        lib.close()
    find_s = statistics.median(s for s, _ in finds)
    find_n = finds[0][1]
    find_rate = find_n / find_s   # find lists files only but walks every folder: compare times
    entries = full["files"] + full["dirs"]
    tm = full["timings"]
    print(f"tree {tree}: {full['files']} files + {full['dirs']} folders, "
          f"{full['bytes'] / 1e9:.2f} GB; errors {full['errors_total']}, "
          f"skipped {full['skipped_total']}")
    print(f"{'measure':34} {'seconds':>8} {'files/s':>10} {'ratio':>22}")

    def line(label: str, secs: float, n: int, ratio: str = "") -> None:
        rate = f"{n / secs:10.0f}" if secs >= 0.001 else f"{'-':>10}"   # a phase skipped
        print(f"{label:34} {secs:8.3f} {rate} {ratio:>22}")
    line("find -printf (baseline)", find_s, find_n, "1.00x find")
    line("python scandir+stat walk", walk_s, walk_n, f"{find_s / walk_s:.2f}x find")
    line("bare Python sampled hash", hash_s, hashed, "(hash baseline)")
    line("full index: discovery", tm.get("discovery", 0), entries,
         f"{find_s / tm['discovery']:.2f}x find")
    line("full index: processing", tm.get("processing", 0), entries)
    line("full index: content", tm.get("content", 0), full["hashed"],
         f"{(full['hashed'] / tm['content']) / (hashed / hash_s):.2f}x bare hash")
    print(f"{'':34} of which hashing here {tm.get('content_hashing', 0):.3f} s, waiting for "
          f"the worker {tm.get('content_waiting', 0):.3f} s, writing {tm.get('content_writing', 0):.3f} s")
    if "indexes" in tm:
        line("full index: build indexes", tm["indexes"], entries)
    line("full index: aggregation", tm.get("aggregation", 0), entries)
    line("full index: finalisation", tm.get("finalisation", 0), entries)
    line("full index: total (wall)", full_s, entries,
         f"{entries / full_s / 50000:.2f}x 50k target")
    cpu_line("full index", entries, full_me, full_kids)
    if a.phases:
        phase_table(tm)
    re_s = statistics.median(reindex)
    line("unchanged re-index (wall)", re_s, entries,
         f"{find_s / re_s:.2f}x find (target 0.7)")
    print(f"{'':34} {'':8} {'':10} {walk_s / re_s:>18.2f}x walk")
    cpu_line("re-index", entries, *min(re_cpu))
    one_s = statistics.median(single)
    line("  same, one process (workers=1)", one_s, entries, f"{find_s / one_s:.2f}x find")
    if not a.no_cold:
        cold_figures(tree, opts, a.phases)
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    assert again["created"] == again["modified"] == again["deleted"] == again["hashed"] == 0, again
    return 0


if __name__ == "__main__":
    sys.exit(main())
