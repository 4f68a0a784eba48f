"""@action / @action_execute, and the ActionContext that builds changes from the current state.

    @action(name="photos.tag_big")
    def tag_big(ctx, min_size: int) -> ActionPreview:
        rows = ctx.lib.conn.execute("SELECT uuid FROM entries WHERE size >= ?", (min_size,))
        return ctx.preview("Tag big files", [ctx.add_tag(u, "#big") for (u,) in rows])

    @action_execute(tag_big)            # optional: the default applies every change
    def tag_big_execute(ctx, preview):
        ctx.apply_all()

An execute function may only apply the previewed changes (ctx.apply / ctx.apply_all); the
engine refuses to commit if it applied anything else or left a change out.

A user's or core's action gets this ActionContext, library and all; an extension's action gets
an ExtensionActionContext (core.actions.sealed): the same builders and its checked
`ctx.vdfs()` — it lists what it wants through `ctx.vdfs().query(...)`, not `ctx.lib`.
"""
from __future__ import annotations

import os
import posixpath
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from core.domain.locations import normalize_path
from core.store.paths import stored_path
from . import fsops, targets
from .model import ActionError, ActionPreview, Change
from .changes import _model_spec
from .sealed import sealed_action
from core.domain.models import spec_of
from core.domain.models.instances import inline_data
from core.domain.tags import canonical_name
from core.jobs.executor import host_api

if TYPE_CHECKING:  # pragma: no cover
    from core.extensions.host import ScopedVdfsApi
    from core.host import VdfsApi
    from core.library import Library
    from core.store.ids import UuidLike
    from .executing import ExecutingVdfs
    from .sealed import ExtensionActionContext

_lock = threading.Lock()
_actions: dict[str, "ActionSpec"] = {}


@dataclass
class ActionSpec:
    name: str
    fn: Callable[..., Any]
    extension_id: str | None = None
    execute: Callable[..., Any] | None = None


