"""What a library holds, in numbers people read: files per kind, bytes, duplicate groups.

Used by `vdfs summary` and the demo. Paths are shown relative to their location, in a fixed
order, so the text is the same on every machine and every run.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library


def library_summary(lib: Library, top: int = 10) -> dict[str, Any]:
    conn = lib.conn
    locs = conn.execute("SELECT count(*) FROM locations").fetchone()[0]
    files, dirs, nbytes = conn.execute(
        "SELECT coalesce(sum(is_dir = 0), 0), coalesce(sum(is_dir), 0), "
        "coalesce(sum(CASE WHEN is_dir THEN 0 ELSE size END), 0) FROM entries").fetchone()
    kinds = [{"kind": k, "files": n, "bytes": b} for k, n, b in conn.execute(
        "SELECT kind, count(*), sum(size) FROM entries WHERE is_dir = 0 "
        "GROUP BY kind ORDER BY kind")]
    groups = conn.execute(
        "SELECT id, content_hash, size, entry_count FROM content_identities "
        "WHERE entry_count > 1 ORDER BY size * (entry_count - 1) DESC, content_hash").fetchall()
    dupes = []
    for cid, digest, size, n in groups[:top]:
        paths = sorted(os.path.relpath(p, root) for p, root in conn.execute(
            "SELECT e.path, l.path FROM entries e JOIN locations l ON l.id = e.location_id "
            "WHERE e.content_id = ?", (cid,)))
        dupes.append({"content_hash": digest, "size": size, "copies": n, "paths": paths})
    return {
        "locations": locs, "files": files, "folders": dirs, "bytes": nbytes, "kinds": kinds,
        "duplicate_groups": len(groups),
        "redundant_copies": sum(g[3] - 1 for g in groups),
        "redundant_bytes": sum(g[2] * (g[3] - 1) for g in groups),
        "duplicates": dupes,
    }


def format_summary(s: dict[str, Any]) -> str:
    out = [f"{s['locations']} location(s): {s['files']:,} files in {s['folders']:,} folders, "
           f"{s['bytes']:,} bytes",
           "",
           f"  {'kind':<12}{'files':>7}{'bytes':>14}"]
    for k in s["kinds"]:
        out.append(f"  {k['kind']:<12}{k['files']:>7,}{k['bytes']:>14,}")
    out += ["", f"duplicate groups: {s['duplicate_groups']:,} "
                f"({s['redundant_copies']:,} redundant copies, {s['redundant_bytes']:,} bytes)"]
    for g in s["duplicates"]:
        out.append(f"  {g['content_hash']}  {g['size']:>9,} bytes x {g['copies']:,}")
        out += [f"      {p}" for p in g["paths"]]
    return "\n".join(out)
