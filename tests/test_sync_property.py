"""Convergence: three devices apply random edits and exchange bundles that are reordered,
duplicated, dropped and re-sent, with clocks an hour apart; after a final full exchange all
three hold identical replicated state (a hash over every replicated table).

VDFS_SYNC_EXAMPLES sets the number of generated runs (CI: 200; the default keeps a local run
short)."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import core
from core.errors import VdfsError
from core.sync.errors import BundleReplayedError, SyncError
from core.sync.hlc import wall_ms
from tests.sync_support import (Album, Caption, LocalScore, device_library, exchange,
                                indexed_folder)

NAMES = ("desk", "laptop", "phone")
TAGS = ("#a", "#b", "#person:c")
NOTES = (None, "x", "y")
COLLECTIONS = ("One", "Two")
SKEWS = (-3_600_000, 0, 3_600_000)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Three joined devices, each with a folder of files (one file's bytes on two devices)."""
    root = tmp_path_factory.mktemp("sync_template")
    mp = pytest.MonkeyPatch()
    try:
        libs = [device_library(root, n, mp) for n in NAMES]
        for i, lib in enumerate(libs):
            indexed_folder(lib, root / f"{lib.device_name}-files",
                           {f"own{i}.txt": f"device {i}".encode(), f"dup{i}.txt": b"dup bytes"})
        exchange(libs[0], libs[1], root, join=True)
        exchange(libs[0], libs[2], root, join=True)
        exchange(libs[1], libs[2], root)
        for lib in libs:
            lib.close()
    finally:
        mp.undo()
    return root


def _open_copy(template: Path, dest: Path, monkeypatch) -> list[core.Library]:
    libs = []
    for name in NAMES:
        for suffix in (".vdfs", "-home"):
            shutil.copytree(template / f"{name}{suffix}", dest / f"{name}{suffix}")
        monkeypatch.setenv("VDFS_HOME", str(dest / f"{name}-home"))
        monkeypatch.setenv("VDFS_DEVICE_NAME", name)
        libs.append(core.Library.open(dest / f"{name}.vdfs"))
    return libs


