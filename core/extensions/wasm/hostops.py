"""The host operations a WASM guest can call, each a thin adapter onto the extension's scoped
host API (`ScopedVdfsApi`): the permission checks live there, written once for Python and WASM
extensions alike. Nothing here decides what an extension may see or write.

An operation takes the decoded JSON request and returns a JSON-able value (or raw bytes, for
`entry.read` and `sidecar.read`). A guest mistake (bad uuid, unknown model type, a refusal)
raises an ordinary VdfsError / LookupError / ValueError, which the guest receives as an error
response.
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from core.access.permissions import PermissionDenied
from core.store.device import current_device
from core.store.paths import disk_path
from .codec import decode_bytes, dumps
from core.domain.models import model_uuid

if TYPE_CHECKING:  # pragma: no cover
    from .sandbox import Call

log = logging.getLogger("vdfs.wasm")
DEFAULT_PAGE = 256
MAX_CURSORS = 8          # open queries per host binding: each holds its rows in host memory
LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
              "error": logging.ERROR}


@dataclass
class WasmHost:
    """What one extension's calls are bound to."""

    api: Any                                   # ScopedVdfsApi
    settings: dict[str, Any] = field(default_factory=dict)
    models: dict[str, type] = field(default_factory=dict)
    job: Any = None                            # JobContext while running as a job
    dispatch_job: Callable[..., Any] | None = None
    ai: Callable[[], Any] | None = None
    trace: Callable[..., None] | None = None
    read_only: bool = False                    # an action's preview proposes, never writes
    checkpoint: Callable[[Any], None] | None = None
    _cursors: dict[int, tuple[list[str], list[dict[str, Any]], int]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def extension_id(self) -> str:
        return self.api.extension_id

    def __call__(self, op: str, request: Any, call: Any) -> Any:
        fn = OPERATIONS.get(op)
        if fn is None:
            raise LookupError(f"no host operation {op!r} (ABI 1 has: {', '.join(sorted(OPERATIONS))})")
        if not isinstance(request, dict):
            raise ValueError(f"the request to {op!r} must be a JSON object")
        if self.read_only and op in WRITE_OPS:
            raise PermissionDenied(self.extension_id, op, None, "an action's preview changes "
                                   "nothing: propose the change in the preview's output instead")
        return fn(self, request, call)


def _arg(req: dict[str, Any], name: str, kind: type | tuple[type, ...] = str,
         default: Any = ...) -> Any:
    if name not in req:
        if default is ...:
            raise ValueError(f"missing {name!r}")
        return default
    value = req[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int,))):
        raise ValueError(f"{name!r} must be {getattr(kind, '__name__', kind)}, not {value!r}")
    return value


# ---- log, settings, output ---------------------------------------------------------------------
def op_log(h: WasmHost, req: dict[str, Any], call: Call) -> None:
    level = _arg(req, "level", str, "info")
    message = _arg(req, "message", str)[:10_000]
    log.log(LOG_LEVELS.get(level, logging.INFO), "[%s] %s", h.extension_id, message)
    if h.trace is not None:
        h.trace(message, level=level if level in LOG_LEVELS else "info")


def op_settings(h: WasmHost, req: dict[str, Any], call: Call) -> dict[str, Any]:
    return h.settings


# ---- queries: the scope is compiled into the SQL by the scoped API -----------------------------
def _page(h: WasmHost, cursor: int, page_size: int, call: Any) -> dict[str, Any]:
    columns, rows, pos = h._cursors[cursor]
    cap = int(call.limits.max_response_bytes * 0.9)
    n = max(1, min(page_size, len(rows) - pos))
    while True:
        page = rows[pos:pos + n]
        out = {"columns": columns, "rows": page, "total": len(rows)}
        if n == 1 or len(dumps(out)) <= cap:
            break
        n //= 2
    pos += len(page)
    if pos >= len(rows):
        del h._cursors[cursor]
        out["cursor"] = None
    else:
        h._cursors[cursor] = (columns, rows, pos)
        out["cursor"] = cursor
    return out


def op_query(h: WasmHost, req: dict[str, Any], call: Call) -> dict[str, Any]:
    text = _arg(req, "query", str)
    params = _arg(req, "params", dict, {})
    page_size = _arg(req, "page_size", int, DEFAULT_PAGE)
    if len(h._cursors) >= MAX_CURSORS:
        raise LookupError(f"too many open query cursors (at most {MAX_CURSORS}): read each "
                          "query to its end with query.next")
    result = h.api.query(text, **params)
    cursor = next(h._ids)
    h._cursors[cursor] = (list(result.columns), result.rows(), 0)
    return _page(h, cursor, max(1, page_size), call)


def op_query_next(h: WasmHost, req: dict[str, Any], call: Call) -> dict[str, Any]:
    cursor = _arg(req, "cursor", int)
    if cursor not in h._cursors:
        raise LookupError(f"no open query cursor {cursor}")
    return _page(h, cursor, max(1, _arg(req, "page_size", int, DEFAULT_PAGE)), call)


