"""`@extension(...)`: what an extension is, what it needs from core, and what it brings.

The decorator records an `ExtensionDefinition` on the class. Its components (models, jobs,
actions, agent, memory, AI models) are the class attributes `models`, `jobs`, `actions`,
`agent`, `memory`, `ai_models` when given, otherwise every decorated object of the module that
defines the class (not for notebook cells, whose `__main__` holds everything).
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Callable

from core.errors import VdfsError
from core.access.permissions import PermissionSpec
from .settings import settings_schema
from core.content.ocr import ocr_available
from .manifest import _EXT_ID, load_package
from core.jobs import register_job

ENTRY_POINT_GROUP = "vdfs.extensions"


class ExtensionError(VdfsError):
    """An extension that cannot be defined, found or installed (says what is missing)."""


def parse_version(text: str) -> tuple[int, ...]:
    core = str(text).split("+", 1)[0].split("-", 1)[0]
    try:
        return tuple(int(p) for p in core.split("."))
    except ValueError:
        raise ExtensionError(f"version {text!r} is not of the form MAJOR.MINOR.PATCH") from None


def core_features() -> set[str]:
    """What this core provides; `required_features` must be a subset."""
    features = {"models", "blobs", "tags", "collections", "jobs", "actions", "agents", "query",
                "ai_models", "onnx", "ollama", "openai", "prompts", "exif_extraction",
                "thumbnails", "sidecars", "ui_manifest"}
    if ocr_available():
        features.add("ocr")
    return features


@dataclass
class ExtensionDefinition:
    id: str
    name: str
    version: str
    description: str = ""
    min_core_version: str = "0.0.0"
    required_features: list[str] = field(default_factory=list)
    permissions: list[PermissionSpec] = field(default_factory=list)
    cls: type | None = None
    config_cls: type | None = None
    models: list[type] = field(default_factory=list)
    jobs: list[Callable[..., Any]] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    agent: Any = None
    memory: type | None = None
    ai_models: list[Any] = field(default_factory=list)
    package_root: Path | None = None
    package: Any = None              # the validated ExtensionPackage, for folder installs

    @property
    def agent_obj(self) -> Any:
        """The agent: explicit, or the class itself when @agent was applied after @extension."""
        if self.agent is None and self.cls is not None and \
                getattr(self.cls, "__vdfs_agent__", None) is not None:
            return self.cls
        return self.agent

    @property
    def settings_schema(self) -> dict[str, Any]:
        return settings_schema(self.config_cls)

    def manifest(self) -> dict[str, Any]:
        """The manifest.json view of this definition (what is recorded in `extensions`)."""
        return {"id": self.id, "name": self.name, "version": self.version,
                "description": self.description, "min_core_version": self.min_core_version,
                "required_features": list(self.required_features),
                "permissions": [p.to_json() for p in self.permissions],
                "models": [m.__vdfs_model__.model_type for m in self.models],
                "jobs": [job_short_name(j) for j in self.jobs],
                "settings": self.settings_schema}

    def instance(self, config: Any) -> Any:
        """An instance of the extension class holding its config (for agent handlers)."""
        if self.cls is None:
            return None
        obj = self.cls.__new__(self.cls)
        obj.config = config
        return obj


def job_short_name(fn: Callable[..., Any]) -> str:
    spec = getattr(fn, "__vdfs_job__", None)
    return (spec.name if spec else fn.__name__).rsplit(".", 1)[-1]


def extension(*, id: str, name: str, version: str, description: str = "",  # noqa: A002
              min_core_version: str = "0.0.0", required_features: list[str] | None = None,
              permissions: list[PermissionSpec] | None = None) -> Callable[[type], type]:
    """Declare an extension class (docs/architecture.md §5); its `config` annotation is the
    settings class."""
    import re
    if not isinstance(id, str) or not re.match(_EXT_ID, id):
        raise ExtensionError(f"extension id must be reverse-DNS like 'com.example.photos', got {id!r}")
    parse_version(version)
    parse_version(min_core_version)
    perms = list(permissions or [])
    for p in perms:
        if not isinstance(p, PermissionSpec):
            raise ExtensionError(f"extension {id}: permissions must be Permission.X(...) values, "
                                 f"got {p!r}")

    def wrap(cls: type) -> type:
        hints = getattr(cls, "__annotations__", {})
        config_cls = hints.get("config")
        if isinstance(config_cls, str):
            config_cls = _resolve_name(cls, config_cls)
        definition = ExtensionDefinition(
            id=id, name=name, version=version, description=description,
            min_core_version=min_core_version, required_features=list(required_features or []),
            permissions=perms, cls=cls, config_cls=config_cls if isinstance(config_cls, type) else None)
        _collect(definition, cls)
        cls.__vdfs_extension__ = definition  # type: ignore[attr-defined]
        _DEFINED[id] = definition   # a notebook cell run again redefines it
        return cls
    return wrap


_DEFINED: dict[str, ExtensionDefinition] = {}


def _resolve_name(cls: type, name: str) -> Any:
    """A string annotation (`from __future__ import annotations`) resolved where the class was
    written: its module, or — for a notebook cell — the globals of its methods."""
    spaces = [vars(m) for m in [sys.modules.get(cls.__module__)] if m is not None]
    spaces += [f.__globals__ for f in vars(cls).values() if inspect.isfunction(f)]
    for space in reversed(spaces):
        if name in space:
            return space[name]
    return None


def defined(extension_id: str) -> ExtensionDefinition | None:
    """The definition of an extension this process has seen (decorated or discovered)."""
    found = _DEFINED.get(extension_id)
    if found is None:
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == extension_id:
                found = resolve(ep.load())
    return found


def _collect(d: ExtensionDefinition, cls: type) -> None:
    explicit = {k: cls.__dict__[k] for k in ("models", "jobs", "actions", "agent", "memory",
                                            "ai_models") if k in cls.__dict__}
    module = sys.modules.get(cls.__module__)
    scan = [] if module is None or cls.__module__ == "__main__" else list(vars(module).values())
    mine = (None, d.id)
    d.models = list(explicit.get("models", [o for o in scan if _is(o, "__vdfs_model__")
                                            and o.__vdfs_model__.extension_id in mine]))
    d.jobs = list(explicit.get("jobs", [o for o in scan if _is(o, "__vdfs_job__")
                                        and o.__vdfs_job__.extension_id in mine]))
    d.actions = list(explicit.get("actions", [o for o in scan if _is(o, "__vdfs_action__")
                                              and o.__vdfs_action__.extension_id in mine]))
    d.ai_models = list(explicit.get("ai_models", []))
    agent = explicit.get("agent")
    if agent is None and getattr(cls, "__vdfs_agent__", None) is not None:
        agent = cls
    if agent is None:
        agent = next((o for o in scan if inspect.isclass(o) and _is(o, "__vdfs_agent__")), None)
    d.agent = agent
    d.memory = explicit.get("memory", next(
        (o for o in scan if inspect.isclass(o) and _is(o, "__vdfs_agent_memory__")), None))
    register_jobs(d)
    for m in d.models:
        spec = m.__vdfs_model__
        if spec.extension_id is None:
            spec.extension_id = d.id      # adopted before any row is written
        elif spec.extension_id != d.id:
            raise ExtensionError(f"extension {d.id}: model {spec.model_type} belongs to "
                                 f"extension {spec.extension_id!r}")


def register_jobs(d: ExtensionDefinition) -> None:
    """Register each job as `<extension id>.<name>`: at import time too, so a process that
    resumes a job of this extension finds it by importing the job's module."""
    for fn in d.jobs:
        spec = fn.__vdfs_job__
        register_job(f"{d.id}.{job_short_name(fn)}", fn, extension_id=d.id,
                     parallelism=spec.parallelism, trigger=spec.trigger,
                     events=list(spec.events), executor=spec.executor,
                     schedule=spec.schedule)


