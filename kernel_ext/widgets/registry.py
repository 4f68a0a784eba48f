"""Looking up installed extensions for the magics: their views, jobs and actions by name."""
from __future__ import annotations

from typing import Any

from ..errors import VdfsUsageError


def manager(lib: Any) -> Any:
    from core.extensions.manager import ExtensionManager
    return lib.extensions


def load_installed(lib: Any) -> list[str]:
    """Activate the library's installed extensions whose code this kernel can import."""
    return manager(lib).load_installed()


def run_job(lib: Any, name: str, args: dict[str, Any]) -> Any:
    """Submit a job by name; an extension's job (`ext.id.job`) runs as that extension with its
    permission-checked host API — lib.jobs and the task host decide that, not this door."""
    return lib.jobs.submit(name, args)


def definition(lib: Any, extension_id: str) -> Any:
    mgr = manager(lib)
    if mgr.record(extension_id) is None:
        installed = ", ".join(r["id"] for r in mgr.list()) or "none"
        raise VdfsUsageError(f"extension {extension_id!r} is not installed (installed: {installed})")
    return mgr.context(extension_id).definition


def ui_manifest(d: Any) -> Any:
    """The extension's validated ui_manifest (package file or class attribute), or None."""
    ui = getattr(getattr(d, "package", None), "ui", None)
    if ui is not None:
        return ui
    raw = getattr(d.cls, "ui_manifest", None) if d.cls is not None else None
    if isinstance(raw, dict):
        from core.extensions.manifest import validate_ui_manifest
        return validate_ui_manifest(raw)
    return None


def ui_views(d: Any) -> list[tuple[dict[str, Any], str]]:
    """(view, DSL text) for every view of the extension's ui_manifest."""
    ui = ui_manifest(d)
    return [(v, ui.query_text(v)) for v in ui.views] if ui is not None else []


def find_view(lib: Any, extension_id: str, view_id: str) -> tuple[dict[str, Any], str]:
    views = ui_views(definition(lib, extension_id))
    for view, text in views:
        if view.get("id") == view_id:
            return view, text
    have = ", ".join(v.get("id", "?") for v, _ in views) or "none"
    raise VdfsUsageError(f"extension {extension_id!r} has no view {view_id!r} (views: {have})")


def names_for(lib: Any, command: str) -> list[str]:
    """Completion candidates for `%vdfs run|preview|view|sidebar|settings`."""
    out: list[str] = []
    try:
        mgr = manager(lib)
        records = mgr.list()
    except Exception:  # extensions not available in this library: nothing to offer
        return out
    from core.extensions.definition import job_short_name
    for rec in records:
        try:
            d = mgr.context(rec["id"]).definition
        except Exception:  # installed but its code is not importable here
            continue
        if command == "run":
            out += [f"{d.id}.{job_short_name(fn)}" for fn in d.jobs]
        elif command == "preview":
            out += [f"{d.id}.{_action_name(a)}" for a in d.actions]
        elif command == "view":
            out += [f"{d.id}/{v.get('id')}" for v, _ in ui_views(d)]
        elif command in ("sidebar", "settings"):
            out.append(d.id)
    return sorted(out)


def _action_name(action: Any) -> str:
    spec = getattr(action, "__vdfs_action__", None)
    name = getattr(spec, "name", None) or getattr(action, "__name__", str(action))
    return str(name).rsplit(".", 1)[-1]
