"""The WASM sandbox against hostile guests: every one a real module, every failure a WasmError
that names its cause, and after each the host still works, the library passes integrity_check,
and nothing was written outside the extension's grant."""
from __future__ import annotations

import json
import uuid

import pytest
import wasmtime

from core.extensions import Permission
from core.extensions.definition import ExtensionDefinition
from core.extensions.manager import ExtensionManager
from core.extensions.wasm import (OPERATIONS, Limits, WasmAbiError, WasmBadPointer,
                                  WasmCompileError, WasmDeadlineExceeded, WasmError, WasmGuestError,
                                  WasmHost, WasmMemoryLimit, WasmOutOfFuel, WasmPayloadError,
                                  WasmProgram, WasmReentrantCall, WasmStackOverflow, WasmTrap)
from core.extensions.wasm.engine import WasmEngine
from tests import wasm_guests as g

EXT = "com.test.wasmguest"
FAST = Limits(fuel=2_000_000, deadline_ms=2_000, memory_bytes=4 << 20, max_request_bytes=4096,
              max_response_bytes=8192, max_output_bytes=8192)


@pytest.fixture
def world(lib, tmp_path):
    root = tmp_path / "files"
    for rel, data in {"public/a.txt": b"alpha" * 10, "public/big.txt": b"x" * 20_000,
                      "public/pic.jpg": b"\xff\xd8jpeg", "private/secret.txt": b"secret"}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr = lib.extensions
    d = ExtensionDefinition(id=EXT, name="Guest", version="1.0.0",
                            permissions=[Permission.ReadEntries(glob="**/*.txt"), Permission.WriteTags])
    ctx = mgr.install(d, [Permission.ReadEntries(glob="**/*.txt").scoped_to(str(root / "public"))])
    host = WasmHost(api=ctx.vdfs(), settings={"min_size": 5}, trace=ctx.trace)
    yield lib, root, host
    mgr.close()


def entry_uuid(lib, path) -> str:
    row = lib.conn.execute("SELECT uuid FROM entries WHERE path = ?", (str(path),)).fetchone()
    return str(uuid.UUID(bytes=row[0]))


def snapshot(lib) -> tuple:
    return tuple(lib.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("tag_links", "models", "entries", "user_metadata"))


def assert_unharmed(lib, host, before) -> None:
    """The host still runs a good guest, the library is intact and unchanged."""
    out = WasmProgram(g.proxy(), name=EXT, limits=FAST).call(
        "run", g.proxy_input("settings.get", "{}"), host)
    assert json.loads(out) == {"min_size": 5}
    assert lib.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert snapshot(lib) == before


def run(wasm: bytes, host, payload=b"", limits=FAST):
    return WasmProgram(wasm, name=EXT, limits=limits).call("run", payload, host)


# ---- a working guest -------------------------------------------------------------------------
def test_proxy_guest_runs_scoped_operations(world):
    lib, root, host = world
    prog = WasmProgram(g.proxy(), name=EXT, limits=FAST)
    out = json.loads(prog.call("run", g.proxy_input("query", json.dumps(
        {"query": "entries where is_dir = false order by name", "page_size": 1})), host))
    assert [r["name"] for r in out["rows"]] == ["a.txt"] and out["total"] == 2
    nxt = json.loads(prog.call("run", g.proxy_input("query.next", json.dumps(
        {"cursor": out["cursor"]})), host))
    assert nxt["cursor"] is None and [r["name"] for r in nxt["rows"]] == ["big.txt"]
    a = entry_uuid(lib, root / "public/a.txt")
    assert prog.call("run", g.proxy_input("entry.read", json.dumps(
        {"entry": a, "offset": 3, "length": 4})), host) == b"haal"


# ---- runaway guests ----------------------------------------------------------------------------
LOOP = "(loop $l (br $l)) (i32.const 0)"


def test_infinite_loop_is_stopped_by_fuel(world):
    lib, _, host = world
    before = snapshot(lib)
    with pytest.raises(WasmOutOfFuel, match="out of fuel after 2,000,000 units"):
        run(g.simple(LOOP), host)
    with pytest.raises(WasmOutOfFuel, match="out of fuel"):     # looping in its start function
        run(g.simple("(i32.const 0)", extra="(func $spin (loop $l (br $l))) (start $spin)"), host)
    assert_unharmed(lib, host, before)


def test_infinite_loop_is_stopped_by_the_deadline(world):
    lib, _, host = world
    before = snapshot(lib)
    with pytest.raises(WasmDeadlineExceeded, match="deadline of 50 ms exceeded"):
        run(g.simple(LOOP), host, limits=FAST.with_overrides(fuel=10**13, deadline_ms=50))
    assert_unharmed(lib, host, before)


