"""Extension packages on disk and their manifests, validated with JSON Schema.

A package is a folder (the same one the WASM host will load later):

    manifest.json      id, name, version, min_core_version, required_features, permissions,
                       models (AI models to register), entry ("python:pkg.module:Class" or
                       "wasm:file.wasm")
    ui_manifest.json   sidebar_sections and views, each backed by a query (DSL, a named
                       source core provides, or `tags LIKE '#person:%'`), and menus of
                       actions, jobs and views
    prompts/           Jinja templates        assets/   icons, css

Every fault is reported with the JSON path of the offending value (`$.views[1].component`),
and every query in ui_manifest.json is compiled when the package is installed.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from jsonschema import Draft202012Validator

from core.errors import VdfsError
from .ui_queries import BUILTIN_QUERIES, dsl_text
from core.access.permissions import Permission

if TYPE_CHECKING:  # pragma: no cover
    from vdfs_query import ir

RENDER_TYPES = ["list", "grid", "table", "map", "timeline", "gallery"]
COMPONENTS = ["list_view", "grid_view", "table_view", "map_view", "timeline_view", "detail_view"]
MENU_CONTEXTS = ["library", "entry", "selection"]   # where the menu shows
_ID = r"^[a-z][a-z0-9_]*$"
_EXT_ID = r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$"
_VERSION = r"^\d+\.\d+\.\d+([.+-][0-9A-Za-z.+-]+)?$"


class ManifestError(VdfsError, ValueError):
    """A manifest that does not validate; `.path` is the JSON path of the fault."""

    def __init__(self, file: str, path: str, message: str):
        self.file, self.path = file, path
        super().__init__(f"{file}: {path}: {message}")


UI_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "queries": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "sidebar_sections": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "label", "query", "render_type"],
            "properties": {
                "id": {"type": "string", "pattern": _ID},
                "label": {"type": "string", "minLength": 1},
                "icon": {"type": "string", "minLength": 1},
                "query": {"type": "string", "minLength": 1},
                "render_type": {"enum": RENDER_TYPES},
            }}},
        "views": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "label", "component", "data_source"],
            "properties": {
                "id": {"type": "string", "pattern": _ID},
                "label": {"type": "string", "minLength": 1},
                "component": {"enum": COMPONENTS},
                "data_source": {"type": "string", "pattern": "^query:.+"},
                "options": {"type": "object"},
            }}},
        "menus": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "label", "items"],
            "properties": {
                "id": {"type": "string", "pattern": _ID},
                "label": {"type": "string", "minLength": 1},
                "context": {"enum": MENU_CONTEXTS},
                "items": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["label"],
                    "oneOf": [{"required": ["action"]}, {"required": ["job"]},
                              {"required": ["view"]}],
                    "properties": {
                        "id": {"type": "string", "pattern": _ID},
                        "label": {"type": "string", "minLength": 1},
                        "icon": {"type": "string", "minLength": 1},
                        "action": {"type": "string", "minLength": 1},
                        "job": {"type": "string", "minLength": 1},
                        "view": {"type": "string", "pattern": _ID},
                    }}},
            }}},
    },
}

MODEL_SOURCE = {
    "oneOf": [
        {"type": "object", "required": ["bundled"], "additionalProperties": False,
         "properties": {"bundled": {"type": "string", "minLength": 1}}},
        {"type": "object", "required": ["path"], "additionalProperties": False,
         "properties": {"path": {"type": "string", "minLength": 1}}},
        {"type": "object", "required": ["url", "sha256"], "additionalProperties": False,
         "properties": {"url": {"type": "string", "pattern": "^https?://"},
                        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}},
        {"type": "object", "required": ["ollama"], "additionalProperties": False,
         "properties": {"ollama": {"type": "string"}, "base_url": {"type": "string"}}},
        {"type": "object", "required": ["openai"], "additionalProperties": False,
         "properties": {"openai": {"type": "string"}, "base_url": {"type": "string"}}},
    ]
}

MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "version", "entry"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": _EXT_ID},
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string", "pattern": _VERSION},
        "description": {"type": "string"},
        "min_core_version": {"type": "string", "pattern": _VERSION},
        "required_features": {"type": "array", "items": {"type": "string"}},
        "permissions": {"type": "array", "items": {
            "type": "object", "required": ["permission"], "additionalProperties": False,
            "properties": {"permission": {"type": "string"}, "params": {"type": "object"}}}},
        "models": {"type": "array", "items": {
            "type": "object", "required": ["name", "category", "source"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+$"},
                           "category": {"type": "string", "pattern": r"^[a-z0-9_]+$"},
                           "source": MODEL_SOURCE}}},
        "entry": {"type": "string", "pattern": r"^(python:[\w.]+:[\w.]+|wasm:[\w./-]+\.wasm)$"},
        "ui_manifest": {"type": "string"},
    },
}


def _schema_errors(data: Any, schema: dict[str, Any], file: str) -> None:
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    err = errors[0]
    while err.context:   # oneOf/anyOf: report the branch that got furthest
        err = max(err.context, key=lambda e: (len(e.absolute_path), e.validator != "required"))
    path = err.json_path
    if err.validator == "required":
        missing = re.match(r"'([^']+)'", err.message)
        if missing:
            path = f"{path}.{missing.group(1)}"
    elif err.validator == "additionalProperties":
        extra = re.search(r"'([^']+)' (?:was|were) unexpected", err.message)
        if extra:
            path = f"{path}.{extra.group(1)}"
    message = err.message
    if err.validator == "enum":
        message = f"{err.instance!r} is not one of {err.validator_value}"
    raise ManifestError(file, path, message)


def default_query_compiler(text: str) -> ir.Query:
    """Compile ui_manifest DSL text with vdfs_query; raises its syntax error on a bad query."""
    import vdfs_query
    return vdfs_query.compile(vdfs_query.parse(text))


@dataclass
class UiManifest:
    sidebar_sections: list[dict[str, Any]]
    views: list[dict[str, Any]]
    queries: dict[str, str]
    compiled: dict[str, Any] = field(default_factory=dict)   # JSON path of a query → Compiled
    menus: list[dict[str, Any]] = field(default_factory=list)

    def query_text(self, item: dict[str, Any]) -> str:
        """The DSL text behind a sidebar section or a view: its own query, a query it names
        from `queries`, or one core provides (core.extensions.ui_queries)."""
        if "query" in item:
            return dsl_text(item["query"])
        ref = item["data_source"].removeprefix("query:")
        return dsl_text(self.queries.get(ref) or BUILTIN_QUERIES.get(ref, ref))

    def section(self, section_id: str) -> dict[str, Any]:
        for s in self.sidebar_sections + self.views:
            if s["id"] == section_id:
                return s
        raise KeyError(f"no sidebar section or view {section_id!r}")


def validate_ui_manifest(data: Any, *, root: Path | None = None,
                         compile_query: Callable[[str], Any] | None = default_query_compiler,
                         file: str = "ui_manifest.json") -> UiManifest:
    """Validate a ui_manifest (schema, unique ids, icons that exist, queries that compile)."""
    _schema_errors(data, UI_SCHEMA, file)
    ui = UiManifest(list(data.get("sidebar_sections", [])), list(data.get("views", [])),
                    dict(data.get("queries", {})), menus=list(data.get("menus", [])))
    _check_menus(ui, file)
    for group in ("sidebar_sections", "views", "menus"):
        seen: set[str] = set()
        for i, item in enumerate(data.get(group, [])):
            if item["id"] in seen:
                raise ManifestError(file, f"$.{group}[{i}].id", f"duplicate id {item['id']!r}")
            seen.add(item["id"])
            if root is not None and "icon" in item and not (root / item["icon"]).is_file():
                raise ManifestError(file, f"$.{group}[{i}].icon",
                                    f"icon file {item['icon']!r} is not in the package")
    if compile_query is None:
        return ui
    jobs = [(f"$.queries.{k}", dsl_text(v)) for k, v in ui.queries.items()]
    jobs += [(f"$.sidebar_sections[{i}].query", ui.query_text(s))
             for i, s in enumerate(ui.sidebar_sections)]
    for i, v in enumerate(ui.views):
        ref = v["data_source"].removeprefix("query:")
        if ref not in ui.queries:
            jobs.append((f"$.views[{i}].data_source", ui.query_text(v)))
    for path, text in jobs:
        try:
            ui.compiled[path] = compile_query(text)
        except Exception as exc:  # the DSL's own error says line, column and what was expected
            raise ManifestError(file, path, f"query does not compile: {exc}") from exc
    return ui


def _check_menus(ui: UiManifest, file: str) -> None:
    """A menu item that opens a view names one of this manifest's views."""
    views = {v["id"] for v in ui.views}
    for i, menu in enumerate(ui.menus):
        for j, item in enumerate(menu["items"]):
            if "view" in item and item["view"] not in views:
                raise ManifestError(file, f"$.menus[{i}].items[{j}].view",
                                    f"no view {item['view']!r} in this ui_manifest "
                                    f"(views: {', '.join(sorted(views)) or 'none'})")


