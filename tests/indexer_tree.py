"""Helpers for the indexer tests: build a real folder tree, snapshot a library's entries."""
from __future__ import annotations

import os
import random
from pathlib import Path


def build_tree(root: Path, files: int = 60, seed: int = 7) -> Path:
    """Nested folders with text, binary, large (> 100 KiB), empty, duplicate and hidden files."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    dirs = [root]
    for i in range(max(3, files // 8)):
        d = rng.choice(dirs) / f"dir{i}"
        d.mkdir(exist_ok=True)
        dirs.append(d)
    shared = rng.randbytes(150_000)
    for i in range(files):
        d = rng.choice(dirs)
        r = i % 6
        if r == 0:
            (d / f"note{i}.txt").write_text(f"note {i}\n" * (i + 1))
        elif r == 1:
            (d / f"blob{i}.bin").write_bytes(rng.randbytes(rng.randint(1, 300_000)))
        elif r == 2:
            (d / f"copy{i}.dat").write_bytes(shared)          # duplicates everywhere
        elif r == 3:
            (d / f"empty{i}.log").write_bytes(b"")
        elif r == 4:
            (d / f".hidden{i}.py").write_text(f"print({i})\n")
        else:
            (d / f"same{i}.md").write_text("# same text\n")   # small duplicates
    return root


def snapshot(lib, root: str | os.PathLike) -> dict:
    """Everything the indexer decides, keyed by path relative to `root` (no ids, no times)."""
    root = str(root)
    conn = lib.conn
    rows = conn.execute(
        "SELECT e.path, e.kind, e.is_dir, e.size, e.child_count, e.ext, e.hidden, e.raw_path, "
        "c.content_hash, c.entry_count, p.path, e.inode, e.mtime_ns FROM entries e "
        "LEFT JOIN content_identities c ON c.id = e.content_id "
        "LEFT JOIN entries p ON p.id = e.parent_id ORDER BY e.path").fetchall()
    paths = [r[0] for r in rows]
    assert len(paths) == len(set(paths)), "duplicated entry rows"

    def rel(p):
        return None if p is None else os.path.relpath(p, root)
    entries = {rel(r[0]): (r[1], r[2], r[3], r[4], r[5], r[6], r[7] is not None, r[8], r[9],
                           rel(r[10]), r[11], r[12]) for r in rows}
    idents = dict(conn.execute("SELECT content_hash, entry_count FROM content_identities"))
    # every entry_count is exact
    real = dict(conn.execute("SELECT c.content_hash, count(e.id) FROM content_identities c "
                             "LEFT JOIN entries e ON e.content_id = c.id GROUP BY c.id"))
    assert idents == real, "entry_count out of step with entries"
    return {"entries": entries, "identities": idents}


def traced_statements(lib, monkeypatch) -> list[str]:
    """The SQL statements that connections the library opens from now on (the index job's
    own) run, recorded as they run."""
    seen: list[str] = []
    connect = lib.connect

    def traced():
        conn = connect()
        conn.set_trace_callback(seen.append)
        return conn
    monkeypatch.setattr(lib, "connect", traced)
    return seen