# ---- entry bytes ---------------------------------------------------------------------------------
def op_entry_read(h: WasmHost, req: dict[str, Any], call: Call) -> bytes:
    path = h.api.entry_path(_arg(req, "entry"))          # the scoped API checks the grant
    return read_range(path, req, call)


def read_range(path: str, req: dict[str, Any], call: Call) -> bytes:
    """`entry.read`'s answer once the entry's stored path is known (and allowed): the request's
    `offset`/`length` of the file, at most the response cap."""
    offset = _arg(req, "offset", int, 0)
    length = _arg(req, "length", int, None)
    if offset < 0 or (length is not None and length < 0):
        raise ValueError("offset and length must not be negative")
    cap = call.limits.max_response_bytes
    want = cap + 1 if length is None else min(length, cap + 1)
    try:
        with open(disk_path(path), "rb") as f:
            f.seek(offset)
            data = f.read(want)
    except OSError as exc:
        raise LookupError(f"cannot read entry {req['entry']}: {exc.strerror}") from None
    return data     # more than the cap fails the call with the cap named


# ---- tags ------------------------------------------------------------------------------------
def _target(req: dict[str, Any]) -> tuple[str, str]:
    for scope in ("entry", "content", "model"):
        if scope in req:
            return scope, _arg(req, scope)
    raise ValueError("name the target: 'entry', 'content' or 'model' (a uuid)")


def op_tags_add(h: WasmHost, req: dict[str, Any], call: Call) -> bool:
    scope, target = _target(req)
    return getattr(h.api, f"add_tag_to_{scope}")(target, _arg(req, "tag"))


def op_tags_remove(h: WasmHost, req: dict[str, Any], call: Call) -> bool:
    scope, target = _target(req)
    return getattr(h.api, f"remove_tag_from_{scope}")(target, _arg(req, "tag"))


def op_tags_of(h: WasmHost, req: dict[str, Any], call: Call) -> list[Any]:
    scope, target = _target(req)
    return [getattr(t, "name", t) for t in getattr(h.api, f"tags_of_{scope}")(target)]


# ---- the extension's own models ----------------------------------------------------------------
def _model_cls(h: WasmHost, req: dict[str, Any]) -> type:
    name = _arg(req, "type")
    cls = h.models.get(name)
    if cls is None:
        raise LookupError(f"extension {h.extension_id} declares no model {name!r} "
                          f"(models: {sorted(h.models)})")
    return cls


def model_dict(obj: Any) -> dict[str, Any]:
    out = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    out["uuid"] = model_uuid(obj)
    return out


def _checked(cls: type, data: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """`data` validated against the model's JSON Schema (blob fields: bytes or base64)."""
    schema = getattr(cls, "__vdfs_json_schema__", None)
    if schema is not None:
        from jsonschema import Draft202012Validator
        props = {k: ({} if p.get("contentEncoding") == "base64" else p)
                 for k, p in schema["properties"].items()}
        check = {"type": "object", "properties": props, "additionalProperties": False,
                 "required": [] if partial else schema.get("required", [])}
        errors = sorted(Draft202012Validator(check).iter_errors(data), key=lambda e: e.json_path)
        if errors:
            raise ValueError(f"{cls.__name__}: {errors[0].json_path}: {errors[0].message}")
    return decode_bytes(data)


def op_models_create(h: WasmHost, req: dict[str, Any], call: Call) -> dict[str, Any]:
    cls = _model_cls(h, req)
    obj = cls(**_checked(cls, _arg(req, "data", dict, {})))
    if "entry" in req:
        return {"uuid": h.api.create_model_for_entry(_arg(req, "entry"), obj)}
    if "content" in req:
        return {"uuid": h.api.create_model_for_content(_arg(req, "content"), obj)}
    return {"uuid": h.api.create_model(obj)}


def _get(h: WasmHost, req: dict[str, Any]) -> Any:
    cls = _model_cls(h, req)
    inline = bool(_arg(req, "inline_only", bool, False))
    if "uuid" in req:
        obj = h.api.get_model(cls, _arg(req, "uuid"), inline_only=inline)
    elif "entry" in req:
        obj = h.api.get_model_by_entry(cls, _arg(req, "entry"), inline_only=inline)
    elif "content" in req:
        obj = h.api.get_model_by_content(cls, _arg(req, "content"), inline_only=inline)
    else:
        raise ValueError("name the model: 'uuid', 'entry' or 'content'")
    if obj is None:
        raise LookupError(f"no {req['type']} model there")
    return obj


def op_models_get(h: WasmHost, req: dict[str, Any], call: Call) -> dict[str, Any]:
    return model_dict(_get(h, req))


def op_models_update(h: WasmHost, req: dict[str, Any], call: Call) -> dict[str, Any]:
    obj = _get(h, req)
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in _checked(type(obj), _arg(req, "data", dict), partial=True).items():
        if key not in names or key == "id":
            raise ValueError(f"model {req['type']} has no field {key!r}")
        setattr(obj, key, value)
    h.api.update_model(obj)
    return {"uuid": model_dict(obj)["uuid"]}


def op_models_list(h: WasmHost, req: dict[str, Any], call: Call) -> list[dict[str, Any]]:
    cls = _model_cls(h, req)
    return [model_dict(m) for m in h.api.list_models(cls, inline_only=True)]


def op_models_delete(h: WasmHost, req: dict[str, Any], call: Call) -> bool:
    return h.api.delete_model(_arg(req, "uuid"))


# ---- sidecars --------------------------------------------------------------------------------
def op_sidecar_read(h: WasmHost, req: dict[str, Any], call: Call) -> bytes:
    return h.api.read_sidecar(_arg(req, "content"), _arg(req, "kind"), _arg(req, "ext", str, "json"))


def op_sidecar_write(h: WasmHost, req: dict[str, Any], call: Call) -> None:
    data = decode_bytes(req.get("data"))
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes):
        raise ValueError("'data' must be text or {\"$base64\": ...}")
    h.api.write_sidecar(_arg(req, "content"), _arg(req, "kind"), data, _arg(req, "ext", str, "json"))