def test_memory_bomb_hits_the_memory_limit(world):
    lib, _, host = world
    before = snapshot(lib)
    bomb = """(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
              (unreachable)"""
    with pytest.raises(WasmMemoryLimit, match="linear memory limit of 4,194,304 bytes reached"):
        run(g.simple(bomb), host)
    with pytest.raises(WasmMemoryLimit, match="memory exceeds the limit"):
        run(g.simple("(i32.const 0)", pages=1000), host)     # 64 MB declared up front
    with pytest.raises(WasmMemoryLimit, match="tables exceed the limit of 10,000 elements"):
        run(g.simple("(i32.const 0)", extra="(table 100000 funcref)"), host)
    # growing a table past the limit is refused (-1); status 0 means the guest saw the refusal
    grow_table = "(i32.ne (table.grow (ref.null func) (i32.const 50000)) (i32.const -1))"
    assert run(g.simple(grow_table, extra="(table 1 funcref)"), host) is None
    assert_unharmed(lib, host, before)


def test_deep_recursion_is_a_stack_overflow(world):
    lib, _, host = world
    before = snapshot(lib)
    rec = g.simple("(call $down (i32.const 0))",
                   extra="(func $down (param i32) (result i32) "
                         "(call $down (i32.add (local.get 0) (i32.const 1))))")
    with pytest.raises(WasmStackOverflow, match="stack overflow"):
        run(rec, host, limits=FAST.with_overrides(fuel=10**9))
    assert_unharmed(lib, host, before)


def test_a_plain_trap_names_its_cause(world):
    lib, _, host = world
    with pytest.raises(WasmTrap, match="divide by zero"):
        run(g.simple("(i32.div_u (i32.const 1) (local.get $len))"), host)


# ---- pointers, lengths and payloads -------------------------------------------------------------
@pytest.mark.parametrize("op", sorted(OPERATIONS) + ["output", "output.raw"])
def test_out_of_bounds_request_into_every_operation(world, op):
    lib, _, host = world
    before = snapshot(lib)
    n = len(op)
    with pytest.raises(WasmBadPointer, match="request to .*outside the guest's memory of 65,536"):
        run(g.raw_call(op, "64", str(n), "65530", "100"), host)
    with pytest.raises(WasmBadPointer, match="outside the guest's memory"):
        run(g.raw_call(op, "64", str(n), "-16", "32"), host)       # wraps to 0xFFFFFFF0
    assert_unharmed(lib, host, before)


def test_out_of_bounds_operation_name_and_response_buffer(world):
    lib, _, host = world
    before = snapshot(lib)
    with pytest.raises(WasmBadPointer, match="operation name: pointer 0xfffffff0"):
        run(g.raw_call("log", "-16", "8", "0", "0"), host)
    after = "(drop (call $response (i32.const 65530) (i32.const 100)))"
    with pytest.raises(WasmBadPointer, match="response buffer"):
        run(g.raw_call("settings.get", "64", "12", "0", "0", after), host)
    small = "(drop (call $response (i32.const 0) (i32.const 2)))"
    with pytest.raises(WasmBadPointer, match="smaller than the 14-byte response"):
        run(g.raw_call("settings.get", "64", "12", "0", "0", small), host)
    nothing = "(drop (call $response (i32.const 0) (i32.const 100)))"
    with pytest.raises(WasmPayloadError, match="no pending response"):
        run(g.simple(f"{nothing} (i32.const 0)"), host)
    assert_unharmed(lib, host, before)


def test_alloc_returning_a_bad_pointer_fails_the_call(world):
    lib, _, host = world
    wat = ('(module (memory (export "memory") 1)'
           ' (func (export "vdfs_abi_version") (result i32) (i32.const 1))'
           ' (func (export "vdfs_alloc") (param i32) (result i32) (i32.const 65535))'
           ' (func (export "run") (param i32 i32) (result i32) (i32.const 0)))')
    with pytest.raises(WasmBadPointer, match="vdfs_alloc"):
        run(wasmtime.wat2wasm(wat), host, payload=b"0123456789")


