"""`vdfs pair`: print a one-time code another device uses once to pair with this library.

On the other device: `vdfs sync with http://THIS-HOST:PORT --code CODE`, while
`vdfs sync serve` runs here. The code is valid for ten minutes and only its hash is stored.
"""
from __future__ import annotations

import argparse

from . import library_path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("pair", help="print a one-time code to pair another device")
    p.set_defaults(func=_pair)


def _pair(args: argparse.Namespace) -> int:
    from core.library import Library
    with Library.open(library_path(args)) as lib:
        code = lib.sync.pair()
    print(code)
    print("valid for 10 minutes: on the other device run "
          "`vdfs sync with http://HOST:PORT --code " + code + "` while `vdfs sync serve` runs here")
    return 0