@dataclass
class ExtensionPackage:
    """A package folder, validated: its manifest, ui_manifest and prompt/asset folders."""

    root: Path
    manifest: dict[str, Any]
    ui: UiManifest | None

    @property
    def id(self) -> str:
        return self.manifest["id"]

    @property
    def prompts_dir(self) -> Path:
        return self.root / "prompts"

    @property
    def assets_dir(self) -> Path:
        return self.root / "assets"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(path.name, "$", f"{path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(path.name, "$", f"not valid JSON (line {exc.lineno}, column {exc.colno}): "
                                             f"{exc.msg}") from None


def check_permissions(data: dict[str, Any], file: str) -> None:
    """Each requested permission parses (a schema cannot say which permissions exist); shared by
    Python and WASM manifests so both name a bad one by its JSON path."""
    for i, p in enumerate(data.get("permissions", [])):
        try:
            Permission.from_json(p)
        except (ValueError, TypeError) as exc:
            raise ManifestError(file, f"$.permissions[{i}]", str(exc)) from None


def validate_manifest(data: Any, *, root: Path | None = None,
                      file: str = "manifest.json") -> dict[str, Any]:
    _schema_errors(data, MANIFEST_SCHEMA, file)
    check_permissions(data, file)
    for i, m in enumerate(data.get("models", [])):
        bundled = m["source"].get("bundled")
        if root is not None and bundled and not (root / bundled).is_file():
            raise ManifestError(file, f"$.models[{i}].source.bundled",
                                f"bundled model file {bundled!r} is not in the package")
    if root is not None and data["entry"].startswith("wasm:"):
        if not (root / data["entry"][5:]).is_file():
            raise ManifestError(file, "$.entry", f"{data['entry'][5:]!r} is not in the package")
    return data


def load_package(root: str | Path, *,
                 compile_query: Callable[[str], Any] | None = default_query_compiler
                 ) -> ExtensionPackage:
    """Read and validate a package folder; nothing is installed yet."""
    root = Path(root)
    if not root.is_dir():
        raise ManifestError("manifest.json", "$", f"{root} is not a package folder")
    manifest = validate_manifest(_read_json(root / "manifest.json"), root=root)
    ui_name = manifest.get("ui_manifest", "ui_manifest.json")
    ui = None
    if (root / ui_name).exists():
        ui = validate_ui_manifest(_read_json(root / ui_name), root=root,
                                  compile_query=compile_query, file=ui_name)
    return ExtensionPackage(root, manifest, ui)
