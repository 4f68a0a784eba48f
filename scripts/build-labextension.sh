#!/bin/sh
# Rebuild the prebuilt JupyterLab extension that highlights the vdfs query language
# (kernel_ext/labextension_src -> kernel_ext/labextension/vdfs-highlight). Needs node + npm;
# users never run this: the built files are committed and installed by `vdfs kernel install`.
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d)"
(cd "$ROOT" && PYTHONPATH="$ROOT" "$PY" -m kernel_ext.highlight_words)   # words from the grammar
cp -r "$ROOT/kernel_ext/labextension_src/." "$WORK/"
cd "$WORK"
npm install --no-audit --no-fund --loglevel=error
CORE="$("$PY" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')"
node node_modules/@jupyterlab/builder/lib/build-labextension.js --core-path "$CORE" .
rm -rf "$ROOT/kernel_ext/labextension/vdfs-highlight"
mkdir -p "$ROOT/kernel_ext/labextension"
cp -r build "$ROOT/kernel_ext/labextension/vdfs-highlight"
rm -rf "$WORK"
echo "built kernel_ext/labextension/vdfs-highlight"
