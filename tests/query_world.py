"""A small real library for the query tests: a generated folder, indexed by core's indexer,
then tagged and given models through lib.vdfs(). `World` also holds the truth computed
independently from the folder itself (os.walk, file bytes), so tests compare against it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import random
import sqlite3
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

import core
from core.domain.models import model

DAY = 86400
IMAGE_EXTS = {"jpg", "png", "heic"}


@model(version="1.0.0", scope="content", extension_id="com.test.photos")
@dataclasses.dataclass
class PhotoAnalysis:
    scene: str = ""
    faces: int = 0


@model(version="1.0.0", scope="standalone", extension_id="com.test.photos")
@dataclasses.dataclass
class Person:
    name: str = ""
    photo_count: int = 0


@dataclasses.dataclass
class FileTruth:
    path: str
    name: str
    ext: str | None
    size: int
    mtime_ns: int
    is_dir: bool
    hidden: bool
    digest: str | None = None


@dataclasses.dataclass
class World:
    lib: core.Library
    root: Path
    now: dt.datetime
    files: dict[str, FileTruth]
    tagged_content: set[str]          # digests whose content carries #vacation
    tagged_entries: set[str]          # paths tagged #vacation directly
    analysed: set[str]                # digests with a PhotoAnalysis
    people: dict[str, int]

    def by_path(self):
        return self.files


def _write(path: Path, data: bytes, age_days: float, now: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    t = now - age_days * DAY
    os.utime(path, (t, t))


def _sparse(path: Path, size: int, age_days: float, now: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00")   # an MP4 starts with its ftyp box
        f.truncate(size)
    t = now - age_days * DAY
    os.utime(path, (t, t))


def make_folder(root: Path, now: float) -> None:
    """~40 files: images big and small, old and new, hidden ones, duplicates, a huge video."""
    def blob(n: int, tag: str) -> bytes:
        return random.Random(tag).randbytes(n)
    for i in range(1, 9):                                   # photos: 3 MB new, 1 MB old
        big = i % 2 == 0
        _write(root / "photos" / f"IMG_{i:04d}.jpg", blob(3_000_000 if big else 1_000_000, f"img{i}"),
               age_days=2 if i < 6 else 30, now=now)
    _write(root / "photos" / "img_lower.png", blob(2_500_000, "png"), 1, now)
    _write(root / "photos" / "holiday.heic", blob(2_200_000, "heic"), 3, now)
    _write(root / "photos" / "IMGX.jpg", blob(500, "imgx"), 1, now)
    _write(root / "photos" / ".IMG_9999.jpg", blob(2_100_000, "hidden"), 1, now)
    _write(root / "photos" / "2019" / "IMG_2019.jpg", blob(2_400_000, "old"), 400, now)
    # duplicates: the same bytes in three places, and another pair
    dup = blob(2_600_000, "dup")
    for p in ("photos/dup_a.jpg", "backup/dup_a.jpg", "backup/old/dup_a copy.jpg"):
        _write(root / p, dup, 5, now)
    pair = blob(4000, "pair")
    _write(root / "docs" / "report.txt", pair, 10, now)
    _write(root / "backup" / "report.txt", pair, 10, now)
    for i in range(6):
        _write(root / "docs" / f"note{i}.md", blob(100 + i, f"note{i}"), i, now)
    _write(root / "docs" / "IMG_manual.pdf", blob(50_000, "pdf"), 1, now)
    _sparse(root / "videos" / "movie.mp4", 1_200_000_000, 20, now)
    _write(root / "videos" / "clip.mp4", blob(700_000, "clip"), 1, now)
    _write(root / "music" / "song.mp3", blob(300_000, "song"), 8, now)


def walk_truth(root: Path) -> dict[str, FileTruth]:
    """What the folder holds, computed without vdfs (directory sizes are sums of files below)."""
    files: dict[str, FileTruth] = {}
    dir_sizes: dict[str, int] = defaultdict(int)
    for dirpath, dirnames, filenames in os.walk(root):
        st = os.stat(dirpath)
        name = os.path.basename(dirpath)
        files[dirpath] = FileTruth(dirpath, name, None, 0, st.st_mtime_ns, True, name.startswith("."))
        for fn in filenames:
            p = os.path.join(dirpath, fn)
            st = os.stat(p)
            dot = fn.rfind(".")      # the indexer's rule: none for `.env` or `trailing.`
            ext = None if dot <= 0 or dot == len(fn) - 1 else fn[dot + 1:].lower()
            with open(p, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            files[p] = FileTruth(p, fn, ext, st.st_size, st.st_mtime_ns, False, fn.startswith("."),
                                 digest)
            d = dirpath
            while True:
                dir_sizes[d] += st.st_size
                if d == str(root):
                    break
                d = os.path.dirname(d)
    for d, size in dir_sizes.items():
        files[d].size = size
    return files


@contextmanager
def library_of(base: Path, make: Callable[[Path], None]) -> Iterator[tuple[core.Library, Path]]:
    """A library in `base` that has indexed the folder `base/tree` filled by `make`; for
    module-scoped fixtures, which cannot use the per-test VDFS_HOME fixture."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VDFS_HOME", str(base / "home"))
        mp.setenv("VDFS_DEVICE_NAME", "test-device")
        root = base / "tree"
        make(root)
        lib = core.Library.create(base / "lib.vdfs")
        try:
            lib.index(str(root)).wait(timeout=120)
            yield lib, root
        finally:
            lib.close()


