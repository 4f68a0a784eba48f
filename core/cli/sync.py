"""`vdfs sync …`: exchange a library's changes with other devices (docs/sync.md).

    vdfs sync export --to FILE [--peer DEVICE]   the changes DEVICE has not acknowledged
    vdfs sync import FILE [--join]                apply a bundle (idempotent, all or nothing)
    vdfs sync status                              devices, peers, last sync
    vdfs sync serve [--port N] [--host H]         serve paired peers over HTTP
    vdfs sync with URL [--code CODE]              push and pull with a live peer
    vdfs sync revoke DEVICE                       forget a peer's secret: it gets 401 from now
"""
from __future__ import annotations

import argparse
import time
from typing import Any

from . import library_path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sync", help="sync this library with other devices")
    sub = p.add_subparsers(dest="sync_command", metavar="ACTION", required=True)
    e = sub.add_parser("export", help="write a bundle of changes to a file")
    e.add_argument("--to", required=True, metavar="FILE", help="bundle file to write")
    e.add_argument("--peer", default=None,
                   help="device name or uuid: only what it has not acknowledged (default: all)")
    e.set_defaults(func=_export)
    i = sub.add_parser("import", help="apply a bundle file written by another device")
    i.add_argument("file")
    i.add_argument("--join", action="store_true",
                   help="a new library adopts the bundle's library (first sync only)")
    i.set_defaults(func=_import)
    s = sub.add_parser("status", help="devices of this library and their sync state")
    s.set_defaults(func=_status)
    v = sub.add_parser("serve", help="serve this library to paired peers over HTTP")
    v.add_argument("--port", type=int, default=8765)
    v.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for the network)")
    v.add_argument("--certfile", default=None, help="TLS certificate (PEM): serve https")
    v.add_argument("--keyfile", default=None, help="its private key (PEM)")
    v.set_defaults(func=_serve)
    w = sub.add_parser("with", help="push and pull with a live peer (`vdfs sync serve` there)")
    w.add_argument("url")
    w.add_argument("--code", default=None, help="the one-time code `vdfs pair` printed there")
    w.add_argument("--cafile", default=None,
                   help="trust this certificate (PEM) for an https peer with its own certificate")
    w.add_argument("--every", type=float, default=None, metavar="SECONDS",
                   help="keep syncing, every SECONDS, until interrupted")
    w.set_defaults(func=_with)
    r = sub.add_parser("revoke", help="revoke a paired peer")
    r.add_argument("device", help="device name or uuid")
    r.set_defaults(func=_revoke)


def _open(args: argparse.Namespace) -> Any:
    from core.library import Library
    return Library.open(library_path(args))


def _export(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        start = time.perf_counter()
        b = lib.sync.make_bundle(args.peer)
        from core.sync import bundle
        size = bundle.write(args.to, b)
        took = time.perf_counter() - start
    print(f"wrote {len(b.records)} changes ({size} bytes) to {args.to} in {took:.2f} s")
    return 0


def _import(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        start = time.perf_counter()
        result = lib.sync.import_(args.file, join=args.join)
        took = time.perf_counter() - start
    print(f"applied {result.applied} of {result.received} changes from {result.sender} "
          f"in {took:.2f} s")
    return 0


def _status(args: argparse.Namespace) -> int:
    from .output import render_table
    with _open(args) as lib:
        rows = lib.sync.status()
    print(render_table(list(rows[0]), [[str(v) for v in r.values()] for r in rows]), end="")
    return 0


def _serve(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        server = lib.sync.serve(port=args.port, host=args.host, certfile=args.certfile,
                                keyfile=args.keyfile)
        print(f"serving {lib.path} at {server.url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        finally:
            server.stop()


def _with(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        while True:
            result = lib.sync.with_peer(args.url, code=args.code, cafile=args.cafile)
            args.code = None            # a pairing code is used once
            print(f"synced with {args.url}: applied {result.applied} of {result.received} "
                  "changes", flush=True)
            if args.every is None:
                return 0
            time.sleep(args.every)


def _revoke(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        done = lib.sync.revoke(args.device)
    print(f"revoked {args.device}" if done else f"{args.device} is not a paired peer")
    return 0 if done else 1