def test_oversized_requests_and_responses(world):
    lib, root, host = world
    before = snapshot(lib)
    with pytest.raises(WasmPayloadError, match="request of 5,000 bytes to 'log' exceeds the cap "
                                               "of 4,096 bytes"):
        run(g.raw_call("log", "64", "3", "0", "5000"), host)
    big = entry_uuid(lib, root / "public/big.txt")
    with pytest.raises(WasmPayloadError, match="response of 8,193 bytes to 'entry.read' exceeds "
                                               "the cap of 8,192 bytes"):
        run(g.proxy(), host, g.proxy_input("entry.read", json.dumps({"entry": big})))
    # asked within the cap, the same file is read in pieces
    piece = run(g.proxy(), host, g.proxy_input("entry.read", json.dumps(
        {"entry": big, "offset": 19_990, "length": 100})))
    assert piece == b"x" * 10
    with pytest.raises(WasmPayloadError, match="operation name of 1,000 bytes"):
        run(g.raw_call("log", "64", "1000", "0", "0"), host)
    assert_unharmed(lib, host, before)


def test_invalid_utf8_and_json(world):
    lib, _, host = world
    before = snapshot(lib)
    with pytest.raises(WasmPayloadError, match="operation name is not valid UTF-8"):
        run(g.proxy(), host, g.proxy_input(b"lo\xffg", "{}"))
    with pytest.raises(WasmPayloadError, match="request to 'log' is not valid UTF-8"):
        run(g.proxy(), host, g.proxy_input("log", b'{"message": "\xc3"}'))
    with pytest.raises(WasmPayloadError, match="request to 'log' is not valid JSON"):
        run(g.proxy(), host, g.proxy_input("log", '{"message": '))
    with pytest.raises(WasmGuestError, match="must be a JSON object"):
        run(g.proxy(), host, g.proxy_input("log", "[1, 2]"))
    assert_unharmed(lib, host, before)


# ---- permissions and scope -----------------------------------------------------------------
def test_operations_not_granted_are_refused(world):
    lib, root, host = world
    before = snapshot(lib)
    a = entry_uuid(lib, root / "public/a.txt")
    with pytest.raises(WasmGuestError, match=r"PermissionDenied: .*WriteTags was not granted"):
        run(g.proxy(), host, g.proxy_input("tags.add", json.dumps({"entry": a, "tag": "#x"})))
    with pytest.raises(WasmGuestError, match=r"no host operation 'fs.open'"):
        run(g.proxy(), host, g.proxy_input("fs.open", "{}"))
    with pytest.raises(WasmGuestError, match="not running as a job"):
        run(g.proxy(), host, g.proxy_input("job.checkpoint", '{"state": {}}'))
    with pytest.raises(WasmGuestError, match="job dispatch is not available"):
        run(g.proxy(), host, g.proxy_input("job.dispatch", '{"job": "x"}'))
    assert_unharmed(lib, host, before)


def test_paths_and_queries_outside_the_scope(world):
    lib, root, host = world
    before = snapshot(lib)
    for rel in ("private/secret.txt", "public/pic.jpg"):
        eu = entry_uuid(lib, root / rel)
        with pytest.raises(WasmGuestError, match="PermissionDenied"):
            run(g.proxy(), host, g.proxy_input("entry.read", json.dumps({"entry": eu})))
    out = json.loads(run(g.proxy(), host, g.proxy_input("query", json.dumps(
        {"query": "entries where name ~ \"*secret*\" or ext = jpg"}))))
    assert out["rows"] == [] and out["total"] == 0           # the scope is in the SQL
    counted = json.loads(run(g.proxy(), host, g.proxy_input("query", json.dumps(
        {"query": "entries where is_dir = false group by ext select ext, count() as n"}))))
    assert counted["rows"] == [{"ext": "txt", "n": 2}]
    with pytest.raises(WasmGuestError, match="PermissionDenied: .*not 'content'"):
        run(g.proxy(), host, g.proxy_input("query", json.dumps({"query": "content duplicates"})))
    with pytest.raises(WasmGuestError, match="not a valid|no entry"):
        run(g.proxy(), host, g.proxy_input("entry.read", json.dumps({"entry": str(uuid.uuid4())})))
    assert_unharmed(lib, host, before)


def test_reentrant_call_is_refused(world):
    lib, _, host = world
    before = snapshot(lib)
    prog = WasmProgram(g.proxy(), name=EXT, limits=FAST)

    def trace(message, level="info"):
        prog.call("run", g.proxy_input("log", '{"message": "again"}'), host)

    reentrant = WasmHost(api=host.api, settings=host.settings, trace=trace)
    with pytest.raises(WasmReentrantCall, match="while a call of the same extension is running"):
        prog.call("run", g.proxy_input("log", '{"message": "hello"}'), reentrant)
    assert_unharmed(lib, host, before)


