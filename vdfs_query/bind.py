"""Binding: turn a template's slots into parameter values for one run.

Everything that depends on the moment or the caller is resolved here, once per run: `now`, the
bound `:parameters` (coerced to their field's type; a missing one is named), this device.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

from . import fts, ir, patterns
from .catalog import KINDS
from .errors import ParameterError, VdfsSyntaxError, closest
from .params import param_pos
from .values import (CoercionError, as_uuid_bytes, brief, coerce, json_value, resolve_now,
                     tag_name, text_value, time_text, to_iso, to_ns)


class BindContext:
    """What a run binds: parameters, the clock (resolved once, on first use), this device."""

    def __init__(self, params: dict[str, Any] | None, now: dt.datetime | None = None,
                 device_uuid: bytes | None = None, text: str | None = None):
        self.params = params or {}
        if now is not None and not isinstance(now, dt.datetime):
            raise VdfsSyntaxError(f"now must be a datetime (the clock of relative times such as "
                                  f"'7 days ago'), not {type(now).__name__}")
        self._now = now
        self.device_uuid = device_uuid
        self.text = text

    @property
    def now(self) -> dt.datetime:
        if self._now is None or self._now.tzinfo is None:
            try:
                self._now = resolve_now(self._now)
            except CoercionError as exc:
                raise VdfsSyntaxError(str(exc)) from None
        return self._now


def signature(params: dict[str, Any] | None) -> tuple:
    """A cheap hashable key of what the SQL text may depend on (see param_types)."""
    if not params:
        return ()
    if len(params) == 1:
        for k, v in params.items():
            if not isinstance(v, (list, tuple, set, frozenset)):
                return ((k, type(v), None),)
    return tuple(sorted((k, type(v), len(v) if isinstance(v, (list, tuple, set, frozenset)) else None)
                        for k, v in params.items()))


def param_types(params: dict[str, Any] | None) -> dict[str, tuple]:
    """What the SQL text may depend on: each parameter's type and, for lists, its length."""
    out = {}
    for k, v in (params or {}).items():
        out[k] = (type(v).__name__, len(v) if isinstance(v, (list, tuple, set, frozenset)) else None)
    return out


def bind(slots: list, ctx: BindContext) -> list:
    return [_resolve(s, ctx) for s in slots]


_SIMPLE = frozenset({"text", "uuid", "size", "bool", "float"})


def fast_binder(slots: list, device_uuid: bytes | None = None):
    """For templates whose values need no clock or transform (and this device only when it is
    given): a function params -> values that skips the general machinery (repeated queries).
    None when the template needs more; callers fall back to `bind` on any error, for its
    messages."""
    plan = fast_plan(slots, device_uuid)
    if plan is None:
        return None

    def run(params: dict) -> list:
        return [value if name is None else value(params[name]) for name, value in plan]
    return run


def fast_plan(slots: list, device_uuid: bytes | None = None) -> list | None:
    """fast_binder's plan: per slot (None, its value) or (parameter name, its converter)."""
    plan = []
    for s in slots:
        if s.transform not in _PURE_TRANSFORMS:
            return None
        if type(s.value) is str:            # 'on this device' (_this_device): a constant
            if device_uuid is None or s.transform:
                return None
            plan.append((None, device_uuid))
        elif isinstance(s.value, ir.Lit):
            plan.append((None, _transform(s.value.value, s.transform)))
        elif isinstance(s.value, ir.Param) and _param_type(s) in _SIMPLE | _CHECKED:
            typ = _param_type(s)
            if typ == "uuid":
                conv = as_uuid_bytes
            elif typ == "path":
                conv = _path_param
            elif typ in _CHECKED:
                conv = (lambda v, t=typ: _coerce_param(v, t, None))
            else:
                conv = (lambda v, t=typ: coerce(t, v))
            if s.transform in _PREFIX:    # a folder's range: the hot transforms, inlined
                conv = _PREFIX[s.transform](conv)
            elif s.transform:
                conv = (lambda v, c=conv, tf=s.transform: _transform(c(v), tf))
            plan.append((s.value.name, conv))
        else:
            return None
    return plan


