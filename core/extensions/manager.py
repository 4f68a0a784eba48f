"""Install, upgrade and uninstall extensions in a library, and run the installed ones.

`lib.extensions` (one per open library).
`install(ext, grants=…)` refuses an extension this core cannot serve (version, features) or
grants that exceed its request, then in one transaction records it in `extensions` and
`extension_grants`, registers its jobs, actions and AI models, runs its `init(ctx)` and starts
its agent. An installed extension is re-activated when the library is opened again
(`load_installed`), as long as its definition can be imported.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Sequence


from core.agents.agent import AgentRuntime
from core.ai import ModelRegistry, ModelSource
from core.store.clock import now_iso
from core.store.txn import transaction
from core.version import __version__ as core_version
from .context import ExtensionContext, ExtensionRuntime
from .definition import (ExtensionDefinition, ExtensionError, core_features, defined,
                         parse_version, register_jobs, resolve)
from .manifest import validate_ui_manifest
from core.access.granted import stored_grant_set, stored_grants
from core.access.permissions import Grant, as_grant, validate_grants
from .settings import config_values, make_config
from core.actions import get_action
from .wasm.install import resolve_any

if TYPE_CHECKING:  # pragma: no cover
    from core.access.guard import Guard
    from core.access.permissions import PermissionSpec
    from core.actions.model import ActionPreview, ActionResult
    from core.jobs.handle import Job
    from core.library import Library
    from .host import ScopedVdfsApi

log = logging.getLogger(__name__)


class ExtensionManager:
    def __init__(self, lib: Library):
        self.lib = lib
        self._active: dict[str, tuple[ExtensionRuntime, AgentRuntime | None]] = {}
        self._lock = threading.RLock()
        lib.jobs   # the job runner exists, so on_event triggers of extension jobs are live

    # ---- refusals -------------------------------------------------------------------------
    @staticmethod
    def check_compatible(d: ExtensionDefinition) -> None:
        if parse_version(core_version) < parse_version(d.min_core_version):
            raise ExtensionError(f"extension {d.id} {d.version} needs core >= {d.min_core_version}, "
                                 f"but this core is {core_version}")
        missing = sorted(set(d.required_features) - core_features())
        if missing:
            hint = " (OCR: pip install 'vdfs[ocr]')" if "ocr" in missing else ""
            raise ExtensionError(f"extension {d.id} needs core features this core lacks: "
                                 f"{', '.join(missing)}{hint}")

    # ---- install / upgrade / uninstall ----------------------------------------------------
    def install(self, ext: Any,
                grants: Sequence[Grant | PermissionSpec | dict[str, Any]] | str | None = None, *,
                scope: Sequence[Any] = (),
                config: dict[str, Any] | None = None) -> ExtensionContext:
        """Install (or upgrade, or re-grant) an extension. `grants` is a list of Permission
        values / `Permission.X(...).scoped_to(...)` grants, or "requested" for everything it
        asked for; `scope` is the default scope of unscoped grants."""
        d = resolve_any(self.lib, ext)
        self.check_compatible(d)
        if grants == "requested":
            grants = list(d.permissions)
        grant_list = [as_grant(g, scope) for g in (grants or [])]
        validate_grants(d.id, d.permissions, grant_list)
        previous = self.record(d.id)
        values = dict(previous["config"]) if previous else {}
        values.update(config or {})
        cfg = make_config(d.config_cls, values)
        self._check_ui(d)
        self._register_ai_models(d)     # before anything is recorded: a bad model refuses install
        with self._lock:
            self._deactivate(d.id)
            now = now_iso()
            manifest = json.dumps(d.manifest(), sort_keys=True)
            with transaction(self.lib.conn) as conn:
                if previous:
                    conn.execute("UPDATE extensions SET name=?, version=?, manifest=?, config=?, "
                                 "enabled=1, updated_at=? WHERE id=?",
                                 (d.name, d.version, manifest, json.dumps(config_values(cfg)), now, d.id))
                    conn.execute("DELETE FROM extension_grants WHERE extension_id = ?", (d.id,))
                else:
                    conn.execute("INSERT INTO extensions (id, name, version, manifest, config, enabled, "
                                 "installed_at, updated_at) VALUES (?,?,?,?,?,1,?,?)",
                                 (d.id, d.name, d.version, manifest, json.dumps(config_values(cfg)),
                                  now, now))
                conn.executemany("INSERT INTO extension_grants (extension_id, permission, params, "
                                 "scope, granted_at) VALUES (?,?,?,?,?)",
                                 [(d.id, *g.to_row(), now) for g in grant_list])
            ctx = self._activate(d, cfg)
            if previous and previous["version"] != d.version:
                migrate = getattr(d.cls, "migrate", None)
                if callable(migrate):
                    migrate(d.instance(cfg), ctx.facade, previous["version"])
                ctx.trace(f"upgraded from {previous['version']} to {d.version}", level="info")
            init = getattr(d.cls, "init", None)
            if callable(init):
                try:
                    init(d.instance(cfg), ctx.facade)
                except Exception as exc:
                    if previous is None:
                        self.uninstall(d.id)
                    raise ExtensionError(f"extension {d.id}: init() failed, "
                                         f"{'not installed' if previous is None else 'kept'}: "
                                         f"{exc}") from exc
            return ctx.facade

    def upgrade(self, ext: Any, *, config: dict[str, Any] | None = None) -> ExtensionContext:
        """Install a new version keeping the user's grants and settings (and all data)."""
        d = resolve_any(self.lib, ext)
        previous = self.record(d.id)
        if previous is None:
            raise ExtensionError(f"extension {d.id} is not installed: use install()")
        return self.install(d, self.grants(d.id), config=config)

    def uninstall(self, extension_id: str, *, keep_data: bool = True) -> None:
        """Remove an extension. Its models, tags and memory stay unless keep_data=False."""
        if self.record(extension_id) is None:
            raise ExtensionError(f"extension {extension_id} is not installed")
        with self._lock:
            ctx = self._active.get(extension_id, (None, None))[0]
            memory_path = ctx.memory_path if ctx else self.lib.path / "agents" / f"{extension_id}.db"
            self._deactivate(extension_id)
            if not keep_data:
                api = self.lib.vdfs()
                tagged = self.lib.conn.execute(
                    "SELECT t.name, m.entry_uuid, m.content_identity_uuid FROM tag_links l "
                    "JOIN tags t ON t.id = l.tag_id JOIN user_metadata m ON m.id = l.metadata_id "
                    "WHERE l.applied_by = ?", (extension_id,)).fetchall()
                for tag, eu, cu in tagged:
                    if eu is not None:
                        api.remove_tag_from_entry(eu, tag, applied_by=extension_id)
                    elif cu is not None:
                        api.remove_tag_from_content(cu, tag, applied_by=extension_id)
                for (mu,) in self.lib.conn.execute(
                        "SELECT uuid FROM models WHERE extension_id = ?", (extension_id,)).fetchall():
                    api.delete_model(mu, actor=extension_id)
                for suffix in ("", "-wal", "-shm"):
                    memory_path.with_name(memory_path.name + suffix).unlink(missing_ok=True)
                registry = ModelRegistry()
                for m in registry.list():
                    if m.extension_id == extension_id:
                        registry.unregister(m.ref)
            with transaction(self.lib.conn) as conn:
                conn.execute("DELETE FROM extension_grants WHERE extension_id = ?", (extension_id,))
                conn.execute("DELETE FROM extensions WHERE id = ?", (extension_id,))

    # ---- records --------------------------------------------------------------------------
    def record(self, extension_id: str) -> dict[str, Any] | None:
        row = self.lib.conn.execute("SELECT id, name, version, manifest, config, enabled, "
                                    "installed_at, updated_at FROM extensions WHERE id = ?",
                                    (extension_id,)).fetchone()
        if row is None:
            return None
        return {"id": row[0], "name": row[1], "version": row[2], "manifest": json.loads(row[3]),
                "config": json.loads(row[4]), "enabled": bool(row[5]), "installed_at": row[6],
                "updated_at": row[7]}

    def list(self) -> list[dict[str, Any]]:
        ids = [r[0] for r in self.lib.conn.execute("SELECT id FROM extensions ORDER BY id")]
        return [self.record(i) for i in ids]  # type: ignore[misc]

    def grants(self, extension_id: str) -> list[Grant]:
        return stored_grants(self.lib.conn, extension_id)

    # ---- running --------------------------------------------------------------------------
    def context(self, extension_id: str) -> ExtensionRuntime:
        """Core's side of an active extension (library, grants, guard); its code gets
        `.facade`, the sealed ExtensionContext."""
        with self._lock:
            active = self._active.get(extension_id)
            if active is None:
                self._load(extension_id)
                active = self._active[extension_id]
            return active[0]

    def run_job(self, extension_id: str, job: str | Callable[..., Any], **args: Any) -> Job:
        """Start one of an extension's jobs for the user (no DispatchJobs needed: the user asks)."""
        ctx = self.context(extension_id)
        return self.lib.jobs.submit(ctx.job_name(job), args, extension_id=extension_id)

    def host_for(self, extension_id: str) -> ScopedVdfsApi:
        """The extension's permission-checked host API (what its jobs, tasks and actions get)."""
        return self.context(extension_id).vdfs()

    def load_installed(self) -> list[str]:
        """Activate every installed extension whose definition this process can import."""
        loaded = []
        for rec in self.list():
            if rec["id"] in self._active:
                continue
            try:
                self._load(rec["id"])
                loaded.append(rec["id"])
            except ExtensionError as exc:
                log.warning("installed extension not loaded: %s", exc)
        return loaded

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every agent has handled the events published so far."""
        for _, runtime in list(self._active.values()):
            if runtime is not None:
                runtime.wait_idle(timeout)

    def close(self) -> None:
        with self._lock:
            for ext_id in list(self._active):
                self._deactivate(ext_id)

    def _load(self, extension_id: str) -> None:
        rec = self.record(extension_id)
        if rec is None:
            raise ExtensionError(f"extension {extension_id} is not installed in this library")
        d = defined(extension_id)
        if d is None:
            from .wasm.install import stored_definition
            d = stored_definition(self.lib, extension_id, rec["version"])
        if d is None:
            raise ExtensionError(f"extension {extension_id} is installed but its code is not "
                                 "available: import its package or run the cell that defines it")
        if d.version != rec["version"]:
            raise ExtensionError(f"extension {extension_id}: installed version {rec['version']} "
                                 f"but the code is {d.version}; call upgrade()")
        self._activate(d, make_config(d.config_cls, rec["config"]))

    def _activate(self, d: ExtensionDefinition, cfg: Any) -> ExtensionRuntime:
        """Run an installed extension under its grants as recorded (core.access.granted)."""
        ctx = ExtensionRuntime(self.lib, d, stored_grant_set(self.lib, d.id), cfg)
        register_jobs(d)
        self._register_actions(d)
        runtime = None
        agent = d.agent_obj
        if agent is not None:
            obj = agent if not isinstance(agent, type) else (
                d.instance(cfg) if agent is d.cls else agent())
            runtime = AgentRuntime(ctx, obj)
            runtime.start()
        self._active[d.id] = (ctx, runtime)
        return ctx

    def _deactivate(self, extension_id: str) -> None:
        ctx, runtime = self._active.pop(extension_id, (None, None))
        if runtime is not None:
            runtime.stop()
        if ctx is not None:
            ctx.close()

    def _register_actions(self, d: ExtensionDefinition) -> None:
        for a in d.actions:
            spec = a.__vdfs_action__
            if spec.extension_id is None:
                spec.extension_id = d.id
            elif spec.extension_id != d.id:
                raise ExtensionError(f"extension {d.id}: action {spec.name} belongs to "
                                     f"extension {spec.extension_id!r}")

    # ---- actions (core.actions checks them against the grants) ---------------------------
    def guard(self, extension_id: str) -> Guard:
        """The scope checks of an installed extension (what core.actions asks)."""
        return self.context(extension_id).guard

    def preview_action(self, extension_id: str, action: str | Callable[..., Any], **args: Any
                       ) -> ActionPreview:
        """Preview one of the extension's actions (checked in core.actions, like any preview)."""
        spec = get_action(action)
        if spec.extension_id != extension_id:
            raise ExtensionError(f"action {spec.name} is not an action of {extension_id}")
        return self.lib.actions.preview(spec.name, actor=extension_id, **args)

    def commit_action(self, p: ActionPreview) -> ActionResult:
        """Commit a previewed extension action (re-checked in core.actions: grants may have
        changed since)."""
        if not p.extension_id:
            raise ExtensionError("this preview is not from an extension action")
        return self.lib.actions.commit(p, actor=p.extension_id)

    @staticmethod
    def _register_ai_models(d: ExtensionDefinition) -> None:
        registry = ModelRegistry(extension_id=d.id)
        declared: list[tuple[str, str, ModelSource]] = []
        if d.package is not None:
            for m in d.package.manifest.get("models", []):
                declared.append((m["name"], m["category"],
                                 ModelSource.from_json(m["source"], d.package_root)))
        for item in d.ai_models:
            if isinstance(item, dict):
                declared.append((item["name"], item["category"], item["source"]))
            else:
                declared.append(tuple(item))  # type: ignore[arg-type]
        for name, category, source in declared:
            registry.register(name, category, source)

    def _check_ui(self, d: ExtensionDefinition) -> None:
        ui = getattr(d.cls, "ui_manifest", None) if d.cls is not None else None
        if isinstance(ui, dict):
            validate_ui_manifest(ui)
        # a package's ui_manifest.json was validated (and its queries compiled) when loaded
