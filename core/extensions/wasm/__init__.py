"""The WASM extension host: sandboxed calls into WebAssembly guests whose every host operation
goes through the same permission-checked host API as Python extensions.

    program = WasmProgram(wasm_bytes, name="com.example.x", limits=Limits(fuel=5_000_000))
    program.call("run", {"min_size": 1000}, WasmHost(api=ctx.vdfs()))
"""
from .abi import ABI_VERSION
from .errors import (WasmAbiError, WasmBadPointer, WasmCompileError, WasmDeadlineExceeded,
                     WasmError, WasmGuestError, WasmMemoryLimit, WasmOutOfFuel, WasmPayloadError,
                     WasmReentrantCall, WasmStackOverflow, WasmTrap)
from .hostops import OPERATIONS, WasmHost
from .limits import DEFAULTS, Limits, limits_from_manifest
from .sandbox import WasmProgram

__all__ = ["ABI_VERSION", "WasmProgram", "WasmHost", "OPERATIONS", "Limits", "DEFAULTS",
           "limits_from_manifest", "WasmError", "WasmAbiError", "WasmBadPointer",
           "WasmCompileError", "WasmDeadlineExceeded", "WasmGuestError", "WasmMemoryLimit",
           "WasmOutOfFuel", "WasmPayloadError", "WasmReentrantCall", "WasmStackOverflow",
           "WasmTrap"]
