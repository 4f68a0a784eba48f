"""WAT sources of test guests for the WASM host (real modules, compiled by wasmtime.wat2wasm).

`proxy` forwards one host call chosen by the test: its input is `u32 len(op) | op | request`,
and it returns the host's response (or error response) through `output.raw`, failing with
status 1 when the host refused the operation.
"""
from __future__ import annotations

import struct

import wasmtime

IMPORTS = """
  (import "vdfs" "call" (func $call (param i32 i32 i32 i32) (result i32)))
  (import "vdfs" "response" (func $response (param i32 i32) (result i32)))"""

ALLOC = """
  (global $heap (mut i32) (i32.const 4096))
  (func (export "vdfs_abi_version") (result i32) (i32.const VERSION))
  (func $alloc (export "vdfs_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (block $ok
      (loop $grow
        (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then (unreachable)))
        (br $grow)))
    (local.get $p))"""


def module(body: str, *, imports: str = IMPORTS, pages: int = 1, version: int = 1,
           memory: bool = True) -> bytes:
    mem = f'(memory (export "memory") {pages})' if memory else ""
    return wasmtime.wat2wasm(f"(module {imports} {mem} {ALLOC.replace('VERSION', str(version))}"
                             f" {body})")


PROXY_BODY = """
  (data (i32.const 0) "output.raw")
  (func (export "run") (param $in i32) (param $len i32) (result i32)
    (local $oplen i32) (local $r i32) (local $n i32) (local $buf i32)
    (local.set $oplen (i32.load (local.get $in)))
    (local.set $r (call $call (i32.add (local.get $in) (i32.const 4)) (local.get $oplen)
                              (i32.add (i32.add (local.get $in) (i32.const 4)) (local.get $oplen))
                              (i32.sub (i32.sub (local.get $len) (i32.const 4)) (local.get $oplen))))
    (local.set $n (select (i32.sub (i32.const 0) (local.get $r)) (local.get $r)
                          (i32.lt_s (local.get $r) (i32.const 0))))
    (local.set $buf (call $alloc (local.get $n)))
    (drop (call $response (local.get $buf) (local.get $n)))
    (drop (call $call (i32.const 0) (i32.const 10) (local.get $buf) (local.get $n)))
    (drop (call $response (i32.const 16) (i32.const 4)))
    (i32.lt_s (local.get $r) (i32.const 0)))"""


def proxy() -> bytes:
    return module(PROXY_BODY)


def proxy_input(op: str | bytes, request: bytes | str) -> bytes:
    op_b = op.encode() if isinstance(op, str) else op
    req_b = request.encode() if isinstance(request, str) else request
    return struct.pack("<I", len(op_b)) + op_b + req_b


def raw_call(op: str, op_ptr: str, op_len: str, req_ptr: str, req_len: str,
             after: str = "") -> bytes:
    """A guest whose `run` makes one host call with the given (possibly hostile) operands;
    `op` is placed at offset 64 and the operands may refer to it as 64."""
    return module(f"""
  (data (i32.const 64) "{op}")
  (func (export "run") (param $in i32) (param $len i32) (result i32) (local $r i32)
    (local.set $r (call $call (i32.const {op_ptr}) (i32.const {op_len}) (i32.const {req_ptr})
                              (i32.const {req_len})))
    {after}
    (i32.const 0))""")


def simple(run_body: str, extra: str = "", **kw) -> bytes:
    return module(f"""{extra}
  (func (export "run") (param $in i32) (param $len i32) (result i32) {run_body})""", **kw)


class Segments:
    """Constant strings placed in a guest's memory (offsets from 128 up), for WAT bodies."""

    def __init__(self, start: int = 128):
        self.at = start
        self.items: list[tuple[int, bytes]] = []

    def __call__(self, text: str | bytes) -> str:
        """WAT operands `(i32.const ptr) (i32.const len)` for `text`."""
        data = text.encode() if isinstance(text, str) else text
        ptr = self.at
        self.items.append((ptr, data))
        self.at += len(data) + 8
        return f"(i32.const {ptr}) (i32.const {len(data)})"

    def wat(self) -> str:
        def esc(b: bytes) -> str:
            return "".join(f"\\{c:02x}" for c in b)
        return "\n".join(f'(data (i32.const {p}) "{esc(d)}")' for p, d in self.items)


def host_call(seg: Segments, op: str, request: str) -> str:
    """WAT: call `op` with a constant request, drop the result and clear the response."""
    return (f"(local.set $r (call $call {seg(op)} {seg(request)}))"
            "(drop (call $response (i32.const 3000) (i32.const 1000)))")
