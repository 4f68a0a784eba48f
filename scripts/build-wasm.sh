#!/bin/sh
# Build the WASM extensions of this repository from their C sources with Debian clang + lld:
# extensions/<name>/src/*.c -> extensions/<name>/extension.wasm. With OUT_DIR set, a complete
# package is made in OUT_DIR/<name>/ instead (the wasm plus the package's json files and assets/),
# ready for `vdfs install`.
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
    if [ "$out" != "$ext_dir" ]; then
        cp "$ext_dir"/*.json "$out"/
        [ ! -d "$ext_dir/assets" ] || cp -R "$ext_dir/assets" "$out"/
    fi
    echo "build-wasm: $out/extension.wasm"
done