def _path_param(raw: Any) -> Any:
    """`_coerce_param(raw, "path", None)`, with its common case (an absolute ASCII path, no
    trailing slash, nothing to expand: returned as it is) decided in four checks, since a
    repeated path lookup pays for this conversion on every call."""
    if type(raw) is str and raw[:1] == "/" and raw[-1:] != "/" and raw.isascii():
        return raw
    return _coerce_param(raw, "path", None)


_PREFIX = {   # _transform's prefix_lo / prefix_hi after a converter, in one call
    "prefix_lo": lambda c: (lambda v: "/\x01" if (p := c(v)) == "/" else p + "/"),
    "prefix_hi": lambda c: (lambda v: "0" if (p := c(v)) == "/" else p + "0"),
}
_PURE_TRANSFORMS = frozenset({"", "prefix_lo", "prefix_hi", "lower"})
_CHECKED = frozenset({"path", "tag", "kind", "ext", "int"})   # coerced as _coerce_param does


def _param_type(slot: Any) -> str:
    """The type a parameter is coerced to: its slot's, except for `ext` and `kind`, whose
    values are lower-cased as the library stores them (`ext = :e` with e="PNG" finds .png)."""
    return slot.value.type if slot.value.type in ("ext", "kind") else slot.type


def _resolve(slot: Any, ctx: BindContext) -> Any:
    """One slot's value for this run, by the kind of its value node (_RESOLVERS)."""
    return _RESOLVERS.get(type(slot.value), _literal)(slot, ctx)


def _this_device(slot: Any, ctx: BindContext) -> bytes:
    """The slot 'device' (a str, not a node): this device's uuid."""
    if ctx.device_uuid is None:
        raise VdfsSyntaxError("'on this device' needs a library: run the query with lib.query()")
    return ctx.device_uuid


def _time(slot: Any, ctx: BindContext) -> Any:
    v = slot.value
    try:
        start, end = time_text(v.spec, ctx.now)
        moment = end if (v.edge == "end" and end is not None) else start
        return to_ns(moment) if v.type == "time_ns" else to_iso(moment)
    except CoercionError as exc:
        at = ctx.text.find(v.spec) if ctx.text else -1
        relative = "" if v.spec[:1].isdigit() and "ago" not in v.spec else \
            f" (relative to now={ctx.now.isoformat()})"
        raise VdfsSyntaxError(f"{exc}{relative}", text=ctx.text,
                              pos=at if at >= 0 else None) from None


def _param(slot: Any, ctx: BindContext) -> Any:
    v, tf = slot.value, slot.transform
    if v.name not in ctx.params:
        known = sorted(ctx.params)
        raise ParameterError(
            f"missing parameter :{v.name}", missing_param=v.name, hint=f"pass it as {v.name}=…",
            text=ctx.text, pos=param_pos(ctx.text, v.name),
            suggestion=(":" + closest(v.name, known)) if closest(v.name, known) else None)
    raw = ctx.params[v.name]
    typ = _param_type(slot)
    first, _, rest = tf.partition(",")
    if first.startswith("item"):
        raw, tf = list(raw)[int(first[4:])], rest
    try:
        if first == "list":        # a whole list as one value (dialects' big_list)
            return _list_value([_coerce_param(x, typ, ctx) for x in raw], rest)
        value = _coerce_param(raw, typ, ctx)
        if value is None and tf not in ("", "uuid_or_none") and not tf.startswith("only_"):
            raise CoercionError("needs a value, not None")
        if tf == "nonneg":
            return _nonneg(value)
        return _transform(value, tf)
    except CoercionError as exc:
        raise ParameterError(f"parameter :{v.name}: {exc}", text=ctx.text,
                             pos=param_pos(ctx.text, v.name)) from None
    except patterns.PatternError as exc:
        raise ParameterError(f"parameter :{v.name}: {exc.message} (at character "
                             f"{exc.offset + 1} of {exc.pattern!r})",
                             text=ctx.text, pos=param_pos(ctx.text, v.name)) from None


