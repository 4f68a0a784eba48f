# %% [markdown]
# # A WebAssembly extension
#
# An extension can be a WebAssembly module instead of Python: a folder with `manifest.json`
# and `extension.wasm`. Here the reference extension *Large and duplicate files*
# (`extensions/large_files`, written in C with `extensions/wasm_sdk/vdfs.h`) is built from its
# source, installed with the permission dialog, and its job run under the job monitor. Then two
# hostile modules show what the sandbox does with a guest that reaches outside its grant or
# never stops.

# %%
import os, subprocess, tempfile
from pathlib import Path

work = Path(tempfile.mkdtemp(prefix="vdfs-wasm-"))
os.environ["VDFS_HOME"] = str(work / "home")
folder = work / "files"
sizes = {"videos/trip.mov": 60_000, "videos/trip-copy.mov": 60_000, "photos/pano.jpg": 25_000,
         "photos/small.jpg": 900, "private/diary.bin": 80_000}
for rel, n in sizes.items():
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_bytes((b"trip" if "trip" in rel else rel.encode()[:4]) * (n // 4))
library_path = work / "wasm.vdfs"

# %% [markdown]
# ## Build it from source
#
# `scripts/build-wasm.sh` compiles every `extensions/*/src/*.c` with Debian's clang and lld for
# the freestanding `wasm32` target — no libc, no WASI: its only imports are the host's — and
# makes the package folder next to it.

# %%
repo = Path.cwd().parent
subprocess.run(["sh", str(repo / "scripts" / "build-wasm.sh")], check=True, capture_output=True,
               env=dict(os.environ, OUT_DIR=str(work / "build")))
package = work / "build" / "large_files"
sorted(p.name for p in package.iterdir())

# %%
%vdfs open :library_path --create
%vdfs index :folder --wait

# %% [markdown]
# ## Install with the permission dialog
#
# It asks to read every file and to write tags; we grant both, but only for `videos/` and
# `photos/`. `private/` stays invisible to it.

# %%
dialog = %vdfs install :package
scope = [str(folder / "videos"), str(folder / "photos")]
dialog.install(scopes={"ReadEntries": scope, "WriteTags": scope})
print(dialog.text())

# %% [markdown]
# ## Its job, under the job monitor
#
# A WASM job runs in steps — each one call into a fresh sandbox, checkpointed by the durable
# jobs runtime, with its `inspect` tasks recorded in jobs.db — so it can be paused, cancelled,
# or killed and resumed like any Python job.

# %%
monitor = %vdfs run com.vdfs.large_files.scan min_size=20000 --wait
print(monitor.text())

# %%
monitor.result

# %%
%vdfs models LargeFile select name, size order by size desc, name

# %% [markdown]
# Its action proposes tags; the host checks every proposed change against the grants before
# the preview is shown, and again on commit.

# %%
panel = %vdfs preview com.vdfs.large_files.tag_large min_size=20000
panel.commit()
%vdfs entries tagged "#large" select name order by name

# %% [markdown]
# ## What a hostile module gets
#
# The same host runs any module with this extension's grants. A guest that asks for a file
# outside its scope gets a refusal (and here, gives up); a guest that never stops is stopped by
# its fuel, or by its wall-clock deadline. The library is untouched either way.

# %%
import wasmtime
from core.extensions.wasm import Limits, WasmError, WasmProgram
from core.extensions.wasm.runtime import WasmRuntime

host = WasmRuntime.of(vdfs_library, "com.vdfs.large_files").host()
diary = vdfs_library.query('entries where name = "diary.bin" select uuid').rows()[0]["uuid"]
PRELUDE = """
  (import "vdfs" "call" (func $call (param i32 i32 i32 i32) (result i32)))
  (import "vdfs" "response" (func $response (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "vdfs_abi_version") (result i32) (i32.const 1))
  (func (export "vdfs_alloc") (param i32) (result i32) (i32.const 4096))"""
request = f'{{"entry": "{diary}"}}'
snoop = wasmtime.wat2wasm(f"""(module {PRELUDE}
  (data (i32.const 0) "entry.read")
  (data (i32.const 64) "{request.replace('"', chr(92) + '"')}")
  (func (export "run") (param i32 i32) (result i32)
    (i32.lt_s (call $call (i32.const 0) (i32.const 10) (i32.const 64) (i32.const {len(request)}))
              (i32.const 0))))""")
spin = wasmtime.wat2wasm(f"""(module {PRELUDE}
  (func (export "run") (param i32 i32) (result i32) (loop $forever (br $forever)) (i32.const 0)))""")

for name, module, limits in [("snoop", snoop, Limits()),
                             ("spin", spin, Limits(fuel=5_000_000)),
                             ("spin", spin, Limits(fuel=10**13, deadline_ms=200))]:
    try:
        WasmProgram(module, name=name, limits=limits).call("run", {}, host)
    except WasmError as exc:
        print(f"{type(exc).__name__}: {exc}\n")

# %%
vdfs_library.conn.execute("PRAGMA integrity_check").fetchone()[0]