# ---- jobs --------------------------------------------------------------------------------------
def _job(h: WasmHost) -> Any:
    if h.job is None:
        raise LookupError("this call is not running as a job")
    return h.job


def op_job_progress(h: WasmHost, req: dict[str, Any], call: Call) -> None:
    total = _arg(req, "total", int, None)
    _job(h).progress(_arg(req, "done", int), total, _arg(req, "message", str, None))


def op_job_checkpoint(h: WasmHost, req: dict[str, Any], call: Call) -> None:
    """Save the step's state now (resumed, the same step runs again with it)."""
    _job(h)
    state = _arg(req, "state", dict)
    if h.checkpoint is not None:
        h.checkpoint(state)
    else:
        h.job.checkpoint(state)


def op_job_state(h: WasmHost, req: dict[str, Any], call: Call) -> dict[str, Any]:
    job = _job(h)
    return {"job_id": job.job_id, "args": job.args, "checkpoint": job.state,
            "cancelled": job.is_cancelled()}


def op_job_dispatch(h: WasmHost, req: dict[str, Any], call: Call) -> dict[str, Any]:
    if h.dispatch_job is None:
        raise LookupError("job dispatch is not available to this call")
    handle = h.dispatch_job(_arg(req, "job"), _arg(req, "args", dict, {}))
    return {"job_id": getattr(handle, "id", None) or getattr(handle, "job_id", None)}


def op_devices_select(h: WasmHost, req: dict[str, Any], call: "Call") -> dict[str, Any]:
    """The job's `select_device()`: a device with these capabilities, or an error naming what
    no online device has."""
    names = _arg(req, "capabilities", list, [])
    query = _job(h).select_device().with_capability(*names, **_arg(req, "minimums", dict, {}))
    if _arg(req, "prefer_local", bool, False):
        query.prefer_local()
    return query.select().to_dict()


def op_device_current(h: object, req: dict[str, Any], call: "Call") -> dict[str, Any]:
    """The device this call runs on: a task placed on another device sees that device."""
    device_uuid, name = current_device()
    return {"uuid": str(device_uuid), "name": name}


# ---- AI models (UseModel grants are checked by the extension's AiService) ---------------------------
AI_METHODS = ("generate", "chat")


def op_ai(h: WasmHost, req: dict[str, Any], call: Call) -> Any:
    if h.ai is None:
        raise LookupError("AI models are not available to this call")
    method = _arg(req, "method", str, "generate")
    if method not in AI_METHODS:
        raise ValueError(f"method must be one of {AI_METHODS}")
    loader = h.ai().from_registered(_arg(req, "model"))
    fn = getattr(loader, method, None)
    if fn is None:
        raise LookupError(f"model {req['model']} has no {method}()")
    return fn(**_arg(req, "args", dict, {}))


WRITE_OPS = frozenset({"tags.add", "tags.remove", "models.create", "models.update",
                       "models.delete", "sidecar.write", "job.dispatch", "job.checkpoint"})

OPERATIONS: dict[str, Callable[[WasmHost, dict[str, Any], Any], Any]] = {
    "log": op_log, "settings.get": op_settings,
    "query": op_query, "query.next": op_query_next,
    "entry.read": op_entry_read,
    "tags.add": op_tags_add, "tags.remove": op_tags_remove, "tags.of": op_tags_of,
    "models.create": op_models_create, "models.get": op_models_get,
    "models.update": op_models_update, "models.list": op_models_list,
    "models.delete": op_models_delete,
    "sidecar.read": op_sidecar_read, "sidecar.write": op_sidecar_write,
    "job.progress": op_job_progress, "job.checkpoint": op_job_checkpoint,
    "job.state": op_job_state, "job.dispatch": op_job_dispatch,
    "devices.select": op_devices_select, "device.current": op_device_current, "ai.run": op_ai,
}
