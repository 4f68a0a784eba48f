"""What can go wrong when the host runs a WASM extension, one class per cause.

Every class is a `VdfsError`: a guest can cause all of them, and none may take the host down.
The message names the cause and the limit that stopped it ("out of fuel after 5,000,000 units").
"""
from __future__ import annotations

from core.errors import VdfsError


class WasmError(VdfsError):
    """A WASM extension call failed; the store of that call was discarded."""


class WasmAbiError(WasmError):
    """The module does not speak this host's ABI: wrong version, a missing export, or an import
    the host does not provide."""


class WasmCompileError(WasmError):
    """The bytes are not a valid WebAssembly module."""


class WasmTrap(WasmError):
    """The guest trapped (unreachable, division by zero, out-of-bounds access of its memory…)."""


class WasmOutOfFuel(WasmTrap):
    """The call used all the fuel (instructions) its limits allow."""


class WasmDeadlineExceeded(WasmTrap):
    """The call ran past its wall-clock deadline and was interrupted."""


class WasmStackOverflow(WasmTrap):
    """The guest recursed deeper than the host's wasm stack allows."""


class WasmMemoryLimit(WasmTrap):
    """The guest wanted more linear memory or table elements than its limits allow."""


class WasmBadPointer(WasmError):
    """A pointer/length pair handed to the host lies outside the guest's memory."""


class WasmPayloadError(WasmError):
    """A request or response is malformed (not UTF-8, not JSON, wrong shape) or too large."""


class WasmReentrantCall(WasmError):
    """The extension was called again while a call of the same extension was running on this
    thread (a host operation that led back into the guest)."""


class WasmGuestError(WasmError):
    """The guest reported a failure (a non-zero status from an exported function)."""