def _is(obj: Any, marker: str) -> bool:
    try:
        return obj.__dict__.get(marker) is not None if inspect.isclass(obj) else \
            getattr(obj, marker, None) is not None
    except Exception:
        return False


def resolve(ext: Any) -> ExtensionDefinition:
    """An ExtensionDefinition from a decorated class or instance, a definition, a package
    folder (manifest.json with a python entry), or the name of a `vdfs.extensions` entry point."""
    if isinstance(ext, ExtensionDefinition):
        return ext
    found = getattr(ext, "__vdfs_extension__", None)
    if found is not None:
        return found
    if isinstance(ext, Path) or (isinstance(ext, str) and Path(ext).is_dir()):
        return from_package(Path(ext))
    if isinstance(ext, str):
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == ext or ep.value.split(":")[0] == ext:
                return resolve(ep.load())
        raise ExtensionError(f"no extension {ext!r}: not a package folder and no "
                             f"'{ENTRY_POINT_GROUP}' entry point has that name "
                             f"(have: {discover_names()})")
    raise ExtensionError(f"{ext!r} is not an extension: decorate its class with @extension(...)")


def discover_names() -> list[str]:
    return sorted(ep.name for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP))


def discover() -> list[ExtensionDefinition]:
    """Every extension installed as a Python package (entry-point group `vdfs.extensions`)."""
    return [resolve(ep.load()) for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)]


def from_package(root: Path) -> ExtensionDefinition:
    """Load a package folder: validate its manifests, import its python entry, and check the
    manifest and the decorated class agree on id and version."""
    pkg = load_package(root)
    entry = pkg.manifest["entry"]
    if not entry.startswith("python:"):
        raise ExtensionError(f"{root}: entry {entry!r} needs the WASM host, not the Python loader")
    module_name, _, attr = entry[len("python:"):].partition(":")
    parts = module_name.split(".")
    base = root.resolve()
    if base.name == parts[-1]:     # the folder is the module: its import root is len(parts) up
        base = base.parents[len(parts) - 1]
    if importlib.util.find_spec(parts[0]) is None and str(base) not in sys.path:
        sys.path.insert(0, str(base))
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    d = resolve(obj)
    for key in ("id", "version"):
        if pkg.manifest[key] != getattr(d, key):
            raise ExtensionError(f"{root}/manifest.json says {key}={pkg.manifest[key]!r} but the "
                                 f"class says {getattr(d, key)!r}")
    d.package_root = root.resolve()
    d.package = pkg
    return d
