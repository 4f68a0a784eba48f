#!/bin/sh
# Install what the notebook browser test needs: Debian's Chromium (apt, only as root and only if
# missing) and the `browser` extra (jupyterlab, playwright) into the venv. Never runs
# `playwright install`: the test drives /usr/bin/chromium. Safe to run repeatedly.
set -eu
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"

if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-test-extras: installing chromium with apt-get"
        apt-get update -qq || echo "install-test-extras: apt-get update failed" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
            || echo "install-test-extras: could not install chromium; the browser test will skip" >&2
    else
        echo "install-test-extras: /usr/bin/chromium missing and not root; the browser test will skip" >&2
    fi
fi

# The WASM extension tests build extensions/*/src/*.c with clang + lld (wasi-libc for authors
# who want a libc); without them those tests skip.
if ! command -v clang >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-test-extras: installing clang, lld and wasi-libc with apt-get"
        apt-get update -qq || echo "install-test-extras: apt-get update failed" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang lld wasi-libc >/dev/null \
            || echo "install-test-extras: could not install clang/lld; the WASM build tests will skip" >&2
    else
        echo "install-test-extras: clang/lld missing and not root; the WASM build tests will skip" >&2
    fi
fi

if ! "$PY" -c "import jupyterlab, playwright" >/dev/null 2>&1; then
    echo "install-test-extras: installing jupyterlab and playwright into $VENV"
    "$PY" -m pip install -q "jupyterlab>=4.2" "playwright>=1.45" \
        || echo "install-test-extras: pip install failed; the browser test will skip" >&2
fi
exit 0
