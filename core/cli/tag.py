"""`vdfs tag PATH TAG` and `vdfs untag PATH TAG`: tags from the shell, through the host API.

A tag goes on the path (that one entry) unless `--content` puts it on the file's content, so
every copy on every device shows it. The path must be indexed on this device: tagging a file
the library has never seen would have nothing to attach to.
"""
from __future__ import annotations

import argparse
import os
from typing import Any

from core.errors import VdfsError
from . import library_path


class NotIndexedError(VdfsError):
    """The path is in none of this device's indexed locations."""


def register(subparsers: argparse._SubParsersAction) -> None:
    for name, helptext, func in (
            ("tag", "tag a file or folder (see `vdfs query 'entries tagged \"#t\"'`)", _tag),
            ("untag", "remove a tag from a file or folder", _untag)):
        p = subparsers.add_parser(name, help=helptext)
        p.add_argument("path", help="an indexed file or folder")
        p.add_argument("tag", help='tag name, e.g. vacation, "#vacation" or "person:alice"')
        p.add_argument("--content", action="store_true",
                       help="the file's content: every copy, on every device")
        p.set_defaults(func=func)


def _target(lib: Library, path: str, content: bool) -> tuple[str, Any]:
    """(scope, uuid) of what `path` names in this library on this device."""
    from core.domain.locations import normalize_path
    from core.store.paths import stored_path
    text = stored_path(normalize_path(path))
    row = lib.conn.execute(
        "SELECT e.uuid, c.uuid, e.is_dir FROM entries e JOIN locations l ON l.id = e.location_id "
        "LEFT JOIN content_identities c ON c.id = e.content_id "
        "WHERE l.device_id = ? AND e.path = ?", (lib.device_id, text)).fetchone()
    if row is None:
        raise NotIndexedError(f"{path} is not in library {lib.path}: index its folder first "
                              f"(vdfs index FOLDER)")
    if not content:
        return "entry", row[0]
    if row[1] is None:
        kind = "a folder" if row[2] else "not hashed yet"
        raise NotIndexedError(f"{path} has no content to tag ({kind}); tag the path itself")
    return "content", row[1]


def _apply(args: argparse.Namespace, add: bool) -> int:
    import uuid

    from core.library import Library
    from core.domain.tags import canonical_name
    name = canonical_name(args.tag)
    with Library.open(library_path(args)) as lib:
        scope, target = _target(lib, os.fspath(args.path), args.content)
        host = lib.vdfs()
        target = uuid.UUID(bytes=bytes(target))
        call = getattr(host, f"{'add_tag_to' if add else 'remove_tag_from'}_{scope}")
        changed = call(target, name)
    what = f"{args.path}{' (its content)' if scope == 'content' else ''}"
    if add:
        print(f"tagged {what} {name}" if changed else f"{what} already has {name}")
    else:
        print(f"untagged {what} {name}" if changed else f"{what} does not have {name}")
    return 0


def _tag(args: argparse.Namespace) -> int:
    return _apply(args, add=True)


def _untag(args: argparse.Namespace) -> int:
    return _apply(args, add=False)