# ---- modules the host refuses to run ----------------------------------------------------------
def test_module_importing_what_the_host_does_not_provide(world):
    lib, _, host = world
    extra = '(import "vdfs" "open_socket" (func (param i32) (result i32)))'
    with pytest.raises(WasmAbiError, match="imports vdfs.open_socket, which the host does not "
                                           "provide"):
        WasmProgram(g.module("", imports=g.IMPORTS + extra))
    wasi = '(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))'
    with pytest.raises(WasmAbiError, match="WASI is not available"):
        WasmProgram(g.module("", imports=wasi))
    bad_type = '(import "vdfs" "call" (func (param i32) (result i32)))'
    with pytest.raises(WasmAbiError, match="vdfs.call with the wrong type"):
        WasmProgram(g.module("", imports=bad_type))
    with pytest.raises(WasmAbiError, match="does not export its linear memory"):
        WasmProgram(wasmtime.wat2wasm(
            '(module (func (export "vdfs_abi_version") (result i32) (i32.const 1)))'))
    with pytest.raises(WasmCompileError, match="not a valid WebAssembly module"):
        WasmProgram(b"\0asm\x01\0\0\0garbage")
    with pytest.raises(WasmAbiError, match="exports no function 'nope'"):
        WasmProgram(g.proxy()).call("nope", b"", host)


def test_module_of_the_wrong_abi_version(world):
    lib, _, host = world
    with pytest.raises(WasmAbiError, match="speaks vdfs ABI 2; this host speaks ABI 1"):
        run(g.simple("(i32.const 0)", version=2), host)


def test_every_error_is_a_vdfs_error():
    from core.errors import VdfsError
    assert issubclass(WasmError, VdfsError)


# ---- compilation cache -----------------------------------------------------------------------
def test_compiled_modules_are_cached_on_disk(tmp_path):
    wasm = g.proxy()
    first = WasmEngine()
    first.module(wasm, tmp_path)
    assert first.compiles == 1 and len(list(tmp_path.glob("*.cwasm"))) == 1
    second = WasmEngine()              # a new process, as far as wasmtime is concerned
    second.module(wasm, tmp_path)
    assert second.compiles == 0
    (next(tmp_path.glob("*.cwasm"))).write_bytes(b"corrupt")
    third = WasmEngine()
    third.module(wasm, tmp_path)
    assert third.compiles == 1         # a bad cache file is compiled again
    assert WasmEngine.cache_key(wasm) != WasmEngine.cache_key(wasm + b"\0")


def test_json_bombs_are_payload_errors(world):
    """Nesting deeper than the parser's recursion, and integers longer than Python converts,
    are malformed payloads like any other — never a RecursionError or ValueError."""
    lib, _, host = world
    before = snapshot(lib)
    deep = FAST.with_overrides(max_request_bytes=200_000, max_response_bytes=200_000)
    with pytest.raises(WasmPayloadError, match="request to 'log' is not valid JSON"):
        run(g.proxy(), host, g.proxy_input("log", "[" * 100_000), limits=deep)
    with pytest.raises(WasmPayloadError, match="request to 'log' is not valid JSON"):
        run(g.proxy(), host, g.proxy_input("log", '{"message": ' + "9" * 5000 + "}"), limits=deep)
    assert_unharmed(lib, host, before)


def test_open_query_cursors_are_capped(world):
    lib, _, host = world
    prog = WasmProgram(g.proxy(), name=EXT, limits=FAST)
    request = g.proxy_input("query", json.dumps({"query": "entries", "page_size": 1}))
    for _ in range(8):
        prog.call("run", request, host)
    with pytest.raises(WasmGuestError, match="too many open query cursors"):
        prog.call("run", request, host)


def test_a_stop_request_raised_inside_a_host_call_reaches_the_caller(world):
    """A job's pause/cancel (StopJob, a BaseException) raised by a host operation must come out
    of the call as itself, not be swallowed at wasmtime's callback boundary."""
    from core.jobs.errors import StopJob
    lib, _, host = world

    def trace(message, level="info"):
        raise StopJob("pause")

    stopping = WasmHost(api=host.api, settings=host.settings, trace=trace)
    with pytest.raises(StopJob):
        run(g.proxy(), stopping, g.proxy_input("log", '{"message": "x"}'))

    def broken(message, level="info"):
        raise RuntimeError("a host bug")

    with pytest.raises(RuntimeError, match="a host bug"):     # a host bug is not hidden either
        run(g.proxy(), WasmHost(api=host.api, trace=broken), g.proxy_input("log", '{"message": "x"}'))
    assert_unharmed(lib, host, snapshot(lib))
