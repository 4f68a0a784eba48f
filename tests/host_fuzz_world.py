"""The world of the host-API fuzz: one real library with three locations, `photos` (granted),
`private` and `PHOTOS` (a root differing only in case), duplicate bytes across them, a symlink
from photos into private, a hard link, a non-UTF-8 name and a name with a backslash; an
extension granted `photos` only; what the user owns outside the grant. And the invariants:
`snapshot` (everything the extension must not change), `assert_no_leak`, and `call`, which runs
one host call under them (only a VdfsError, within 2 s)."""
from __future__ import annotations

import hashlib
import os
import signal
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import core
from core.errors import VdfsError
from core.extensions import Permission
from core.extensions.definition import extension
from core.extensions.manager import ExtensionManager
from core.domain.models import blob_data, model
from core.domain.sidecars import Sidecars

HUGE = 2 ** 80

EXT = "com.test.hostfuzz"
OTHER = "com.test.hostfuzz_other"
CALL_LIMIT = 2.0            # seconds one host call may take
HARD_STOP = 10              # seconds after which a call is interrupted as a hang
SECRET = b"SECRET"          # every out-of-scope file's bytes start with this


@model(version="1.0.0", scope="standalone", extension_id=EXT)
@dataclass
class Album:
    name: str = ""
    cover: bytes = blob_data(lazy=False, default=b"")


@model(version="1.0.0", scope="content", extension_id=EXT)
@dataclass
class Caption:
    text: str = ""
    score: float = 0.0


@model(version="1.0.0", scope="entry", extension_id=EXT)
@dataclass
class Mark:
    label: str = ""


@model(version="1.0.0", scope="standalone", extension_id=OTHER)
@dataclass
class Secret:
    name: str = ""


@extension(id=EXT, name="Host fuzz", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**"), Permission.WriteTags,
                        Permission.ReadSidecars(kinds=["exif", "faces"]),
                        Permission.WriteSidecars(kinds=["faces"]),
                        Permission.WriteCustomFields(namespaces=["fz"])])
class HostFuzz:
    models = [Album, Caption, Mark]


@extension(id=OTHER, name="Other", version="1.0.0", permissions=[Permission.ReadEntries()])
class OtherExt:
    models = [Secret]


# ---- the world -----------------------------------------------------------------------------
@dataclass
class World:
    lib: Any
    api: Any
    tmp: Path
    entries_in: list[uuid.UUID]         # readable entries of photos (regular files)
    entries_out: list[uuid.UUID]        # private and PHOTOS
    contents_in: list[uuid.UUID]
    contents_out: list[uuid.UUID]       # content with no copy in photos
    other_models: list[uuid.UUID]
    user_collection: uuid.UUID
    own_models: list[Any]               # instances the extension created during the run
    bytes_of: dict[uuid.UUID, bytes]    # what read_entry must return for an in-scope entry
    hidden_model: uuid.UUID             # the extension's type, attached outside the grant
    link: uuid.UUID                     # photos/link.jpg -> private: inside by path, never read
    calls: int = 0


