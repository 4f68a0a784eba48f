"""One call into a WASM guest: a fresh Store with fuel, an epoch deadline and memory/table
limits; the guest's host calls checked and dispatched; every failure turned into a WasmError
naming its cause. The Store (and the instance in it) is dropped after the call, whatever
happened, so nothing a hostile guest did survives into the next call.
"""
from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import wasmtime

from core.errors import VdfsError
from . import abi
from .engine import MAX_WASM_STACK, TICK_S, WasmEngine, shared_engine
from .errors import (WasmAbiError, WasmBadPointer, WasmDeadlineExceeded, WasmError,
                     WasmGuestError, WasmMemoryLimit, WasmOutOfFuel, WasmPayloadError,
                     WasmReentrantCall, WasmStackOverflow, WasmTrap)
from .limits import DEFAULTS, Limits
from .codec import dumps

Dispatch = Callable[[str, Any, "Call"], Any]
_ACTIVE = threading.local()
# What a host operation may raise and still only fail that operation (the guest is told):
GUEST_VISIBLE = (VdfsError, LookupError, ValueError, TypeError, PermissionError)


class WasmProgram:
    """A validated, compiled module with its limits; cheap to call many times."""

    def __init__(self, wasm: bytes, *, name: str = "module", limits: Limits = DEFAULTS,
                 cache_dir: Path | None = None, engine: WasmEngine | None = None):
        self.name = name
        self.limits = limits
        self.engine = engine or shared_engine()
        self.module = self.engine.module(wasm, cache_dir)
        abi.check_module(self.module)
        self._entries: set[str] = set()

    def call(self, export: str, payload: Any, dispatch: Dispatch, *,
             limits: Limits | None = None) -> Any:
        """Run `export(payload)`; return what the guest passed to the `output` operation."""
        if export not in self._entries:        # module type lookups cost ~50 us: once each
            abi.check_entry(self.module, export)
            self._entries.add(export)
        active = _ACTIVE.__dict__.setdefault("names", set())
        if self.name in active:
            raise WasmReentrantCall(f"{self.name}: {export} was called while a call of the same "
                                    "extension is running on this thread")
        active.add(self.name)
        try:
            return Call(self, export, limits or self.limits, dispatch).run(payload)
        finally:
            active.discard(self.name)


