"""Live peers over HTTP: a tornado server (`vdfs sync serve`) and an httpx client
(`vdfs sync with URL`), exchanging the same bundles as files do.

    POST /pair   {code, device, name}        -> {secret, device, name, library_id}
    POST /sync   a bundle for the server     -> a bundle for the client (push + pull)

After pairing, every /sync request and its response carry the sender's device uuid, a
timestamp, a nonce and an HMAC-SHA256 (key: the per-peer secret) over method, path,
timestamp, nonce and the body's SHA-256. Anything else gets 401 and an empty body.
TLS is optional (a certificate and key for the server; the client trusts a given CA file).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from . import bundle as bundles, errors, peers
from .errors import (BundleOutOfOrderError, PairingError, PeerUnreachableError, SyncError,
                     UnauthorizedError)
from core.store.txn import transaction

if TYPE_CHECKING:  # pragma: no cover
    from . import ImportResult, Sync

MAX_SKEW_S = 300
MAX_BODY = 1 << 30
MAX_PAIR_FAILURES = 10     # wrong codes before every open code is withdrawn (no guessing)
_H_DEVICE, _H_TS, _H_NONCE, _H_SIG = ("X-Vdfs-Device", "X-Vdfs-Timestamp", "X-Vdfs-Nonce",
                                      "X-Vdfs-Signature")


def signature(secret: str, method: str, path: str, ts: str, nonce: str, body: bytes) -> str:
    msg = "\n".join((method, path, ts, nonce, hashlib.sha256(body).hexdigest())).encode()
    return hmac.new(bytes.fromhex(secret), msg, hashlib.sha256).hexdigest()


def sign(secret: str, device: uuid.UUID, method: str, path: str, body: bytes,
         nonce: str | None = None) -> dict[str, str]:
    ts, nonce = str(int(time.time())), nonce or secrets.token_hex(16)
    return {_H_DEVICE: str(device), _H_TS: ts, _H_NONCE: nonce,
            _H_SIG: signature(secret, method, path, ts, nonce, body)}


def _verify(secret: str | None, headers: Any, method: str, path: str, body: bytes) -> bool:
    if not secret:
        return False
    ts, nonce, sig = headers.get(_H_TS, ""), headers.get(_H_NONCE, ""), headers.get(_H_SIG, "")
    try:
        fresh = abs(time.time() - int(ts)) <= MAX_SKEW_S
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sig, signature(secret, method, path, ts, nonce, body))


# ---- server -------------------------------------------------------------------------------
class SyncServer:
    """Serves one library to its paired peers, in a thread of its own, until stop()."""

    def __init__(self, sync: Sync, *, host: str = "127.0.0.1", port: int = 0,
                 certfile: str | None = None, keyfile: str | None = None):
        self.sync, self.host, self.port = sync, host, port
        self._tls = _server_tls(certfile, keyfile)
        self._nonces: dict[str, float] = {}
        self.pair_failures = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> "SyncServer":
        from tornado.netutil import bind_sockets
        try:
            socks = bind_sockets(self.port, self.host)
        except OSError as exc:
            raise SyncError(f"cannot listen on {self.host}:{self.port}: "
                            f"{exc.strerror or exc}") from None
        self.port = socks[0].getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(socks, ready),
                                        name="vdfs-sync-serve", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def _run(self, socks: list, ready: threading.Event) -> None:
        from tornado.httpserver import HTTPServer
        from tornado.web import Application
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = Application([(r"/pair", _PairHandler, {"server": self}),
                           (r"/sync", _SyncHandler, {"server": self})])
        http = HTTPServer(app, max_body_size=MAX_BODY, ssl_options=self._tls)
        http.add_sockets(socks)
        self._loop.call_soon(ready.set)
        try:
            self._loop.run_forever()
        finally:
            http.stop()
            self.sync.lib.release_thread_connection()
            self._loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def fresh_nonce(self, device: str, nonce: str) -> bool:
        """False for a nonce seen within the last MAX_SKEW_S (a replayed request)."""
        now = time.time()
        with self._lock:
            for k in [k for k, t in self._nonces.items() if now - t > 2 * MAX_SKEW_S]:
                del self._nonces[k]
            key = f"{device}/{nonce}"
            if not nonce or key in self._nonces:
                return False
            self._nonces[key] = now
            return True


def _handlers() -> tuple[type, type]:
    from tornado.web import RequestHandler

    class Base(RequestHandler):
        def initialize(self, server: SyncServer) -> None:
            self.server = server

        def refuse(self) -> None:
            self.clear()
            self.set_status(401)
            self.finish()

        def error(self, exc: SyncError) -> None:
            self.set_status(409)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": type(exc).__name__, "message": str(exc)}))

    class Pair(Base):
        def post(self) -> None:
            sync = self.server.sync
            try:
                req = json.loads(self.request.body)
                device = uuid.UUID(str(req["device"]))
                conn = sync.lib.conn
                from core.store.txn import transaction
                with transaction(conn):
                    peers.redeem(conn, req.get("code"))
                    secret = peers.new_secret()
                    peers.set_secret(conn, device, str(req.get("name") or device), secret)
            except (ValueError, KeyError, TypeError, PairingError):
                self.server.pair_failures += 1
                if self.server.pair_failures >= MAX_PAIR_FAILURES:
                    self.server.pair_failures = 0
                    sync.lib.conn.execute("DELETE FROM sync_pairing")
                return self.refuse()
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"secret": secret, "device": str(sync.lib.device_uuid),
                                    "name": sync.lib.device_name,
                                    "library_id": sync.library_id()}))

    class Sync(Base):
        def post(self) -> None:
            sync, body = self.server.sync, self.request.body
            h = self.request.headers
            try:
                device = uuid.UUID(h.get(_H_DEVICE, ""))
            except ValueError:
                return self.refuse()
            secret = peers.secret_of(sync.lib.conn, device)
            if not _verify(secret, h, "POST", "/sync", body) or \
                    not self.server.fresh_nonce(str(device), h.get(_H_NONCE, "")):
                return self.refuse()
            try:
                incoming = bundles.decode(body)
                if incoming.sender != str(device):
                    return self.refuse()
                sync.receive(incoming, live=True)
                out = bundles.encode(sync.make_bundle(device))
            except SyncError as exc:
                return self.error(exc)
            for k, v in sign(secret, sync.lib.device_uuid, "RESPONSE", "/sync", out,  # type: ignore[arg-type]
                             nonce=h.get(_H_NONCE)).items():
                self.set_header(k, v)
            self.set_header("Content-Type", "application/octet-stream")
            self.finish(out)

    return Pair, Sync


_PairHandler, _SyncHandler = _handlers()


# ---- client -------------------------------------------------------------------------------
def _server_tls(certfile: str | None, keyfile: str | None) -> Any:
    """TLS for the server when a certificate is given (optional: the HMAC already proves who
    speaks; TLS also hides what they say)."""
    if certfile is None:
        return None
    import ssl
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise SyncError(f"cannot use TLS certificate {certfile}: {exc}") from None
    return ctx


def _post(url: str, body: bytes, headers: dict[str, str], cafile: str | None = None) -> Any:
    import httpx
    try:
        verify: Any = True
        if cafile is not None:
            import ssl
            verify = ssl.create_default_context(cafile=cafile)
        return httpx.post(url, content=body, headers=headers, timeout=60, verify=verify)
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        raise PeerUnreachableError(f"cannot reach peer at {url}: {exc}") from None


def _raise_for(resp: Any, url: str) -> None:
    if resp.status_code == 401:
        raise UnauthorizedError(f"{url} refused this device (401): pair again with "
                                "`vdfs pair` there and `vdfs sync with URL --code CODE` here")
    if resp.status_code == 409:
        try:
            data = resp.json()
            cls = getattr(errors, data["error"], SyncError)
            if not (isinstance(cls, type) and issubclass(cls, SyncError)):
                cls = SyncError
            raise cls(f"peer refused: {data['message']}")
        except (ValueError, KeyError, TypeError):
            pass
    if resp.status_code != 200:
        raise PeerUnreachableError(f"{url} answered HTTP {resp.status_code}, not like a vdfs peer")


def pair_with(sync: Sync, url: str, code: str, cafile: str | None = None) -> peers.Peer:
    """Present a one-time code; keep the secret the peer hands back, join its library."""
    url = url.rstrip("/")
    body = json.dumps({"code": code, "device": str(sync.lib.device_uuid),
                       "name": sync.lib.device_name}).encode()
    resp = _post(f"{url}/pair", body, {"Content-Type": "application/json"}, cafile)
    if resp.status_code == 401:
        raise PairingError(f"{url} refused the pairing code: it is wrong, used or expired")
    _raise_for(resp, url)
    try:
        data = resp.json()
        device, secret = uuid.UUID(data["device"]), str(data["secret"])
        library_id, name = str(data["library_id"]), str(data["name"])
    except (ValueError, KeyError, TypeError):
        raise PeerUnreachableError(f"{url} did not answer the pairing like a vdfs peer") from None
    with transaction(sync.lib.conn) as conn:
        sync._check_library(conn, library_id, True)
        peers.set_secret(conn, device, name, secret, url)
        return peers.get(conn, device)  # type: ignore[return-value]


def sync_with(sync: Sync, url: str, *, code: str | None = None, cafile: str | None = None
              ) -> ImportResult:
    """Push this device's unacknowledged changes to `url` and apply what it sends back.
    `cafile`: the certificate (or CA) to trust for an https URL with a self-made certificate."""
    url = url.rstrip("/")
    if code is not None:
        peer = pair_with(sync, url, code, cafile)
    else:
        row = sync.lib.conn.execute("SELECT device_uuid FROM sync_peers WHERE url = ? AND "
                                    "revoked_at IS NULL AND secret IS NOT NULL",
                                    (url,)).fetchone()
        if row is None:
            raise PairingError(f"not paired with {url}: run `vdfs pair` there and pass its "
                               "code with --code")
        peer = peers.get(sync.lib.conn, uuid.UUID(bytes=row[0]))
    try:
        return _push_pull(sync, url, peer, cafile)
    except BundleOutOfOrderError:
        # The peer has fewer of our changes than it acknowledged (it restored a backup):
        # send everything again, once; merging what it already has changes nothing.
        from core.store.txn import transaction
        with transaction(sync.lib.conn) as conn:
            peers.forgot(conn, peer.device_uuid, 0)
        return _push_pull(sync, url, peer, cafile)


def _push_pull(sync: Any, url: str, peer: peers.Peer, cafile: str | None = None) -> Any:
    body = bundles.encode(sync.make_bundle(peer.device_uuid))
    headers = sign(peer.secret, sync.lib.device_uuid, "POST", "/sync", body)  # type: ignore[arg-type]
    resp = _post(f"{url}/sync", body, {**headers, "Content-Type": "application/octet-stream"},
                 cafile)
    _raise_for(resp, url)
    rh = resp.headers
    if rh.get(_H_DEVICE) != str(peer.device_uuid) or rh.get(_H_NONCE) != headers[_H_NONCE] or \
            not _verify(peer.secret, rh, "RESPONSE", "/sync", resp.content):
        raise UnauthorizedError(f"{url} answered without a valid signature: not the paired peer")
    return sync.receive(bundles.decode(resp.content), live=True)
