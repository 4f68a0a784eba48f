"""WASM host benchmark: a host-call round trip, a per-call instantiation, and the same
query-bound job as a Python extension and as the reference WASM extension.

    python benchmarks/wasm_bench.py [--entries N] [--repeat N]

The job ("large files": keyset-paged `entries` queries of 256 rows, a running count and byte
total, a checkpoint per page, then one group-by for duplicates) runs once as the C reference
extension built by scripts/build-wasm.sh (inspect=false: no per-file tasks) and once as a
Python extension doing the same queries and checkpoints. Both go through the same scoped host
API. Target: WASM within 1.5x of Python. Needs clang + lld. Never run by CI.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import wasmtime  # noqa: E402

import core  # noqa: E402
from core.extensions import Permission  # noqa: E402
from core.extensions.definition import extension  # noqa: E402
from core.jobs import job  # noqa: E402
from core.extensions.wasm import Limits, WasmHost, WasmProgram  # noqa: E402
from core.extensions.wasm.engine import WasmEngine  # noqa: E402
from extensions_bench import median_s  # noqa: E402  (this folder is sys.path[0])

PY_EXT = "com.bench.large_files_py"
PAGE = 256
QUERY = ("entries where is_dir = false and size >= :min and path > :after order by path "
         f"limit {PAGE} select uuid, path, size")
GROUPS = ("entries where is_dir = false and size >= :min group by content_hash "
          "select content_hash, count() as n, sum(size) as bytes")


@job(name="scan")
def py_scan(ctx, min_size: int = 1, inspect: bool = False):
    """The Python twin of the reference extension's scan job (without inspect tasks)."""
    api = ctx.vdfs()
    state = ctx.state or {"after": "", "large": 0, "bytes": 0}
    while True:
        rows = api.query(QUERY, min=min_size, after=state["after"]).rows()
        if not rows:
            break
        state = {"after": rows[-1]["path"], "large": state["large"] + len(rows),
                 "bytes": state["bytes"] + sum(r["size"] for r in rows)}
        ctx.progress(state["large"], message="large files found")
        ctx.checkpoint(state)
    groups = api.query(GROUPS, min=min_size).rows()
    dups = [g for g in groups if g["n"] > 1 and g["content_hash"] is not None]
    return {"large_files": state["large"], "bytes": state["bytes"], "duplicate_groups": len(dups),
            "wasted_bytes": sum(g["bytes"] // g["n"] * (g["n"] - 1) for g in dups)}


@extension(id=PY_EXT, name="Large files (Python)", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**")])
class PyLargeFiles:
    jobs = [py_scan]


GUEST = """(module
  (import "vdfs" "call" (func $call (param i32 i32 i32 i32) (result i32)))
  (import "vdfs" "response" (func $response (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "settings.get")
  (func (export "vdfs_abi_version") (result i32) (i32.const 1))
  (func (export "vdfs_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "noop") (param i32 i32) (result i32) (i32.const 0))
  (func (export "calls") (param i32 i32) (result i32) (local $i i32)
    (loop $l
      (drop (call $call (i32.const 0) (i32.const 12) (i32.const 0) (i32.const 0)))
      (drop (call $response (i32.const 2048) (i32.const 1024)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10000))))
    (i32.const 0)))"""


def build_reference(tmp: Path) -> Path:
    subprocess.run(["sh", str(REPO / "scripts" / "build-wasm.sh")], check=True,
                   env=dict(os.environ, OUT_DIR=str(tmp / "build")), capture_output=True)
    return tmp / "build" / "large_files"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        os.environ["VDFS_HOME"] = str(tmp / "home")
        root = tmp / "tree"
        for i in range(args.entries):
            sub = root / f"d{i % 100}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"f{i}.bin").write_bytes(b"x" * (i % 997) if i % 50 else b"dup")
        lib = core.Library.create(tmp / "bench.vdfs")
        t0 = time.perf_counter()
        lib.index(lib.add_location(root)).wait()
        print(f"indexed {args.entries:,} files in {time.perf_counter() - t0:.1f} s")

        # host-call round trip and instantiation
        mgr = lib.extensions
        ctx = mgr.install(PyLargeFiles, "requested")
        host = WasmHost(api=ctx.vdfs(), settings={"x": 1})
        wasm = wasmtime.wat2wasm(GUEST)
        prog = WasmProgram(wasm, name="bench", limits=Limits(fuel=10**10, deadline_ms=60_000))
        rt = median_s(lambda: prog.call("calls", b"", host), args.repeat) / 10_000
        inst = median_s(lambda: [prog.call("noop", b"", host) for _ in range(100)], args.repeat) / 100
        cold = WasmEngine()
        t0 = time.perf_counter()
        cold.module(wasm, tmp / "cache")
        compile_s = time.perf_counter() - t0
        warm = WasmEngine()
        t0 = time.perf_counter()
        warm.module(wasm, tmp / "cache")
        cached_s = time.perf_counter() - t0
        print(f"host call round trip: {rt * 1e6:7.1f} us   instantiate + call: {inst * 1e6:7.1f} us")
        print(f"small module: compile {compile_s * 1e3:.2f} ms, from cache {cached_s * 1e3:.2f} ms")

        # the same job, Python and WASM
        if shutil.which("clang") is None:
            print("clang not found: skipping the job comparison")
            return
        lib.extensions.install(build_reference(tmp), "requested")

        def run(ext_id: str) -> dict:
            return mgr.run_job(ext_id, "scan", min_size=1, inspect=False).wait(timeout=3600)

        py_result, wasm_result = run(PY_EXT), run("com.vdfs.large_files")
        assert py_result == wasm_result, (py_result, wasm_result)
        py_t, wasm_t = [], []
        for _ in range(args.repeat):       # interleaved, so caches warm both alike
            py_t.append(median_s(lambda: run(PY_EXT), 1))
            wasm_t.append(median_s(lambda: run("com.vdfs.large_files"), 1))
        py_s, wasm_s = statistics.median(py_t), statistics.median(wasm_t)
        print(f"job over {py_result['large_files']:,} entries ({py_result['duplicate_groups']} "
              f"duplicate groups): Python {py_s:.2f} s   WASM {wasm_s:.2f} s   "
              f"ratio {wasm_s / py_s:.2f}x (target <= 1.5x)")
        mgr.close()
        lib.close()


if __name__ == "__main__":
    main()