def _write(path: Path | bytes, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _entry_rows(lib) -> list[tuple[uuid.UUID, str, bytes | None, uuid.UUID | None, str]]:
    rows = lib.conn.execute(
        "SELECT e.uuid, e.path, e.raw_path, c.uuid, l.path FROM entries e "
        "JOIN locations l ON l.id = e.location_id "
        "LEFT JOIN content_identities c ON c.id = e.content_id").fetchall()
    return [(uuid.UUID(bytes=u), p, raw, uuid.UUID(bytes=c) if c else None, root)
            for u, p, raw, c, root in rows]


def build_world(lib, tmp: Path) -> World:
    photos, private, upper = tmp / "photos", tmp / "private", tmp / "PHOTOS"
    for d in (photos / "sub", private, upper):
        d.mkdir(parents=True)
    _write(photos / "a.jpg", b"dup bytes shared with private")
    _write(photos / "sub" / "b.png", b"photos only b")
    _write(photos / "back\\slash.jpg", b"photos backslash")
    _write(os.fsencode(photos) + b"/bad\xff.jpg", b"photos non-utf8 name")
    _write(private / "dup.jpg", b"dup bytes shared with private")
    _write(private / "secret.txt", SECRET + b" private text")
    # one inode, two names: readable through photos/hard.txt by the documented rule that vdfs
    # grants by path, so its bytes carry no SECRET marker
    _write(private / "hard_src.txt", b"one inode, also named photos/hard.txt")
    _write(upper / "x.jpg", SECRET + b" other case")
    os.symlink(private / "secret.txt", photos / "link.jpg")
    os.link(private / "hard_src.txt", photos / "hard.txt")
    for d in (photos, private, upper):
        lib.index(lib.add_location(d)).wait(timeout=60)

    mgr = lib.extensions
    mgr.install(OtherExt, [Permission.ReadEntries()])
    scope = "photos"
    api = mgr.install(HostFuzz, [
        Permission.ReadEntries(glob="**").scoped_to(scope), Permission.WriteTags.scoped_to(scope),
        Permission.ReadSidecars(kinds=["exif", "faces"]).scoped_to(scope),
        Permission.WriteSidecars(kinds=["faces"]).scoped_to(scope),
        Permission.WriteCustomFields(namespaces=["fz"]).scoped_to(scope)]).vdfs()

    rows = _entry_rows(lib)
    in_photos = {u for u, p, _, _, root in rows if root == str(photos)}
    link = next(u for u, p, _, _, _ in rows if p == str(photos / "link.jpg"))
    entries_in, bytes_of = [], {}
    for u, p, raw, _, root in rows:
        if u in in_photos and u != link:
            entries_in.append(u)
            target = raw if raw is not None else p.encode("utf-8", "surrogateescape")
            if os.path.isfile(target):
                bytes_of[u] = Path(os.fsdecode(target)).read_bytes()
    entries_out = [u for u, *_ in rows if u not in in_photos]
    contents_in = sorted({c for u, _, _, c, _ in rows if c and u in in_photos and u != link})
    contents_out = sorted({c for u, _, _, c, _ in rows if c} - set(contents_in))

    # what the user (not the extension) owns outside the grant
    user = lib.vdfs()
    private_entry = next(u for u, p, *_ in rows if p == str(private / "secret.txt"))
    private_content = next(c for u, p, _, c, _ in rows if p == str(private / "secret.txt"))
    user.add_tag_to_entry(private_entry, "#secret")
    user.add_tag_to_content(private_content, "#secret-content")
    user.set_note(private_entry, "SECRET note")
    user.set_custom_data(private_content, {"fz": {"v": "SECRET"}}, scope="content")
    user.create_tag("#user-colour", color="#123456")
    other_models = [user.create_model(Secret(name="SECRET of the other extension"))]
    # the extension's own type on private content, as a narrowed grant leaves behind
    hidden = user.create_model_for_content(private_content, Caption(text="SECRET caption"))
    col = user.create_collection("user's own")
    user.add_to_collection(col.uuid, private_entry, kind="entry")
    Sidecars(lib.path).write_bytes(private_content, "faces", "json", SECRET + b" sidecar")
    Sidecars(lib.path).write_bytes(private_content, "exif", "json", SECRET + b" exif")
    return World(lib, api, tmp, entries_in, entries_out, contents_in, contents_out, other_models,
                 col.uuid, [], bytes_of, hidden, link)


# ---- the invariants ------------------------------------------------------------------------
def _files(tmp: Path, lib_path: Path) -> dict[str, tuple[str, str]]:
    """Every file and link under tmp except the library's own folder: kind and bytes digest."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(tmp)):
        if os.fsdecode(dirpath).startswith(str(lib_path)):
            continue
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                out[os.fsdecode(p)] = ("link", os.fsdecode(os.readlink(p)))
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    out[os.fsdecode(p)] = ("file", hashlib.sha256(f.read()).hexdigest())
    return out


def snapshot(w: World) -> dict[str, Any]:
    """Everything the extension must not change: rows about out-of-scope targets, other
    extensions' models, the user's collection and tag colours, all files, the table list."""
    conn = w.lib.conn
    ents = [u.bytes for u in w.entries_out]
    conts = [u.bytes for u in w.contents_out]
    mods = [u.bytes for u in w.other_models]

    def marks(xs: list) -> str:
        return ",".join("?" * len(xs)) or "NULL"

    meta = conn.execute(
        f"SELECT id, notes, favorite, hidden, custom_data FROM user_metadata "
        f"WHERE entry_uuid IN ({marks(ents)}) OR content_identity_uuid IN ({marks(conts)}) "
        f"OR id IN (SELECT metadata_id FROM models WHERE uuid IN ({marks(mods)})) ORDER BY id",
        [*ents, *conts, *mods]).fetchall()
    ids = [r[0] for r in meta]
    return {
        "tables": conn.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall(),
        "meta": meta,
        "links": conn.execute(f"SELECT metadata_id, tag_id, applied_by FROM tag_links WHERE "
                              f"metadata_id IN ({marks(ids)}) ORDER BY 1, 2", ids).fetchall(),
        "blobs": conn.execute(f"SELECT metadata_id, blob_key, blob_id FROM user_metadata_blobs "
                              f"WHERE metadata_id IN ({marks(ids)}) ORDER BY 1, 2", ids).fetchall(),
        "models": conn.execute("SELECT uuid, extension_id, data, entry_uuid, content_identity_uuid "
                               "FROM models WHERE extension_id != ? ORDER BY id", (EXT,)).fetchall(),
        "own_out": conn.execute(
            f"SELECT uuid FROM models WHERE extension_id = ? AND (entry_uuid IN ({marks(ents)}) "
            f"OR content_identity_uuid IN ({marks(conts)}))", [EXT, *ents, *conts]).fetchall(),
        # an in-scope item may join any collection (organising is guarded like tagging), so
        # the out-of-scope items of the user's collection are compared, not their positions
        "collection": sorted(r for r in conn.execute(
            "SELECT i.entry_uuid, i.content_uuid, i.model_uuid FROM collection_items i "
            "JOIN collections c ON c.id = i.collection_id WHERE c.uuid = ?",
            (w.user_collection.bytes,)).fetchall() if set(r) & {*ents, *conts, *mods}),
        "user_tags": conn.execute("SELECT name, color, parent_id FROM tags WHERE name LIKE '#user%'"
                                  " OR name LIKE '#secret%' ORDER BY name").fetchall(),
        "entries": conn.execute("SELECT uuid, path, content_id FROM entries ORDER BY id").fetchall(),
        "sidecars": {str(c): sorted(Sidecars(w.lib.path).kinds(c)) for c in w.contents_out},
        "files": _files(w.tmp, Path(w.lib.path)),
    }


_OUTSIDE_MARKERS = (SECRET, SECRET.decode())


def assert_no_leak(w: World, value: Any, depth: int = 0) -> None:
    """No returned value holds out-of-scope bytes or text, or a path outside photos."""
    if depth > 6:
        return
    if isinstance(value, (bytes, bytearray, memoryview)):
        assert SECRET not in bytes(value), f"out-of-scope bytes returned: {bytes(value)[:80]!r}"
        return
    if isinstance(value, str):
        assert "SECRET" not in value, f"out-of-scope text returned: {value[:200]!r}"
        for outside in (w.tmp / "private", w.tmp / "PHOTOS"):
            assert str(outside) + "/" not in value and value != str(outside), \
                f"out-of-scope path returned: {value[:200]!r}"
        return
    if isinstance(value, dict):
        for k, v in value.items():
            assert_no_leak(w, k, depth + 1)
            assert_no_leak(w, v, depth + 1)
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            assert_no_leak(w, v, depth + 1)
        return
    if hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            assert_no_leak(w, getattr(value, name, None), depth + 1)


class Hang(BaseException):
    """A host call ran past HARD_STOP (BaseException: no `except Exception` swallows it)."""


def _alarm(signum, frame):
    raise Hang(f"a host call ran longer than {HARD_STOP} s")


def call(w: World, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one host call under the invariants; returns its result, or the VdfsError raised.
    Any other exception propagates and fails the test with the drawn inputs."""
    w.calls += 1
    before = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, HARD_STOP)
    start = time.monotonic()
    try:
        result = fn(*args, **kwargs)
    except VdfsError as exc:
        result = exc
        assert SECRET.decode() not in str(exc), f"out-of-scope bytes in an error: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
    elapsed = time.monotonic() - start
    assert elapsed < CALL_LIMIT, f"{getattr(fn, '__name__', fn)} took {elapsed:.2f} s"
    if not isinstance(result, VdfsError):
        assert_no_leak(w, result)
    return result


@contextmanager
def fresh_world(base: Path) -> Iterator[World]:
    """A new library and file tree per example, so every example starts from the same state
    (hypothesis can then replay and shrink a failure)."""
    with tempfile.TemporaryDirectory(dir=base) as d:
        lib = core.Library.create(Path(d) / "lib.vdfs")
        try:
            w = build_world(lib, Path(d))
            w.api.query("entries").rows()           # warm caches: the first query of a library
            w.api.query_models(Album).collect()     # opens its engines, which is not a hang
            yield w
        finally:
            lib.extensions.close()
            lib.close()
