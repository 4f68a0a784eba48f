"""A WASM package as an ExtensionDefinition: the same record, grants, jobs and actions machinery
Python extensions use, with each job, task and action a thin Python shell that calls the guest.

Models declared as JSON Schema become @model dataclasses (a `"contentEncoding": "base64"`
property is a blob field); settings become a config class of `setting(...)` fields.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.actions import action
from core.extensions.definition import ExtensionDefinition
from core.extensions.manifest import ExtensionPackage
from core.access.permissions import manifest_permissions
from core.extensions.settings import setting
from core.store.facade import core_side
from core.jobs import job
from core.jobs.registry import TaskSpec
from core.domain.models import model
from core.domain.models.spec import BlobData, find_model
from .package import WasmPackage
from .runtime import WasmRuntime
from core.agents import agent, on_event

if TYPE_CHECKING:  # pragma: no cover
    from core.actions.context import ActionContext
    from core.actions.model import ActionPreview
    from core.actions.sealed import ExtensionActionContext
    from core.agents.agent import AgentContext
    from core.jobs.context import JobContext
    from core.jobs.sealed import ExtensionJobContext

_PY_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list,
             "object": dict}


def model_classes(extension_id: str, manifest: dict[str, Any]) -> list[type]:
    out = []
    for m in manifest.get("models", []):
        version = m.get("version", "1.0.0")
        try:
            existing = find_model(m["name"], extension_id)
        except LookupError:
            existing = None
        if existing is not None and existing.__vdfs_model__.version == version and \
                getattr(existing, "__vdfs_json_schema__", None) == m["schema"]:
            out.append(existing)      # the same declaration again (a reload): keep one class
            continue
        fields = []
        for name, prop in m["schema"]["properties"].items():
            if prop.get("contentEncoding") == "base64":
                meta = {"vdfs_blob": BlobData(compression="zstd", lazy=True)}
                fields.append((name, Any, dataclasses.field(default=None, metadata=meta)))
            else:
                default = prop.get("default")
                f = dataclasses.field(default_factory=lambda d=default: _copy(d)) \
                    if isinstance(default, (list, dict)) else dataclasses.field(default=default)
                fields.append((name, Any, f))
        cls = dataclasses.make_dataclass(m["name"], fields)
        cls.__module__ = __name__
        cls.__vdfs_json_schema__ = m["schema"]   # type: ignore[attr-defined]
        out.append(model(version=version, scope=m.get("scope", "standalone"),
                         extension_id=extension_id, name=m["name"])(cls))
    return out


def _copy(value: Any) -> Any:
    import copy
    return copy.deepcopy(value)


def config_class(extension_id: str, schema: dict[str, Any] | None) -> type | None:
    if not schema or not schema.get("properties"):
        return None
    attrs: dict[str, Any] = {"__annotations__": {}}
    for name, prop in schema["properties"].items():
        attrs[name] = setting(label=prop.get("title", name), default=prop.get("default"),
                              description=prop.get("description"), choices=prop.get("enum"))
        attrs["__annotations__"][name] = _PY_TYPES.get(prop.get("type", ""), object)
    return type(f"Settings_{extension_id.replace('.', '_')}", (), attrs)


def _job_shell(extension_id: str, decl: dict[str, Any]) -> Any:
    def run_wasm_job(ctx: JobContext | ExtensionJobContext, **args: Any) -> Any:
        return WasmRuntime.of(core_side(ctx).lib, extension_id).run_job(ctx, decl, args)
    run_wasm_job.__qualname__ = run_wasm_job.__name__ = decl["name"]
    return job(name=f"{extension_id}.{decl['name']}", extension_id=extension_id,
               parallelism=decl.get("parallelism", 1))(run_wasm_job)


def _action_shell(extension_id: str, decl: dict[str, Any]) -> Any:
    def run_wasm_action(ctx: ActionContext | ExtensionActionContext, **args: Any) -> ActionPreview:
        return WasmRuntime.of(core_side(ctx).lib, extension_id).preview_action(ctx, decl, args)
    run_wasm_action.__name__ = decl["name"]
    return action(name=f"{extension_id}.{decl['name']}", extension_id=extension_id)(run_wasm_action)


def agent_for(extension_id: str, hooks: list[dict[str, Any]]) -> Any:
    """An agent whose handlers call the guest's hook exports with {"event", "payload"}; the
    agent runtime has already dropped events outside the extension's read scope."""
    attrs: dict[str, Any] = {}
    for i, hook in enumerate(hooks):
        def handle(self: Any, actx: AgentContext, arg: Any, export: str = hook["export"]) -> None:
                WasmRuntime.of(core_side(actx._ext).lib, extension_id).call(
                export, {"event": actx.event.kind, "payload": actx.event.payload})
        attrs[f"hook_{i}"] = on_event(hook["event"], entry_kind=hook.get("entry_kind"))(handle)
    return agent(type(f"Agent_{extension_id.replace('.', '_')}", (), attrs))()


def wasm_definition(pkg: WasmPackage, package_root: str | Path) -> ExtensionDefinition:
    """The ExtensionDefinition of a validated package (jobs and actions registered)."""
    m = pkg.manifest
    ext_id = m["id"]
    d = ExtensionDefinition(
        id=ext_id, name=m["name"], version=m["version"], description=m.get("description", ""),
        min_core_version=m.get("min_core_version", "0.0.0"),
        required_features=list(m.get("required_features", [])),
        permissions=manifest_permissions(m),
        config_cls=config_class(ext_id, m.get("settings")),
        models=model_classes(ext_id, m),
        jobs=[_job_shell(ext_id, j) for j in m.get("jobs", [])],
        actions=[_action_shell(ext_id, a) for a in m.get("actions", [])],
        package_root=Path(package_root))
    # What the manager and the views read from a package: its AI models and its ui_manifest.
    d.package = ExtensionPackage(Path(package_root), {"id": ext_id, "models": m.get("ai_models", [])},
                                 pkg.ui)
    if m.get("hooks"):
        d.agent = agent_for(ext_id, m["hooks"])
    d.wasm_package = pkg       # type: ignore[attr-defined]
    return d