def _literal(slot: Any, ctx: BindContext) -> Any:
    return _transform(slot.value.value, slot.transform)


_RESOLVERS = {str: _this_device, ir.TimeAt: _time, ir.Param: _param, ir.Lit: _literal}


def _list_value(values: list, tf: str) -> Any:
    """A list parameter bound as one value: each item transformed, then for SQLite either JSON
    text (for json_each) or, for uuids, their 16-byte values end to end (dialects' big_list)."""
    steps = [t for t in tf.split(",") if t]
    for step in steps:
        if step not in ("json", "blob"):
            values = [_transform(x, step) for x in values]
    if "json" in steps:
        return json.dumps(values)
    if "blob" in steps:
        return b"".join(values)
    return values


def _only(value: Any, kind: str) -> Any:
    """`value` if it is of JSON `kind` ('num' as a float, 'text', 'bool'), else None: a list
    parameter's item is bound once per type, since the SQL cannot know its type in advance."""
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind == "num":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return value if isinstance(value, str) else None


def _nonneg(value: int) -> int:
    if value < 0:
        raise CoercionError(f"limit and offset must be ≥ 0, not {value}")
    return value


def _coerce_param(raw: Any, typ: str, ctx: BindContext) -> Any:
    """A parameter's value as its field stores it; anything that does not fit is a
    CoercionError (never a database error at execution)."""
    if isinstance(raw, str):
        text_value(raw)
    if typ == "tag":
        if not isinstance(raw, str):
            raise CoercionError(f"{brief(raw)} is not a tag name")
        return tag_name(raw)
    if typ == "kind":
        if not isinstance(raw, str) or raw.lower() not in KINDS:
            raise CoercionError(f"{brief(raw)} is not a kind (one of {', '.join(KINDS)})")
        return raw.lower()
    if typ == "ext":
        if not isinstance(raw, str):
            raise CoercionError(f"{brief(raw)} is not an extension")
        return raw.lower()
    if typ == "path":
        if isinstance(raw, os.PathLike):
            raw = os.fspath(raw)
        if not isinstance(raw, str):
            raise CoercionError(f"{brief(raw)} is not a path")
        p = os.path.expanduser(raw)
        if not p.startswith("/"):
            raise CoercionError(f"{raw!r} is a relative path: pass an absolute one")
        return p.rstrip("/") or "/" if len(p) > 1 else p
    if typ == "search":
        if not isinstance(raw, str):
            raise CoercionError(f"{brief(raw)} is not search text")
        return raw
    if typ == "json":
        return json_value(raw)
    if typ in ("time_ns", "time_iso"):
        if isinstance(raw, str):
            start, _ = time_text(raw, ctx.now)
            return to_ns(start) if typ == "time_ns" else to_iso(start)
        return coerce(typ, raw, ctx.now)
    if typ == "int" and (isinstance(raw, bool) or not isinstance(raw, int)):
        raise CoercionError(f"{brief(raw)} is not a whole number")
    return coerce(typ, raw)


def _transform(value: Any, tf: str) -> Any:
    if not tf:
        return value
    if tf == "lower":
        return value.lower() if isinstance(value, str) else value
    if tf == "nonneg":
        return _nonneg(value)
    if tf == "prefix_lo":
        return "/\x01" if value == "/" else value + "/"   # below "/", not "/" itself
    if tf == "prefix_hi":
        return "0" if value == "/" else value + "0"        # '0' sorts right after '/'
    if tf == "glob_regex":
        return patterns.glob_regex(value)
    if tf == "path_glob":
        return patterns.path_glob_regex(value)
    if tf == "regex":
        return patterns.check_regex(value)
    if tf == "fts":
        return fts.text_query(value)
    if tf == "fts_names":
        return fts.names_query(value)
    if tf == "fts_short":
        return fts.name_scan_regex(value)
    if tf.startswith("only_"):        # a model field's list item, kept if of this kind
        return _only(value, tf[5:])
    if tf == "uuid_or_none":
        try:
            return as_uuid_bytes(value)
        except CoercionError:
            return None
    raise ValueError(f"unknown transform {tf}")  # pragma: no cover

