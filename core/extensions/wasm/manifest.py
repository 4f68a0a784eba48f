"""manifest.json of a WASM extension, validated with JSON Schema; every fault names its JSON path.

    {"id": "com.example.large_files", "name": "Large files", "version": "1.0.0",
     "abi_version": 1, "entry": "extension.wasm", "min_core_version": "2.0.0",
     "required_features": ["jobs"],
     "permissions": [{"permission": "ReadEntries", "params": {"glob": "**"}}],
     "settings": {"type": "object", "properties": {"min_size": {"type": "integer", "default": 1}}},
     "models": [{"name": "LargeFile", "version": "1.0.0", "scope": "entry",
                 "schema": {"type": "object", "properties": {"size": {"type": "integer"},
                            "head": {"type": "string", "contentEncoding": "base64"}}}}],
     "jobs": [{"name": "scan", "export": "scan", "task": "check", "retries": 2}],
     "actions": [{"name": "tag_large", "export": "tag_large"}],
     "limits": {"fuel": 100000000}}

`models` are the extension's data models (JSON Schema; a `"contentEncoding": "base64"` property
is a blob field); `ai_models` are AI models to register, as in a Python package's manifest.
"""
from __future__ import annotations

from typing import Any

from core.extensions.manifest import (MANIFEST_SCHEMA, ManifestError, _schema_errors,
                                      check_permissions)
from .abi import ABI_VERSION
from .limits import NAMES as LIMIT_NAMES
from .limits import limits_from_manifest

_NAME = r"^[a-z][a-z0-9_]*$"
_EXPORT = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SHARED = ("id", "name", "version", "description", "min_core_version", "required_features",
           "permissions", "ui_manifest")      # the same fields as a Python package's manifest
JSON_TYPES = ["string", "integer", "number", "boolean", "array", "object"]

_PROPERTY = {"type": "object", "properties": {
    "type": {"enum": JSON_TYPES}, "title": {"type": "string"}, "description": {"type": "string"},
    "contentEncoding": {"const": "base64"}, "enum": {"type": "array"}}}

WASM_MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "version", "abi_version"],
    "additionalProperties": False,
    "properties": {
        **{k: MANIFEST_SCHEMA["properties"][k] for k in _SHARED},
        "abi_version": {"type": "integer"},
        "entry": {"type": "string", "pattern": r"^(wasm:)?[\w./-]+\.wasm$"},
        "settings": {"type": "object", "required": ["type", "properties"],
                     "properties": {"type": {"const": "object"},
                                    "properties": {"type": "object",
                                                   "additionalProperties": _PROPERTY}}},
        "models": {"type": "array", "items": {
            "type": "object", "required": ["name", "schema"], "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_]*$"},
                "version": MANIFEST_SCHEMA["properties"]["version"],
                "scope": {"enum": ["standalone", "content", "entry"]},
                "schema": {"type": "object", "required": ["type", "properties"],
                           "properties": {"type": {"const": "object"},
                                          "properties": {"type": "object",
                                                         "additionalProperties": _PROPERTY},
                                          "required": {"type": "array",
                                                       "items": {"type": "string"}}}}}}},
        "jobs": {"type": "array", "items": {
            "type": "object", "required": ["name", "export"], "additionalProperties": False,
            "properties": {"name": {"type": "string", "pattern": _NAME},
                           "export": {"type": "string", "pattern": _EXPORT},
                           "task": {"type": "string", "pattern": _EXPORT},
                           "parallelism": {"type": "integer", "minimum": 1, "maximum": 64},
                           "retries": {"type": "integer", "minimum": 0, "maximum": 20},
                           "backoff_ms": {"type": "integer", "minimum": 0},
                           "description": {"type": "string"}}}},
        "actions": {"type": "array", "items": {
            "type": "object", "required": ["name", "export"], "additionalProperties": False,
            "properties": {"name": {"type": "string", "pattern": _NAME},
                           "export": {"type": "string", "pattern": _EXPORT},
                           "description": {"type": "string"}}}},
        "hooks": {"type": "array", "items": {
            "type": "object", "required": ["event", "export"], "additionalProperties": False,
            "properties": {"event": {"type": "string", "minLength": 1},
                           "entry_kind": {"type": "string", "minLength": 1},
                           "export": {"type": "string", "pattern": _EXPORT}}}},
        "ai_models": MANIFEST_SCHEMA["properties"]["models"],   # AI models to register
        "limits": {"type": "object", "additionalProperties": False,
                   "properties": {n: {"type": "integer", "minimum": 1} for n in LIMIT_NAMES}},
    },
}


def is_wasm_manifest(data: Any) -> bool:
    return isinstance(data, dict) and "abi_version" in data


def validate_wasm_manifest(data: Any, *, file: str = "manifest.json") -> dict[str, Any]:
    """Schema, then what a schema cannot say: the ABI version, permissions, unique names."""
    _schema_errors(data, WASM_MANIFEST_SCHEMA, file)
    if data["abi_version"] != ABI_VERSION:
        raise ManifestError(file, "$.abi_version",
                            f"ABI version {data['abi_version']} is not supported by this host "
                            f"(it speaks ABI {ABI_VERSION})")
    check_permissions(data, file)
    for group, key in (("models", "name"), ("jobs", "name"), ("actions", "name")):
        seen: set[str] = set()
        for i, item in enumerate(data.get(group, [])):
            if item[key] in seen:
                raise ManifestError(file, f"$.{group}[{i}].{key}", f"duplicate name {item[key]!r}")
            seen.add(item[key])
    for i, m in enumerate(data.get("models", [])):
        for name in m["schema"].get("required", []):
            if name not in m["schema"]["properties"]:
                raise ManifestError(file, f"$.models[{i}].schema.required",
                                    f"{name!r} is required but not a property")
        if "id" in m["schema"]["properties"] or "uuid" in m["schema"]["properties"]:
            raise ManifestError(file, f"$.models[{i}].schema.properties",
                                "'id' and 'uuid' are the model's identity, not fields")
    try:
        limits_from_manifest(data.get("limits"))
    except Exception as exc:
        raise ManifestError(file, "$.limits", str(exc)) from None
    return data
