"""ABI version 1 between the vdfs host and a WASM guest (the contract of docs/wasm-extensions.md).

Guest exports:  memory, vdfs_abi_version() -> i32 (must return ABI_VERSION),
                vdfs_alloc(size i32) -> ptr i32, and entry points `name(in_ptr i32, in_len i32)
                -> status i32` (0 = success).
Host imports:   module "vdfs" only —
                call(op_ptr, op_len, req_ptr, req_len) -> i32   run one host operation;
                    n >= 0: success, the response has n bytes; n < 0: failure, the error
                    response ({"error": kind, "message": text}) has -n bytes.
                response(ptr, cap) -> i32   copy the pending response to ptr, return its length.
Pointers and lengths are unsigned 32-bit; every pair is checked against the guest's memory.
"""
from __future__ import annotations

from typing import Any

import wasmtime

from .errors import WasmAbiError, WasmBadPointer

ABI_VERSION = 1
HOST_MODULE = "vdfs"
ALLOC_EXPORT = "vdfs_alloc"
VERSION_EXPORT = "vdfs_abi_version"

_I32 = wasmtime.ValType.i32()
HOST_FUNCS: dict[str, wasmtime.FuncType] = {
    "call": wasmtime.FuncType([_I32, _I32, _I32, _I32], [_I32]),
    "response": wasmtime.FuncType([_I32, _I32], [_I32]),
}
ENTRY_TYPE = ([_I32, _I32], [_I32])


def _sig(t: Any) -> tuple[list[str], list[str]]:
    return [str(p) for p in t.params], [str(r) for r in t.results]


def check_module(module: wasmtime.Module) -> None:
    """Refuse a module whose imports the host does not provide or whose exports miss the ABI."""
    for imp in module.imports:
        name = f"{imp.module}.{imp.name}"
        expected = HOST_FUNCS.get(imp.name) if imp.module == HOST_MODULE else None
        if expected is None:
            what = "WASI is not available to extensions" if imp.module.startswith("wasi") else \
                f"the host provides only {', '.join(HOST_MODULE + '.' + n for n in HOST_FUNCS)}"
            raise WasmAbiError(f"the module imports {name}, which the host does not provide "
                               f"({what})")
        if not isinstance(imp.type, wasmtime.FuncType) or _sig(imp.type) != _sig(expected):
            raise WasmAbiError(f"the module imports {name} with the wrong type; ABI "
                               f"{ABI_VERSION} has {name}{_sig(expected)}")
    exports = {e.name: e.type for e in module.exports}
    if not isinstance(exports.get("memory"), wasmtime.MemoryType):
        raise WasmAbiError("the module does not export its linear memory as 'memory'")
    for name, sig in ((ALLOC_EXPORT, ([str(_I32)], [str(_I32)])),
                      (VERSION_EXPORT, ([], [str(_I32)]))):
        t = exports.get(name)
        if not isinstance(t, wasmtime.FuncType) or _sig(t) != sig:
            raise WasmAbiError(f"the module does not export {name}{sig} (ABI {ABI_VERSION})")


def check_entry(module: wasmtime.Module, name: str) -> None:
    t = {e.name: e.type for e in module.exports}.get(name)
    if t is None:
        raise WasmAbiError(f"the module exports no function {name!r}")
    if not isinstance(t, wasmtime.FuncType) or _sig(t) != ([str(x) for x in ENTRY_TYPE[0]],
                                                           [str(x) for x in ENTRY_TYPE[1]]):
        raise WasmAbiError(f"export {name!r} must have type (i32 ptr, i32 len) -> i32 status")


class GuestMemory:
    """Checked access to one guest's linear memory."""

    def __init__(self, memory: wasmtime.Memory, store: Any):
        self._memory, self._store = memory, store

    def _span(self, ptr: int, length: int, what: str) -> tuple[int, int]:
        ptr, length = ptr & 0xFFFFFFFF, length & 0xFFFFFFFF
        size = self._memory.data_len(self._store)
        if ptr + length > size:
            raise WasmBadPointer(f"{what}: pointer {ptr:#x} + length {length:,} lies outside the "
                                 f"guest's memory of {size:,} bytes")
        return ptr, length

    def read(self, ptr: int, length: int, what: str) -> bytes:
        start, n = self._span(ptr, length, what)
        return bytes(self._memory.read(self._store, start, start + n)) if n else b""

    def write(self, ptr: int, data: bytes, what: str) -> None:
        start, _ = self._span(ptr, len(data), what)
        if data:
            self._memory.write(self._store, data, start)

    def size(self) -> int:
        return self._memory.data_len(self._store)