def build_world(base: Path) -> World:
    root = base / "tree"
    now_ts = time.time()
    make_folder(root, now_ts)
    lib = core.Library.create(base / "lib.vdfs")
    lib.index(str(root)).wait(timeout=120)
    files = walk_truth(root)
    api = lib.vdfs()
    conn = lib.conn

    def content_of(path: str) -> uuid.UUID:
        row = conn.execute("SELECT c.uuid FROM entries e JOIN content_identities c ON c.id = e.content_id "
                           "WHERE e.path = ?", (path,)).fetchone()
        return uuid.UUID(bytes=row[0])

    def entry_of(path: str) -> uuid.UUID:
        return uuid.UUID(bytes=conn.execute("SELECT uuid FROM entries WHERE path = ?", (path,)).fetchone()[0])

    # #vacation on one content (both of its copies… it has one) and directly on one entry
    tagged_content_paths = [str(root / "photos" / "IMG_0002.jpg"), str(root / "photos" / "dup_a.jpg")]
    for p in tagged_content_paths:
        api.add_tag_to_content(content_of(p), "#vacation")
    tagged_entry = str(root / "photos" / "holiday.heic")
    api.add_tag_to_entry(entry_of(tagged_entry), "#vacation")
    api.add_tag_to_entry(entry_of(str(root / "docs" / "report.txt")), "#work")

    analysed_paths = [str(root / "photos" / f"IMG_000{i}.jpg") for i in (1, 2, 3)]
    for p in analysed_paths:
        api.create_model_for_content(content_of(p), PhotoAnalysis(scene="beach", faces=2))
    people = {"Alice": 42, "Bob": 7, "Carol": 0}
    for name, count in people.items():
        api.create_model(Person(name=name, photo_count=count))

    # a job that is running, straight into jobs.db (the jobs runtime owns real ones)
    jc = sqlite3.connect(lib.jobs_db_path)
    jc.execute("INSERT INTO jobs (id, name, status, created_at, updated_at) VALUES "
               "('job-running-1', 'test.slow', 'running', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
    jc.commit()
    jc.close()

    return World(lib=lib, root=root, now=dt.datetime.fromtimestamp(now_ts).astimezone(), files=files,
                 tagged_content={files[p].digest for p in tagged_content_paths},
                 tagged_entries={tagged_entry}, analysed={files[p].digest for p in analysed_paths},
                 people=people)
