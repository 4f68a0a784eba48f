"""The process-wide wasmtime Engine, its epoch ticker, and the compiled-module cache.

One Engine serves every WASM extension: fuel metering and epoch interruption are engine
settings, and compiled code can only be shared within one engine configuration.

Deadlines: a daemon thread bumps the engine's epoch every TICK_S seconds while at least one call
is running (it sleeps otherwise); a store's deadline is a number of ticks from its start.

Compilation cache: `Module.serialize()` output in `<cache dir>/<key>.cwasm`, where the key is the
BLAKE3 of the wasm bytes, the wasmtime version and this engine's settings. A second run — in this
process or the next — deserializes instead of compiling. A cache file that fails to load is
compiled again and rewritten.
"""
from __future__ import annotations

import os
import threading
import time
from importlib import metadata
from pathlib import Path

import blake3
import wasmtime

from .errors import WasmCompileError

TICK_S = 0.005
MAX_WASM_STACK = 512 * 1024
_SETTINGS = f"fuel,epoch,stack={MAX_WASM_STACK}"


def wasmtime_version() -> str:
    try:
        return metadata.version("wasmtime")
    except metadata.PackageNotFoundError:  # pragma: no cover - vendored copies
        return "unknown"


class _Ticker:
    """Increments the engine epoch while calls are active."""

    def __init__(self, engine: wasmtime.Engine):
        self._engine = engine
        self._active = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "_Ticker":
        with self._cond:
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="vdfs-wasm-epoch",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._active -= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._active == 0:
                    self._cond.wait()
            self._engine.increment_epoch()
            time.sleep(TICK_S)


class WasmEngine:
    def __init__(self) -> None:
        cfg = wasmtime.Config()
        cfg.consume_fuel = True
        cfg.epoch_interruption = True
        cfg.max_wasm_stack = MAX_WASM_STACK
        cfg.wasm_threads = False
        self.engine = wasmtime.Engine(cfg)
        self.ticker = _Ticker(self.engine)
        self._modules: dict[str, wasmtime.Module] = {}
        self._lock = threading.Lock()
        self.compiles = 0          # how many times this process really compiled (for tests)

    @staticmethod
    def cache_key(wasm: bytes) -> str:
        h = blake3.blake3(wasm)
        h.update(f"|wasmtime {wasmtime_version()}|{_SETTINGS}".encode())
        return h.hexdigest()

    def module(self, wasm: bytes, cache_dir: Path | None = None) -> wasmtime.Module:
        """The compiled module for `wasm`: from memory, from the cache dir, or compiled now."""
        key = self.cache_key(wasm)
        with self._lock:
            found = self._modules.get(key)
        if found is not None:
            return found
        module = self._load_cached(key, cache_dir)
        if module is None:
            module = self._compile(wasm)
            self._store_cached(key, module, cache_dir)
        with self._lock:
            self._modules[key] = module
        return module

    def _compile(self, wasm: bytes) -> wasmtime.Module:
        try:
            module = wasmtime.Module(self.engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise WasmCompileError(f"not a valid WebAssembly module: {_first_line(exc)}") from None
        self.compiles += 1
        return module

    def _load_cached(self, key: str, cache_dir: Path | None) -> wasmtime.Module | None:
        if cache_dir is None:
            return None
        path = cache_dir / f"{key}.cwasm"
        try:   # read, not mapped: a file truncated under a mapped module would crash us
            return wasmtime.Module.deserialize(self.engine, path.read_bytes())
        except (OSError, wasmtime.WasmtimeError):
            return None

    @staticmethod
    def _store_cached(key: str, module: wasmtime.Module, cache_dir: Path | None) -> None:
        if cache_dir is None:
            return
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = cache_dir / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
            tmp.write_bytes(bytes(module.serialize()))
            os.replace(tmp, cache_dir / f"{key}.cwasm")
        except OSError:
            pass   # a read-only cache only costs a compile next time


def _first_line(exc: BaseException) -> str:
    """wasmtime's message: its first line and, when there is one, the root cause."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} ({lines[-1]})"


_ENGINE: WasmEngine | None = None
_ENGINE_LOCK = threading.Lock()


def shared_engine() -> WasmEngine:
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = WasmEngine()
        return _ENGINE
