"""`%vdfs sync …` and `%vdfs devices`: sync a notebook's library with other devices.

    %vdfs devices                         every device: this one, paired and seen peers,
                                          entries, last sync, changes not yet acknowledged
    %vdfs sync export PATH [--peer DEV]   write a bundle (PATH or :variable)
    %vdfs sync import PATH [--join]       apply a bundle
    %vdfs sync pair                       a one-time code for another device
    %vdfs sync serve [--port N]           serve paired peers from this kernel (until stop)
    %vdfs sync stop                       stop serving
    %vdfs sync with URL [--code CODE]     push and pull with a live peer (--cafile C: trust
                                          an https peer's own certificate)
"""
from __future__ import annotations

from typing import Any, Callable

from . import args as A
from .display import Text
from .errors import VdfsUsageError
from .magics import SYNC_ACTIONS, SYNC_FLAGS
from .widgets.devices import DevicesPanel

_SERVERS: dict[str, Any] = {}      # library path -> its running SyncServer


def devices(lib: Any) -> DevicesPanel:
    """The devices of the library with what each still lacks from this one (a widget with a
    Refresh button; plain text in a terminal)."""
    return DevicesPanel(lib)




def sync(lib: Any, rest: str, value: Callable[[str], Any]) -> Any:
    """Dispatch `%vdfs sync ACTION …`; `value` resolves `:name` arguments."""
    tokens = A.split(rest)
    if not tokens:
        raise VdfsUsageError(f"usage: %vdfs sync {'|'.join(SYNC_ACTIONS)} … (`%vdfs help`)")
    action, tokens = tokens[0], tokens[1:]
    if action == "export":
        p = _one(tokens, SYNC_FLAGS["export"], "sync export PATH [--peer DEVICE]")
        from core.sync import bundle
        b = lib.sync.make_bundle(p.flags.get("peer"))
        size = bundle.write(str(value(p.positional[0])), b)
        return Text(f"wrote {len(b.records)} changes ({size} bytes) to {value(p.positional[0])}")
    if action == "import":
        p = _one(tokens, SYNC_FLAGS["import"], "sync import PATH [--join]")
        r = lib.sync.import_(str(value(p.positional[0])), join=bool(p.flags.get("join")))
        return Text(f"applied {r.applied} of {r.received} changes from {r.sender}")
    if action == "with":
        p = _one(tokens, SYNC_FLAGS["with"], "sync with URL [--code CODE] [--cafile C]")
        r = lib.sync.with_peer(str(value(p.positional[0])), code=p.flags.get("code"),
                               cafile=p.flags.get("cafile"))
        return Text(f"synced: applied {r.applied} of {r.received} changes")
    if action == "pair":
        A.parse(tokens, {}, command="sync pair")
        return Text(f"pairing code {lib.sync.pair()} (valid 10 minutes, once)")
    if action == "serve":
        p = A.parse(tokens, SYNC_FLAGS["serve"], command="sync serve")
        key = str(lib.path)
        if key not in _SERVERS:
            _SERVERS[key] = lib.sync.serve(port=p.flags.get("port", 0))
        return Text(f"serving {lib.path} at {_SERVERS[key].url}")
    if action == "stop":
        server = _SERVERS.pop(str(lib.path), None)
        if server is not None:
            server.stop()
        return Text("stopped serving" if server else "not serving")
    raise VdfsUsageError(f"unknown sync action {action!r}: {', '.join(SYNC_ACTIONS)}")


def _one(tokens: list[str], spec: A.FlagSpec, usage: str) -> A.Parsed:
    p = A.parse(tokens, spec, command=usage.split(" [")[0])
    if len(p.positional) != 1:
        raise VdfsUsageError(f"usage: %vdfs {usage}")
    return p