@dataclass
class Call:
    program: WasmProgram
    export: str
    limits: Limits
    dispatch: Dispatch
    output: Any = None
    has_output: bool = False
    last_error: str | None = None
    host_calls: int = 0
    _pending: bytes | None = None
    _held: BaseException | None = None
    _store: Any = field(default=None, repr=False)
    _memory: abi.GuestMemory | None = field(default=None, repr=False)

    # ---- lifecycle --------------------------------------------------------------------------
    def run(self, payload: Any) -> Any:
        lim = self.limits
        store = wasmtime.Store(self.program.engine.engine)
        store.set_fuel(lim.fuel)
        store.set_epoch_deadline(max(1, math.ceil(lim.deadline_ms / 1000 / TICK_S)))
        store.set_limits(memory_size=lim.memory_bytes, table_elements=lim.table_elements,
                         instances=1, tables=4, memories=1)
        self._store = store
        try:
            with self.program.engine.ticker:
                return self._run(store, payload)
        except (wasmtime.Trap, wasmtime.WasmtimeError, WasmError) as exc:
            if self._held is not None:
                raise self._held from None
            if isinstance(exc, WasmError):
                raise
            if isinstance(exc, wasmtime.Trap):
                raise self._trap_error(exc) from None
            raise self._instantiate_error(exc) from None
        finally:
            self._store = self._memory = None
            store.close()

    def _run(self, store: wasmtime.Store, payload: Any) -> Any:
        linker = wasmtime.Linker(self.program.engine.engine)
        linker.define_func(abi.HOST_MODULE, "call", abi.HOST_FUNCS["call"], self._host_call,
                           access_caller=True)
        linker.define_func(abi.HOST_MODULE, "response", abi.HOST_FUNCS["response"],
                           self._host_response, access_caller=True)
        instance = linker.instantiate(store, self.program.module)
        exports = instance.exports(store)
        self._memory = abi.GuestMemory(exports["memory"], store)
        version = exports[abi.VERSION_EXPORT](store)
        if version != abi.ABI_VERSION:
            raise WasmAbiError(f"{self.program.name} speaks vdfs ABI {version}; this host speaks "
                               f"ABI {abi.ABI_VERSION}")
        data = _encode(payload)
        if len(data) > self.limits.max_response_bytes:
            raise WasmPayloadError(f"input of {len(data):,} bytes exceeds the response cap of "
                                   f"{self.limits.max_response_bytes:,} bytes")
        ptr = exports[abi.ALLOC_EXPORT](store, len(data)) if data else 0
        self._memory.write(ptr, data, f"{abi.ALLOC_EXPORT}({len(data)}) result")
        status = exports[self.export](store, ptr, len(data))
        if status != 0:
            detail = f"; last host error: {self.last_error}" if self.last_error else ""
            message = self.output if isinstance(self.output, str) else None
            raise WasmGuestError(f"{self.program.name}: {self.export} failed with status {status}"
                                 + (f": {message}" if message else "") + detail)
        return self.output

    # ---- host functions ---------------------------------------------------------------------
    def _mem(self, caller: Any) -> abi.GuestMemory:
        if self._memory is None:    # called during instantiation (a start function)
            mem = caller.get("memory")
            if not isinstance(mem, wasmtime.Memory):
                raise WasmAbiError("host call before the guest's memory exists")
            return abi.GuestMemory(mem, caller)
        return abi.GuestMemory(self._memory._memory, caller)

    def _host_call(self, caller: Any, *args: int) -> int:
        """Whatever a host call raises is held and re-raised by `run` as itself: wasmtime may
        report an exception from a callback as a generic error, and a BaseException (a job's
        stop request, Ctrl-C) cannot cross its callback boundary at all."""
        try:
            return self._dispatch_call(caller, *args)
        except Exception as exc:
            self._held = exc
            raise
        except BaseException as exc:
            self._held = exc
            raise WasmError("host call interrupted") from None

    def _dispatch_call(self, caller: Any, op_ptr: int, op_len: int, req_ptr: int,
                       req_len: int) -> int:
        mem = self._mem(caller)
        self.host_calls += 1
        if (op_len & 0xFFFFFFFF) > 256:
            raise WasmPayloadError(f"operation name of {op_len & 0xFFFFFFFF:,} bytes (at most 256)")
        op = _text(mem.read(op_ptr, op_len, "operation name"), "operation name")
        if (req_len & 0xFFFFFFFF) > self.limits.max_request_bytes:
            raise WasmPayloadError(f"request of {req_len & 0xFFFFFFFF:,} bytes to {op!r} exceeds "
                                   f"the cap of {self.limits.max_request_bytes:,} bytes")
        raw = mem.read(req_ptr, req_len, f"request to {op!r}")
        if op in ("output", "output.raw"):
            if len(raw) > self.limits.max_output_bytes:
                raise WasmPayloadError(f"output of {len(raw):,} bytes exceeds the cap of "
                                       f"{self.limits.max_output_bytes:,} bytes")
            self.output = json_request(raw, op) if op == "output" else raw
            self.has_output = True
            self._pending = b"null"
            return len(self._pending)
        request = json_request(raw, op)
        try:
            result = self.dispatch(op, request, self)
        except WasmError:
            raise
        except GUEST_VISIBLE as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            body = json.dumps({"error": type(exc).__name__, "message": str(exc)}).encode()
            self._pending = body[:self.limits.max_response_bytes]
            return -len(self._pending)
        body = result if isinstance(result, (bytes, bytearray)) else _encode(result)
        if len(body) > self.limits.max_response_bytes:
            raise WasmPayloadError(f"response of {len(body):,} bytes to {op!r} exceeds the cap of "
                                   f"{self.limits.max_response_bytes:,} bytes")
        self._pending = bytes(body)
        return len(self._pending)

    def _host_response(self, caller: Any, ptr: int, cap: int) -> int:
        if self._pending is None:
            raise WasmPayloadError("response() called with no pending response")
        body, self._pending = self._pending, None
        if len(body) > (cap & 0xFFFFFFFF):
            raise WasmBadPointer(f"response() buffer of {cap & 0xFFFFFFFF:,} bytes is smaller "
                                 f"than the {len(body):,}-byte response")
        self._mem(caller).write(ptr, body, "response buffer")
        return len(body)

    # ---- errors -----------------------------------------------------------------------------
    def _trap_error(self, exc: wasmtime.Trap) -> WasmError:
        name = f"{self.program.name}: {self.export}"
        code = exc.trap_code
        if code == wasmtime.TrapCode.OUT_OF_FUEL:
            return WasmOutOfFuel(f"{name}: out of fuel after {self.limits.fuel:,} units")
        if code == wasmtime.TrapCode.INTERRUPT:
            return WasmDeadlineExceeded(f"{name}: deadline of {self.limits.deadline_ms:,} ms "
                                        "exceeded (interrupted)")
        if code == wasmtime.TrapCode.STACK_OVERFLOW:
            return WasmStackOverflow(f"{name}: stack overflow (the wasm stack is limited to "
                                     f"{MAX_WASM_STACK:,} bytes)")
        what = _trap_text(exc)
        size = self._memory.size() if self._memory is not None else 0
        if size * 4 >= self.limits.memory_bytes * 3:   # a refused memory.grow is invisible here
            return WasmMemoryLimit(f"{name}: linear memory limit of {self.limits.memory_bytes:,} "
                                   f"bytes reached ({size:,} in use, memory.grow refused), then "
                                   f"trapped: {what}")
        return WasmTrap(f"{name}: trapped: {what}")

    def _instantiate_error(self, exc: wasmtime.WasmtimeError) -> WasmError:
        text = str(exc)
        if "memory" in text and ("limit" in text or "exceed" in text or "minimum" in text):
            return WasmMemoryLimit(f"{self.program.name}: the module's memory exceeds the limit of "
                                   f"{self.limits.memory_bytes:,} bytes")
        if "table" in text:
            return WasmMemoryLimit(f"{self.program.name}: the module's tables exceed the limit of "
                                   f"{self.limits.table_elements:,} elements")
        return WasmError(f"{self.program.name}: {text.strip().splitlines()[0]}")


def _trap_text(exc: wasmtime.Trap) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("wasm trap:"):
            return ln.removeprefix("wasm trap:").strip()
    return lines[0] if lines else "trap"


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WasmPayloadError(f"{what} is not valid UTF-8 (byte {exc.start})") from None


def json_request(raw: bytes, op: str) -> Any:
    """The guest's request: UTF-8 JSON (empty means {})."""
    if not raw:
        return {}
    text = _text(raw, f"request to {op!r}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WasmPayloadError(f"request to {op!r} is not valid JSON (column {exc.colno}): "
                               f"{exc.msg}") from None
    except RecursionError:
        raise WasmPayloadError(f"request to {op!r} is not valid JSON: nested too deeply") from None
    except ValueError as exc:   # e.g. an integer longer than Python converts
        raise WasmPayloadError(f"request to {op!r} is not valid JSON: {exc}") from None


def _encode(value: Any) -> bytes:
    """Bytes pass as they are; anything else is JSON."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return dumps(value)