def action(name: str | None = None, *, extension_id: str | None = None
           ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: `fn(ctx, **args) -> ActionPreview` (or a list of Changes); changes nothing."""
    if callable(name):
        fn, name = name, None
        return action()(fn)

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        spec = ActionSpec(name or f"{fn.__module__}.{fn.__name__}", fn, extension_id)
        with _lock:
            old = _actions.get(spec.name)
            if old is not None and old.execute is not None:
                spec.execute = old.execute
            _actions[spec.name] = spec
        fn.__vdfs_action__ = spec  # type: ignore[attr-defined]
        return fn
    return deco


def action_execute(for_action: str | Callable[..., Any]) -> Any:
    """Decorator: the execute step of an action, `fn(ctx, preview)`, run inside the commit.

    `@action_execute(organize_photos)` (or the action's name) says which action it completes;
    a bare `@action_execute` on `organize_photos_execute` pairs with the @action
    `organize_photos` defined before it in the same module, and refuses when there is none.
    """
    if callable(for_action) and getattr(for_action, "__vdfs_action__", None) is None:
        _pair_by_name(for_action)
        return for_action

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        spec = get_action(for_action)
        spec.execute = fn
        return fn
    return deco


def _pair_by_name(fn: Callable[..., Any]) -> None:
    base = getattr(fn, "__name__", "")
    if not base.endswith("_execute") or base == "_execute":
        raise ActionError(f"a bare @action_execute pairs by name, so {base!r} must be called "
                          "<action>_execute; or name the action: @action_execute(the_action)")
    base = base[:-len("_execute")]
    with _lock:
        specs = [s for s in _actions.values() if getattr(s.fn, "__name__", None) == base
                 and getattr(s.fn, "__module__", None) == fn.__module__]
    if not specs:
        raise ActionError(f"@action_execute {fn.__name__}: no @action {base!r} is defined before "
                          f"it in {fn.__module__}")
    for spec in specs:
        spec.execute = fn


def get_action(name_or_fn: str | Callable[..., Any]) -> ActionSpec:
    if callable(name_or_fn):
        spec = getattr(name_or_fn, "__vdfs_action__", None)
        if spec is None:
            raise ActionError(f"{name_or_fn!r} is not an action: decorate it with @action")
        return spec
    with _lock:
        spec = _actions.get(name_or_fn)
        known = sorted(_actions)
    if spec is None:
        raise ActionError(f"no action registered as {name_or_fn!r} "
                          f"(known: {', '.join(known) or 'none'})")
    return spec


def _uuid_of(value: Any, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return uuid.UUID(bytes=bytes(value))
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ActionError(f"{what} must be a uuid, got {value!r}") from None


class ActionContext:
    """Given to @action and @action_execute functions."""

    def __init__(self, lib: Library, *, actor: str = "user", extension_id: str | None = None,
                 preview_id: str | None = None, args: dict[str, Any] | None = None):
        self.lib = lib
        self.actor = actor
        self.extension_id = extension_id
        self.args = args or {}
        self.preview_id = preview_id or str(uuid.uuid4())
        self._applier: Callable[[Change], None] | None = None
        self._preview: ActionPreview | None = None

    def for_code(self) -> ActionContext | ExtensionActionContext:
        """What the action's function receives: this context for a user's or core's action,
        the sealed ExtensionActionContext for an action of an extension."""
        return sealed_action(self) if self.extension_id else self

    def vdfs(self) -> VdfsApi | ScopedVdfsApi | ExecutingVdfs:
        """The host API; an extension's action gets its permission-checked view. While a
        preview is committed, its writes apply the previewed changes (core.actions.executing)."""
        api = host_api(self.lib, self.extension_id)
        if self._applier is not None:
            from .executing import executing_vdfs
            return executing_vdfs(self, api)
        return api

    def preview(self, title: str, changes: list[Change], reversible: bool | None = None
                ) -> ActionPreview:
        return ActionPreview(title=title, changes=list(changes), reversible=reversible)

    # ---- change builders: each reads the current state to fill in `before` ------------------
    def _target(self, target: Any, scope: str) -> str:
        if scope not in ("entry", "content", "model"):
            raise ActionError(f"scope must be 'entry', 'content' or 'model', not {scope!r}")
        if isinstance(target, str) and target.partition(":")[0] in ("entry", "content", "model") \
                and ":" in target:
            return target
        if hasattr(target, "__vdfs_model__"):
            from core.domain.models import model_uuid
            return f"model:{model_uuid(target)}"
        t = f"{scope}:{_uuid_of(target, f'{scope} uuid')}"
        if not targets.exists(self.lib.conn, t):
            raise ActionError(f"no {scope} {t.partition(':')[2]} in this library")
        return t

    def add_tag(self, target: Any, tag: str, *, scope: str = "entry") -> Change:
        return Change("add_tag", self._target(target, scope), after=canonical_name(tag))

    def remove_tag(self, target: Any, tag: str, *, scope: str = "entry") -> Change:
        t = self._target(target, scope)
        name = canonical_name(tag)
        if name not in targets.tags_of(self.lib.conn, *self._split(t)):
            raise ActionError(f"{t} has no tag {name}")
        return Change("remove_tag", t, before=name)

    def set_note(self, target: Any, note: str | None, *, scope: str = "entry") -> Change:
        t = self._target(target, scope)
        return Change("set_note", t, before=targets.note_of(self.lib.conn, *self._split(t)),
                      after=note)

    def move(self, entry: UuidLike, new_path: str | os.PathLike[str]) -> Change:
        t = self._target(entry, "entry")
        after = stored_path(normalize_path(os.fspath(new_path)))   # a path typed for the OS
        row = fsops.check_move(self.lib, uuid.UUID(t[6:]), after)
        return Change("move", t, before=row["path"], after=after)

    def rename(self, entry: UuidLike, new_name: str) -> Change:
        if not new_name or "/" in new_name or new_name in (".", ".."):
            raise ActionError(f"a new name must be one path component, got {new_name!r}")
        t = self._target(entry, "entry")
        row = targets.entry_row(self.lib.conn, uuid.UUID(t[6:]))
        new_path = posixpath.join(posixpath.dirname(row["path"]), stored_path(new_name))
        fsops.check_move(self.lib, uuid.UUID(t[6:]), new_path)
        return Change("rename", t, before=row["path"], after=new_path)

    def delete(self, entry: UuidLike) -> Change:
        t = self._target(entry, "entry")
        u = uuid.UUID(t[6:])
        row = fsops.check_delete(self.lib, u)
        return Change("delete", t, before=row["path"],
                      after=fsops.trash_path(self.lib, self.preview_id, u, row["name"]))

    def create_model(self, obj: Any, *, content: UuidLike | None = None,
                     entry: UuidLike | None = None) -> Change:
        """A new model (instance of an @model class), standalone or for content / an entry."""
        spec = spec_of(obj)
        scope, target = "standalone", None
        if content is not None:
            scope, target = "content", str(_uuid_of(content, "content uuid"))
        elif entry is not None:
            scope, target = "entry", str(_uuid_of(entry, "entry uuid"))
        if scope != spec.scope:
            raise ActionError(f"{spec.model_type} is declared with scope={spec.scope!r}, "
                              f"not {scope!r}")
        mu = getattr(obj, "id", None) if spec.id_field else None
        mu = mu if isinstance(mu, uuid.UUID) else uuid.uuid4()
        data = inline_data(obj)
        c = Change("create_model", f"model:{mu}", after={
            "model_type": spec.model_type, "extension_id": spec.extension_id,
            "data": data, "scope": scope, "scope_target": target, "uuid": str(mu)},
            reversible=True)
        c.obj = obj
        return c

    def delete_model(self, model: Any) -> Change:
        t = self._target(model, "model")
        return Change("delete_model", t, before=_model_spec(self.lib, uuid.UUID(t[6:])))

    @staticmethod
    def _split(target: str) -> tuple[str, uuid.UUID]:
        scope, _, ident = target.partition(":")
        return scope, uuid.UUID(ident)

    # ---- used by @action_execute ----------------------------------------------------------
    def apply(self, change: Change) -> None:
        """Apply one change of the preview being committed."""
        if self._applier is None:
            raise ActionError("ctx.apply is only available while committing a preview")
        self._applier(change)

    def apply_all(self) -> None:
        assert self._preview is not None
        for change in self._preview.changes:
            self.apply(change)
