#!/bin/sh
# Build the WASM extensions of this repository from their C sources with Debian clang + lld:
# extensions/<name>/src/*.c -> extensions/<name>/extension.wasm (or into OUT_DIR/<name>/).
# Freestanding wasm32: no libc, no WASI — the only imports are the vdfs host's.
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLANG="${CLANG:-clang}"
command -v "$CLANG" >/dev/null 2>&1 || { echo "build-wasm: $CLANG not found (apt-get install clang lld)" >&2; exit 3; }
for src_dir in "$ROOT"/extensions/*/src; do
    ext_dir="$(dirname "$src_dir")"
    name="$(basename "$ext_dir")"
    ls "$src_dir"/*.c >/dev/null 2>&1 || continue
    out="${OUT_DIR:+$OUT_DIR/$name}"
    out="${out:-$ext_dir}"
    mkdir -p "$out"
    "$CLANG" --target=wasm32 -O2 -nostdlib -fno-builtin -Wall -Werror \
        -Wl,--no-entry -Wl,--strip-all -Wl,-z,stack-size=262144 \
        -I "$ROOT/extensions/wasm_sdk" -o "$out/extension.wasm" "$src_dir"/*.c
    echo "build-wasm: $out/extension.wasm"
done