device = st.integers(0, 2)
op = st.one_of(
    st.tuples(st.just("tag"), device, st.integers(0, 5), st.sampled_from(TAGS), st.booleans()),
    st.tuples(st.just("note"), device, st.integers(0, 5), st.sampled_from(NOTES)),
    st.tuples(st.just("favorite"), device, st.integers(0, 5), st.booleans()),
    st.tuples(st.just("collection"), device, st.sampled_from(COLLECTIONS), st.booleans()),
    st.tuples(st.just("item"), device, st.sampled_from(COLLECTIONS), st.integers(0, 5),
              st.booleans()),
    st.tuples(st.just("file"), device, st.integers(0, 2), st.booleans()),
    st.tuples(st.just("skew"), device, st.sampled_from(SKEWS)),
    st.tuples(st.just("caption"), device, st.integers(0, 5), st.sampled_from(NOTES)),
    st.tuples(st.just("score"), device, st.integers(0, 5), st.sampled_from((None, 1, 2))),
    st.tuples(st.just("album"), device, st.integers(0, 2), st.booleans()),
    st.tuples(st.just("note_blob"), device, st.integers(0, 5), st.sampled_from((None, 1, 2))),
    st.tuples(st.just("album_tag"), device, st.integers(0, 2), st.sampled_from(TAGS),
              st.booleans()),
    st.tuples(st.just("send"), device, device, st.booleans()),
    st.tuples(st.just("send"), device, device, st.booleans()),
    st.tuples(st.just("deliver"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("deliver"), st.integers(0, 50), st.booleans()),
)


class World:
    def __init__(self, libs: list[core.Library], root: Path):
        self.libs, self.root = libs, root
        self.messages: list[tuple[int, Path]] = []      # (receiver, bundle file), never deleted

    def target(self, lib: core.Library, i: int) -> tuple[str, str]:
        """The i-th entry or content identity, in an order every device agrees on."""
        rows = lib.conn.execute("SELECT e.uuid, c.uuid FROM entries e LEFT JOIN content_identities "
                                "c ON c.id = e.content_id WHERE e.is_dir = 0 ORDER BY e.path"
                                ).fetchall()
        e, c = rows[i % len(rows)]
        return ("content", str(uuid.UUID(bytes=c))) if i % 2 and c else \
            ("entry", str(uuid.UUID(bytes=e)))

    def own_entry(self, lib: core.Library, i: int) -> str:
        rows = lib.conn.execute("SELECT e.uuid FROM entries e JOIN locations l ON "
                                "l.id = e.location_id WHERE l.device_id = ? AND e.is_dir = 0 "
                                "ORDER BY e.path", (lib.device_id,)).fetchall()
        return str(uuid.UUID(bytes=rows[i % len(rows)][0]))

    def content(self, lib: core.Library, i: int) -> tuple[str, str | None]:
        scope, target = self.target(lib, i | 1)
        return scope, target if scope == "content" else None

    def run(self, step: tuple) -> None:
        kind, *args = step
        if kind == "deliver":
            if self.messages:
                receiver, path = self.messages[args[0] % len(self.messages)]
                try:
                    self.libs[receiver].sync.import_(path)
                except (BundleReplayedError, SyncError):
                    pass                      # replayed / out of order: refused, re-sent later
                if not args[1]:
                    self.messages.remove((receiver, path))   # dropped after delivery
            return
        lib = self.libs[args[0]]
        v = lib.vdfs()
        if kind == "tag":
            scope, target = self.target(lib, args[1])
            getattr(v, f"{'add_tag_to' if args[3] else 'remove_tag_from'}_{scope}")(target, args[2])
        elif kind == "note":
            scope, target = self.target(lib, args[1])
            v.set_note(target, args[2], scope=scope)
        elif kind == "favorite":
            scope, target = self.target(lib, args[1])
            v.set_favorite(target, args[2], scope=scope)
        elif kind == "collection":
            v.create_collection(args[1]) if args[2] else v.delete_collection(args[1])
        elif kind == "item":
            scope, target = self.target(lib, args[2])
            if args[3]:
                if not any(c.name == args[1] for c in v.list_collections()):
                    v.create_collection(args[1])     # concurrently with other devices, maybe
                v.add_to_collection(args[1], target, kind=scope)
            else:
                v.remove_from_collection(args[1], target, kind=scope)
        elif kind == "file":
            folder = self.root / f"{lib.device_name}-more"
            f = folder / f"f{args[1]}.txt"
            folder.mkdir(exist_ok=True)
            if args[2]:
                f.write_bytes(f"more {args[1]}".encode())
            else:
                f.unlink(missing_ok=True)
            if not lib.conn.execute("SELECT 1 FROM locations WHERE path = ?",
                                    (str(folder),)).fetchone():
                lib.add_location(folder)
            lib.index(folder).wait()
        elif kind in ("caption", "score"):
            if kind == "caption":
                cls, field_name, (_, target) = Caption, "text", self.content(lib, args[1])
                if target is None:
                    return
                found = v.get_model_by_content(cls, target)
            else:                       # on one of this device's own entries: it owns them
                cls, field_name, target = LocalScore, "score", self.own_entry(lib, args[1])
                found = v.get_model_by_entry(cls, target)
            if args[2] is None:
                if found is not None:
                    v.delete_model(found)
            elif found is None:
                create = v.create_model_for_content if kind == "caption" else \
                    v.create_model_for_entry
                create(target, cls(args[2]))
            else:
                setattr(found, field_name, args[2])
                v.update_model(found)
        elif kind == "album":
            title = f"album {args[1]}"
            same = [m for m in v.list_models(Album) if m.title == title]
            if args[2]:
                v.create_model(Album(title, cover=np.full(4, args[1], dtype=np.float32)))
            elif same:
                v.delete_model(same[0])
        elif kind == "note_blob":
            scope, target = self.target(lib, args[1])
            value = None if args[2] is None else np.full(3, args[2], dtype=np.float32)
            v.set_metadata_blob(target, "vec", value, scope=scope)
        elif kind == "album_tag":
            same = [m for m in v.list_models(Album) if m.title == f"album {args[1]}"]
            if same:
                call = v.add_tag_to_model if args[3] else v.remove_tag_from_model
                call(same[0], args[2])
        elif kind == "skew":
            lib.sync.clock.wall = lambda s=args[1]: wall_ms() + s
        elif kind == "send":
            src, dst = args[0], args[1]
            if src != dst:
                path = self.root / f"m{len(os.listdir(self.root))}.vdfsbundle"
                lib.sync.export(path, peer=NAMES[dst] if args[2] else None)
                self.messages.append((dst, path))

    def settle(self) -> list[str]:
        """Full bundles between every pair until nothing changes."""
        for _ in range(4):
            for src in self.libs:
                path = self.root / f"full-{src.device_name}.vdfsbundle"
                src.sync.export(path)
                for dst in self.libs:
                    if dst is not src:
                        try:
                            dst.sync.import_(path)
                        except BundleReplayedError:
                            pass
            digests = [lib.sync.digest() for lib in self.libs]
            if len(set(digests)) == 1:
                break
        return digests


@settings(max_examples=int(os.environ.get("VDFS_SYNC_EXAMPLES", "8")), deadline=None,
          derandomize=True, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(op, min_size=8, max_size=40))
def test_three_devices_converge(template, tmp_path_factory, monkeypatch, steps):
    root = tmp_path_factory.mktemp("sync_run")
    libs = _open_copy(template, root, monkeypatch)
    try:
        world = World(libs, root)
        for step in steps:
            try:
                world.run(step)
            except VdfsError:
                pass                          # e.g. a collection that exists already
        digests = world.settle()
        assert len(set(digests)) == 1, steps
        assert all(lib.sync.scan() == 0 for lib in libs)
    finally:
        for lib in libs:
            lib.close()
