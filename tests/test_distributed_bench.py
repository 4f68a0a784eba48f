"""The distributed benchmark at a tiny size: it runs the same job locally and on a real
2-worker Dask cluster, checks both answered alike, and prints the ratio and the per-task
overhead issue 18 asks for. The benchmark itself is run by hand, never by CI."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import REPO

pytest.importorskip("distributed")


def test_distributed_bench_reports_a_ratio_and_the_per_task_overhead(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "distributed_bench.py"),
                          "--tasks", "4", "--size", "20000", "--noop", "10"],
                         capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = out.stdout
    assert re.search(r"^local \(this process\) +[\d.]+ +\d+ ms +1\.00x$", report, re.M), report
    assert re.search(r"^dask, 2 worker processes +[\d.]+ +\d+ ms +[\d.]+x  \(speed-up over "
                     r"local; same results\)$", report, re.M), report
    assert re.search(r"^per-task overhead \(10 no-op tasks\): local [\d.]+ ms, dask [\d.]+ ms "
                     r"\(\+-?[\d.]+ ms per task placed on the cluster\)$", report, re.M), report
